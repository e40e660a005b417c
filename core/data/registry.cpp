#include "core/data/registry.h"

#include "core/common/error.h"
#include "core/data/cifar_reader.h"
#include "core/data/idx_reader.h"
#include "core/data/image_folder.h"
#include "core/data/splits.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <system_error>

namespace exitscope::core {

namespace {

namespace fs = std::filesystem;

constexpr const char* kFashionMnist = "fashion-mnist";
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
constexpr const char* kIdxStems[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
constexpr const char* kCifarFiles[6] = {"data_batch_1.bin", "data_batch_2.bin",
                                        "data_batch_3.bin", "data_batch_4.bin",
                                        "data_batch_5.bin", "test_batch.bin"};
// Keeps the image-folder test carve-out independent of the validation one,
// which uses the same seed.
constexpr uint64_t kTestSplitSalt = 0x9e3779b97f4a7c15ULL;

bool isFile(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

bool isDir(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
}

std::string findIdxFile(const fs::path& dir, const std::string& stem) {
    for (const std::string& name : {stem, stem + ".gz"}) {
        if (isFile(dir / name)) return (dir / name).string();
    }
    return {};
}

std::string joinNames(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

// A half-present set is a user mistake worth naming, not a cue to try other formats.
std::optional<std::vector<std::string>> findIdxSet(const fs::path& dir) {
    std::vector<std::string> found, missing;
    for (const char* stem : kIdxStems) {
        found.push_back(findIdxFile(dir, stem));
        if (found.back().empty()) missing.push_back(std::string(stem) + "[.gz]");
    }
    if (missing.size() == found.size()) return std::nullopt;
    if (!missing.empty()) {
        throw Error(dir.string() + ": incomplete IDX data set, missing " + joinNames(missing));
    }
    return found;
}

Dataset loadIdx(const std::vector<std::string>& files, std::vector<std::string> classNames,
                const std::string& name) {
    Dataset d;
    d.name = name;
    d.trainImages = readIdx(files[0], files[1], classNames, name + "/train");
    d.testImages = readIdx(files[2], files[3], std::move(classNames), name + "/test");
    return d;
}

Dataset loadFashionMnist() {
    const char* env = std::getenv("EXITSCOPE_FASHION_MNIST_DIR");
    const fs::path dir = env && *env ? env : kFashionMnistDir;
    std::vector<std::string> files;
    for (const char* stem : kIdxStems) {
        files.push_back(findIdxFile(dir, stem));
        if (files.back().empty()) {
            throw Error((dir / stem).string() +
                        ".gz: Fashion-MNIST file not found (install Debian's "
                        "dataset-fashion-mnist package, or set EXITSCOPE_FASHION_MNIST_DIR "
                        "to a directory holding it)");
        }
    }
    return loadIdx(files, fashionMnistClassNames(), kFashionMnist);
}

std::optional<Dataset> tryCifar(const fs::path& root, const std::string& name) {
    for (const fs::path& dir : {root, root / "cifar-10-batches-bin"}) {
        std::vector<std::string> files, missing;
        for (const char* f : kCifarFiles) {
            files.push_back((dir / f).string());
            if (!isFile(dir / f)) missing.push_back(f);
        }
        if (missing.size() == files.size()) continue;
        if (!missing.empty()) {
            throw Error(dir.string() + ": incomplete CIFAR-10 data set, missing " +
                        joinNames(missing));
        }
        const std::vector<std::string> classNames = readCifar10ClassNames(dir.string());
        Dataset d;
        d.name = name;
        d.testImages = readCifar10({files.back()}, classNames, name + "/test");
        files.pop_back();
        d.trainImages = readCifar10(files, classNames, name + "/train");
        return d;
    }
    return std::nullopt;
}

// Names where two class lists first differ: with 1,000 classes, listing
// both in full would bury the one folder that is missing.
std::string describeDifference(const std::vector<std::string>& train, const std::vector<std::string>& test) {
    std::size_t i = 0;
    while (i < train.size() && i < test.size() && train[i] == test[i]) ++i;
    auto at = [i](const std::vector<std::string>& names) {
        return i < names.size() ? "'" + names[i] + "'" : std::string("nothing");
    };
    return std::to_string(train.size()) + " and " + std::to_string(test.size()) +
           "; in name order, the first difference is class " + std::to_string(i) + ": " + at(train) +
           " in train/, " + at(test) + " in test/";
}

ImageSet subset(const ImageSet& all, const std::vector<int64_t>& indices,
                const std::string& name) {
    ImageSet out;
    out.name = name;
    out.channels = all.channels;
    out.height = all.height;
    out.width = all.width;
    out.classNames = all.classNames;
    out.pixels.reserve(indices.size() * all.imageBytes());
    for (int64_t i : indices) {
        const auto k = static_cast<std::size_t>(i);
        out.pixels.insert(out.pixels.end(), all.image(k), all.image(k) + all.imageBytes());
        out.labels.push_back(all.labels[k]);
    }
    return out;
}

std::optional<Dataset> tryImageFolder(const fs::path& dir, const DatasetOptions& opts,
                                      const std::string& name) {
    const int64_t c = opts.channels > 0 ? opts.channels : 1;
    const int64_t h = opts.height > 0 ? opts.height : 28;
    const int64_t w = opts.width > 0 ? opts.width : 28;
    Dataset d;
    d.name = name;
    if (isDir(dir / "train") && isDir(dir / "test")) {
        d.trainImages = readImageFolder((dir / "train").string(), c, h, w, name + "/train");
        d.testImages = readImageFolder((dir / "test").string(), c, h, w, name + "/test");
        if (d.trainImages.classNames != d.testImages.classNames) {
            throw Error(dir.string() + ": train/ and test/ have different class folders (" +
                        describeDifference(d.trainImages.classNames, d.testImages.classNames) + ")");
        }
        return d;
    }
    if (isDir(dir / "train") != isDir(dir / "test")) {
        const char* which = isDir(dir / "train") ? "train/ but no test/" : "test/ but no train/";
        throw Error(dir.string() + ": has " + which + " (an image folder needs both, or neither)");
    }
    std::error_code ec;
    const bool hasSubfolder =
        std::any_of(fs::directory_iterator(dir, ec), fs::directory_iterator(),
                    [](const fs::directory_entry& e) {
                        std::error_code typeEc;
                        return e.is_directory(typeEc) &&
                               e.path().filename().string().rfind('.', 0) != 0;
                    });
    if (!hasSubfolder) return std::nullopt;

    const ImageSet all = readImageFolder(dir.string(), c, h, w, name);
    const auto n = static_cast<int64_t>(all.size());
    const int64_t numTest = std::max<int64_t>(1, (n + 2) / 5);
    if (n - numTest < 1) {
        throw Error(dir.string() + ": " + std::to_string(n) +
                    " images are too few to split 80/20 into train and test");
    }
    const std::vector<int64_t> perm = seededPermutation(n, opts.seed ^ kTestSplitSalt);
    std::vector<int64_t> test(perm.begin(), perm.begin() + numTest);
    std::vector<int64_t> train(perm.begin() + numTest, perm.end());
    std::sort(test.begin(), test.end());
    std::sort(train.begin(), train.end());
    d.trainImages = subset(all, train, name + "/train");
    d.testImages = subset(all, test, name + "/test");
    return d;
}

Dataset loadImages(const std::string& nameOrPath, const DatasetOptions& opts) {
    if (nameOrPath == kFashionMnist) return loadFashionMnist();
    const fs::path dir(nameOrPath);
    if (!isDir(dir)) {
        std::error_code ec;
        if (fs::exists(dir, ec)) {
            throw Error(nameOrPath + ": is a file; expected a data set directory or the name " +
                        kFashionMnist);
        }
        throw Error(nameOrPath + ": unknown data set: not a built-in name (" + kFashionMnist +
                    ") and no such directory");
    }
    if (auto files = findIdxSet(dir)) {
        std::vector<std::string> digits;
        for (int i = 0; i < 10; ++i) digits.push_back(std::to_string(i));
        return loadIdx(*files, digits, nameOrPath);
    }
    if (auto d = tryCifar(dir, nameOrPath)) return std::move(*d);
    if (auto d = tryImageFolder(dir, opts, nameOrPath)) return std::move(*d);
    throw Error(nameOrPath +
                ": not a recognised data set directory; looked for IDX files "
                "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
                "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]), CIFAR-10 binary "
                "batches (data_batch_1.bin .. data_batch_5.bin, test_batch.bin, also under "
                "cifar-10-batches-bin/), and an image folder (train/ and test/ class folders, "
                "or one subfolder of images per class)");
}

} // namespace

std::vector<std::string> fashionMnistClassNames() {
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
}

int64_t autoValidationSize(int64_t numTrain) {
    // Fashion-MNIST and CIFAR-10 keep the 5,000 every bundled trace was made
    // with; a small folder keeps most of its images for training.
    return numTrain >= 50'000 ? 5'000 : numTrain / 10;
}

Dataset loadDataset(const std::string& nameOrPath, const DatasetOptions& opts) {
    try {
        Dataset d = loadImages(nameOrPath, opts);
        const int64_t numVal = opts.numVal == DatasetOptions::kAutoValidation
                                   ? autoValidationSize(static_cast<int64_t>(d.trainImages.size()))
                                   : opts.numVal;
        carveValidation(d, numVal, opts.seed);
        return d;
    } catch (const Error& e) {
        const std::string message = e.what();
        if (message.rfind(nameOrPath + ":", 0) == 0) throw;
        throw Error(nameOrPath + ": " + message);
    }
}

std::string datasetReference(const std::string& nameOrPath) {
    if (nameOrPath == kFashionMnist) return nameOrPath;
    std::error_code ec;
    const fs::path absolute = fs::absolute(fs::path(nameOrPath), ec);
    if (ec || !isDir(absolute)) return nameOrPath;
    return absolute.lexically_normal().string();
}

} // namespace exitscope::core
