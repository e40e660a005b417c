// Writes an image-folder data set of any size, for load tests
// (scripts/load-test): OUT/train/<class>/<i>.png and OUT/test/<class>/<i>.png,
// the layout core::loadDataset reads as train/ and test/ class-folder trees.
// Class folder names exercise the reader's ordering rule (byte order, so
// "class_10" sorts before "class_2"): the first ones are awkward but legal
// names (spaces, upper case, punctuation, UTF-8), the rest "class_<n>".
// Each class has a prototype image; each of its images is the prototype plus
// noise, so a network can learn something. Deterministic for a seed, and the
// same on every platform (raw mt19937_64 bits, no std distributions).
//
// usage: make_image_folder OUT_DIR CLASSES TRAIN_PER_CLASS TEST_PER_CLASS [SIDE=28] [CHANNELS=1] [SEED=1]
//        OUT_DIR must not hold train/ or test/ yet.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Sorted by bytes: "-dash" < "UPPER" < "Zebra" < "a b" < "a_b" < "apple" <
// "class_*" < "with  two spaces" < "~tilde" < "ünïcode" < "日本語".
const std::vector<std::string> kAwkwardNames = {
    "a b", "UPPER", "日本語", "~tilde", "with  two spaces", "a_b", "-dash", "ünïcode", "Zebra", "apple"};

std::string className(int64_t c) {
    if (c < static_cast<int64_t>(kAwkwardNames.size())) return kAwkwardNames[static_cast<std::size_t>(c)];
    return "class_" + std::to_string(c - static_cast<int64_t>(kAwkwardNames.size()));
}

int64_t parse(const char* text, const char* what, int64_t lo, int64_t hi) {
    char* end = nullptr;
    const long long v = std::strtoll(text, &end, 10);
    if (!end || *end || v < lo || v > hi) {
        std::fprintf(stderr, "make_image_folder: %s must be an integer in %lld..%lld, got '%s'\n", what,
                     static_cast<long long>(lo), static_cast<long long>(hi), text);
        std::exit(2);
    }
    return v;
}

// Writes `count` images of one class into dir: the class's prototype
// (seeded by the class) plus per-image noise of +-32 (seeded by the image).
void writeClass(const fs::path& dir, int64_t cls, int64_t count, int64_t firstImage, int side, int channels,
                uint64_t seed) {
    fs::create_directories(dir);
    std::mt19937_64 protoRng(seed * 1'000'003ULL + static_cast<uint64_t>(cls));
    std::vector<uint8_t> proto(static_cast<std::size_t>(side * side * channels));
    for (auto& v : proto) v = static_cast<uint8_t>(protoRng() >> 56);
    for (int64_t i = 0; i < count; ++i) {
        std::mt19937_64 rng(seed ^ (static_cast<uint64_t>(cls) << 32) ^ static_cast<uint64_t>(firstImage + i));
        cv::Mat img(side, side, channels == 1 ? CV_8UC1 : CV_8UC3);
        uint8_t* p = img.ptr<uint8_t>();
        for (std::size_t k = 0; k < proto.size(); ++k) {
            const int noise = static_cast<int>(rng() >> 58) - 32;  // -32..31
            p[k] = static_cast<uint8_t>(std::min(255, std::max(0, proto[k] + noise)));
        }
        const std::string path = (dir / (std::to_string(i) + ".png")).string();
        if (!cv::imwrite(path, img)) throw std::runtime_error(path + ": cannot write image");
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 5 || argc > 8) {
        std::fprintf(stderr,
                     "usage: make_image_folder OUT_DIR CLASSES TRAIN_PER_CLASS TEST_PER_CLASS [SIDE=28] [CHANNELS=1] "
                     "[SEED=1]\n");
        return 2;
    }
    const fs::path out = argv[1];
    const int64_t classes = parse(argv[2], "CLASSES", 1, 1'000'000);
    const int64_t perTrain = parse(argv[3], "TRAIN_PER_CLASS", 1, 1'000'000);
    const int64_t perTest = parse(argv[4], "TEST_PER_CLASS", 1, 1'000'000);
    const int side = static_cast<int>(argc > 5 ? parse(argv[5], "SIDE", 1, 4096) : 28);
    const int channels = static_cast<int>(argc > 6 ? parse(argv[6], "CHANNELS", 1, 3) : 1);
    const uint64_t seed = static_cast<uint64_t>(argc > 7 ? parse(argv[7], "SEED", 0, INT64_MAX) : 1);
    if (channels == 2) {
        std::fprintf(stderr, "make_image_folder: CHANNELS must be 1 (gray) or 3 (colour)\n");
        return 2;
    }
    std::error_code ec;
    if (fs::exists(out / "train", ec) || fs::exists(out / "test", ec)) {
        std::fprintf(stderr, "make_image_folder: %s already holds train/ or test/; give a new folder\n",
                     out.string().c_str());
        return 1;
    }
    try {
        for (int64_t c = 0; c < classes; ++c) {
            const std::string name = className(c);
            // Train and test images of a class differ (image numbers continue).
            writeClass(out / "train" / name, c, perTrain, 0, side, channels, seed);
            writeClass(out / "test" / name, c, perTest, perTrain, side, channels, seed);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_image_folder: %s\n", e.what());
        return 1;
    }
    std::printf("wrote %s: %lld classes, %lld train and %lld test images of %dx%dx%d\n", out.string().c_str(),
                static_cast<long long>(classes), static_cast<long long>(classes * perTrain),
                static_cast<long long>(classes * perTest), channels, side, side);
    return 0;
}
