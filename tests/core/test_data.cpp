// Tests of core/data: gzip, the IDX / CIFAR / image-folder readers, splits and
// the registry. Fixtures are written by the tests into fresh temporary folders.
#include "core/common/error.h"
#include "core/data/cifar_reader.h"
#include "core/data/gzip.h"
#include "core/data/idx_reader.h"
#include "core/data/image_folder.h"
#include "core/data/registry.h"
#include "core/data/splits.h"
#include "tests/core/png_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>

namespace fs = std::filesystem;
using namespace exitscope::core;
using Bytes = std::vector<uint8_t>;
using Indices = std::vector<int64_t>;

namespace {

/// A fresh, empty folder, removed again at the end of the test.
struct TempDir {
    fs::path path = fs::temp_directory_path() /
                    ("exitscope_data_" + std::to_string(::getpid()) + "_" + std::to_string(next()));
    TempDir() {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { std::error_code ec; fs::remove_all(path, ec); }
    static int next() { static int n = 0; return n++; }
    std::string dir() const { return path.string(); }
    std::string file(const std::string& name) const {  // creates the parent folders
        fs::create_directories((path / name).parent_path());
        return (path / name).string();
    }
};

/// Sets an environment variable for one scope.
struct EnvGuard {
    std::string name;
    std::optional<std::string> old;
    EnvGuard(const std::string& n, const std::string& value) : name(n) {
        if (const char* v = std::getenv(n.c_str())) old = v;
        ::setenv(n.c_str(), value.c_str(), 1);
    }
    ~EnvGuard() { old ? ::setenv(name.c_str(), old->c_str(), 1) : ::unsetenv(name.c_str()); }
};

using exitscope::test::putBigEndian32;  // IDX stores its numbers big-endian too
Bytes idx(uint32_t magic, std::initializer_list<uint32_t> dims, const Bytes& data = {}) {
    Bytes b;
    putBigEndian32(b, magic);
    for (uint32_t d : dims) putBigEndian32(b, d);
    b.insert(b.end(), data.begin(), data.end());
    return b;
}
void writeRaw(const std::string& path, const Bytes& b) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
void writeGz(const std::string& path, const Bytes& b) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, b.data(), unsigned(b.size())), int(b.size()));
    gzclose(f);
}
Bytes readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}
Bytes noise(std::size_t n) {  // incompressible, so a cut lands inside the deflate data
    Bytes b(n);
    uint32_t x = 12345;
    for (auto& v : b) v = static_cast<uint8_t>((x = x * 1103515245u + 12345u) >> 24);
    return b;
}
Indices shape(const ImageSet& s) { return {int64_t(s.size()), s.channels, s.height, s.width}; }

// Three 2x3 images, pixel k of image i is 10*i + k; labels 2, 0, 1.
const Bytes kPixels = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 24, 25};
const std::vector<std::string> kAbc = {"a", "b", "c"};
Bytes idxImages(uint32_t n = 3) {
    return idx(0x803, {n, 2, 3}, Bytes(kPixels.begin(), kPixels.begin() + 6 * n));
}
Bytes idxLabels(const Bytes& l = {2, 0, 1}) { return idx(0x801, {uint32_t(l.size())}, l); }

using RgbAt = std::function<std::array<uint8_t, 3>(int x, int y)>;
void writePnm(const std::string& path, int side, int channels, const RgbAt& rgbAt) {
    std::ofstream out(path, std::ios::binary);
    out << (channels == 1 ? "P5\n" : "P6\n") << side << ' ' << side << "\n255\n";
    for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x)
            out.write(reinterpret_cast<const char*>(rgbAt(x, y).data()), channels);
}
void writeSolid(const std::string& path, int side, std::array<uint8_t, 3> rgb) {
    writePnm(path, side, 3, [&](int, int) { return rgb; });
}
void writeGray(const std::string& path, uint8_t v) {
    writePnm(path, 4, 1, [&](int, int) { return std::array<uint8_t, 3>{v, v, v}; });
}
// A minimal RGBA PNG (colour type 6) built with zlib, independent of OpenCV.
void writePngRgba(const std::string& path, uint32_t side, std::array<uint8_t, 4> rgba) {
    Bytes raw;
    for (uint32_t y = 0; y < side; ++y) {
        raw.push_back(0);  // filter type: none
        for (uint32_t x = 0; x < side; ++x) raw.insert(raw.end(), rgba.begin(), rgba.end());
    }
    writeRaw(path, exitscope::test::pngFile(side, side, 8, 6, raw));
}
// CIFAR records: label, then 3x1024 pixels valued 50 * channel + record number.
Bytes cifarRecords(std::initializer_list<uint8_t> labels) {
    Bytes b;
    uint8_t r = 0;
    for (uint8_t l : labels) {
        b.push_back(l);
        for (int i = 0; i < 3072; ++i) b.push_back(static_cast<uint8_t>(i / 1024 * 50 + r));
        ++r;
    }
    return b;
}
const std::vector<std::string> kTen = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

// Every Error must name the file or value and the problem: all parts must appear.
template <class F>
void expectError(F&& f, std::initializer_list<std::string> parts) {
    try {
        f();
    } catch (const Error& e) {
        const std::string m = e.what();
        for (const auto& p : parts)
            EXPECT_NE(m.find(p), std::string::npos) << "message: " << m << "\nlacks: " << p;
        return;
    }
    ADD_FAILURE() << "no exitscope::core::Error thrown";
}
#define EXPECT_ERROR(stmt, ...)                     \
    do {                                            \
        SCOPED_TRACE(#stmt);                        \
        expectError([&] { stmt; }, {__VA_ARGS__}); \
    } while (0)

} // namespace

TEST(DataSplitKind, ParsesAndPrints) {
    for (auto k : {SplitKind::Train, SplitKind::Val, SplitKind::Test})
        EXPECT_EQ(parseSplitKind(toString(k)), k);
    EXPECT_EQ(toString(SplitKind::Val), "val");
    EXPECT_ERROR(parseSplitKind("validation"), "'validation'", "train, val or test");
}

TEST(DataGzip, RawGzipAndConcatenatedMembers) {
    TempDir t;
    const Bytes data = noise(100000);
    writeRaw(t.file("raw.bin"), data);
    writeGz(t.file("a.gz"), data);
    EXPECT_EQ(readMaybeGzipped(t.file("raw.bin"), data.size()), data);
    EXPECT_EQ(readMaybeGzipped(t.file("a.gz"), data.size()), data);
    const Bytes one = readAll(t.file("a.gz"));
    Bytes gz = one, twice = data;
    gz.insert(gz.end(), one.begin(), one.end());  // what `cat a.gz a.gz` makes
    twice.insert(twice.end(), data.begin(), data.end());
    writeRaw(t.file("b.gz"), gz);
    EXPECT_EQ(readMaybeGzipped(t.file("b.gz"), twice.size()), twice);
}

TEST(DataGzip, BadFiles) {
    TempDir t;
    EXPECT_ERROR(readMaybeGzipped(t.file("none.gz"), 100), t.file("none.gz"), "cannot open file");
    EXPECT_ERROR(readMaybeGzipped(t.dir(), 100), t.dir(), "is a directory");
    writeGz(t.file("n.gz"), noise(100000));
    Bytes gz = readAll(t.file("n.gz"));
    writeRaw(t.file("cut.gz"), Bytes(gz.begin(), gz.begin() + long(gz.size() / 2)));
    EXPECT_ERROR(readMaybeGzipped(t.file("cut.gz"), 1 << 20), t.file("cut.gz"),
                 "truncated gzip stream");
    for (std::size_t i = 40; i < 60; ++i) gz[i] ^= 0xff;  // inside the deflate stream
    writeRaw(t.file("bad.gz"), gz);
    EXPECT_ERROR(readMaybeGzipped(t.file("bad.gz"), 1 << 20), t.file("bad.gz"),
                 "corrupt gzip data");
    writeRaw(t.file("raw.bin"), Bytes(1000, 7));
    EXPECT_ERROR(readRawFile(t.file("raw.bin"), 999), t.file("raw.bin"),
                 "1000 bytes, over the limit of 999");
}

TEST(DataGzip, BombStopsAtTheCap) {
    TempDir t;
    writeGz(t.file("bomb.gz"), Bytes(10 << 20, 0));  // 10 MiB of zeros, ~10 KB compressed
    EXPECT_LT(fs::file_size(t.file("bomb.gz")), 100000u);
    EXPECT_EQ(readMaybeGzipped(t.file("bomb.gz"), 10 << 20).size(), std::size_t(10 << 20));
    EXPECT_ERROR(readMaybeGzipped(t.file("bomb.gz"), (10 << 20) - 1), t.file("bomb.gz"),
                 "exceeds the limit of 10485759");
}

TEST(IdxReader, RawAndGzipRoundTrip) {
    TempDir t;
    for (auto write : {writeRaw, writeGz}) {
        write(t.file("i"), idxImages());
        write(t.file("l"), idxLabels());
        const ImageSet s = readIdx(t.file("i"), t.file("l"), kAbc, "tiny");
        EXPECT_EQ(s.name, "tiny");
        EXPECT_EQ(shape(s), (Indices{3, 1, 2, 3}));
        EXPECT_EQ(s.pixels, kPixels);
        EXPECT_EQ(s.labels, (Indices{2, 0, 1}));
        EXPECT_EQ(s.classNames, kAbc);
        EXPECT_EQ(s.image(2)[4], 24);
    }
}

TEST(IdxReader, BadHeaders) {
    TempDir t;
    const std::string im = t.file("im"), lb = t.file("lb");
    writeRaw(lb, idxLabels());
    EXPECT_ERROR(readIdx(t.file("no"), lb, kAbc, "x"), t.file("no"), "cannot open file");
    writeRaw(im, idx(0x12345678, {3, 2, 3}, kPixels));
    EXPECT_ERROR(readIdx(im, lb, kAbc, "x"), im, "not an IDX file", "0x12345678", "0x00000803");
    writeRaw(im, idx(0x801, {18}, kPixels));  // a label file given as images
    EXPECT_ERROR(readIdx(im, lb, kAbc, "x"), im, "1 dimensions, expected 3");
    writeRaw(im, idx(0xD03, {3, 2, 3}, kPixels));
    EXPECT_ERROR(readIdx(im, lb, kAbc, "x"), im, "float32", "not supported");
    writeRaw(im, idx(0x803, {3, 0, 3}));
    EXPECT_ERROR(readIdx(im, lb, kAbc, "x"), im, "dimension 1 is zero");
    writeRaw(im, idx(0x803, {0xffffffff, 0xffffffff, 0xffffffff}, Bytes(10)));
    EXPECT_ERROR(readIdx(im, lb, kAbc, "x"), im, "4294967295 x 4294967295 x 4294967295",
                 "overflow 64 bits");
    writeRaw(im, Bytes{0, 0, 8, 3, 0, 0});
    EXPECT_ERROR(readIdx(im, lb, kAbc, "x"), im, "truncated IDX header");
}

TEST(IdxReader, HeaderClaimingMoreThanTheFileFailsFast) {
    TempDir t;
    writeRaw(t.file("lb"), idxLabels());
    // 2^32 - 1 images of 1024 x 1024 (about 2^52 bytes) declared by a 100-byte file.
    const Bytes huge = idx(0x803, {0xffffffff, 1024, 1024}, Bytes(84, 1));
    writeRaw(t.file("im"), huge);
    writeGz(t.file("im.gz"), huge);
    for (const char* f : {"im", "im.gz"}) {
        EXPECT_ERROR(readIdx(t.file(f), t.file("lb"), kAbc, "x"), t.file(f), "declares",
                     "4503599626321920 bytes", "holds 84");
    }
    writeRaw(t.file("short"), idx(0x803, {3, 2, 3}, Bytes(17)));
    EXPECT_ERROR(readIdx(t.file("short"), t.file("lb"), kAbc, "x"), "18 bytes", "holds 17");
}

TEST(IdxReader, TruncatedAndCorruptGzip) {
    TempDir t;
    writeRaw(t.file("lb"), idxLabels());
    writeGz(t.file("full.gz"), idx(0x803, {100, 28, 28}, noise(78400)));
    Bytes gz = readAll(t.file("full.gz"));
    writeRaw(t.file("im.gz"), Bytes(gz.begin(), gz.end() - 1000));
    EXPECT_ERROR(readIdx(t.file("im.gz"), t.file("lb"), kAbc, "x"), t.file("im.gz"),
                 "truncated gzip stream");
    for (std::size_t i = 30; i < 50; ++i) gz[i] ^= 0x5a;
    writeRaw(t.file("im.gz"), gz);
    EXPECT_ERROR(readIdx(t.file("im.gz"), t.file("lb"), kAbc, "x"), t.file("im.gz"),
                 "corrupt gzip data");
}

TEST(IdxReader, CountMismatchAndLabelRange) {
    TempDir t;
    const std::string im = t.file("im"), lb = t.file("lb");
    writeRaw(im, idxImages(3));
    writeRaw(lb, idxLabels({0, 1}));
    EXPECT_ERROR(readIdx(im, lb, kAbc, "x"), im, lb, "3 images", "2 labels");
    writeRaw(lb, idxLabels({0, 3, 1}));
    EXPECT_ERROR(readIdx(im, lb, kAbc, "x"), lb, "label 3 of image 1", "out of range for 3");
}

TEST(CifarReader, RoundTripAcrossBatches) {
    TempDir t;
    writeRaw(t.file("b1.bin"), cifarRecords({3, 9}));
    writeRaw(t.file("b2.bin"), cifarRecords({0}));
    const ImageSet s = readCifar10({t.file("b1.bin"), t.file("b2.bin")}, kTen, "c");
    EXPECT_EQ(shape(s), (Indices{3, 3, 32, 32}));
    EXPECT_EQ(s.labels, (Indices{3, 9, 0}));
    EXPECT_EQ(s.image(1)[0], 1);               // R plane of record 1 of batch 1
    EXPECT_EQ(s.image(1)[1024 + 5], 51);       // its G plane
    EXPECT_EQ(s.image(2)[2048 + 1023], 100);  // B plane of record 0 of batch 2
}

TEST(CifarReader, BadFiles) {
    TempDir t;
    for (std::size_t size : {0, 3072, 3073 * 2 + 1}) {
        writeRaw(t.file("bad.bin"), Bytes(size, 0));
        EXPECT_ERROR(readCifar10({t.file("bad.bin")}, kTen, "c"), t.file("bad.bin"),
                     "size " + std::to_string(size) + " bytes", "multiple of 3073");
    }
    writeRaw(t.file("label.bin"), cifarRecords({1, 10}));
    EXPECT_ERROR(readCifar10({t.file("label.bin")}, kTen, "c"), t.file("label.bin"),
                 "record 1 has label 10");
    EXPECT_ERROR(readCifar10({t.file("no.bin")}, kTen, "c"), t.file("no.bin"), "No such file");
}

TEST(CifarReader, ClassNames) {
    TempDir t;
    EXPECT_EQ(readCifar10ClassNames(t.dir()).at(0), "airplane");
    EXPECT_EQ(readCifar10ClassNames(t.dir()).at(9), "truck");
    std::ofstream(t.file("batches.meta.txt")) << "A\nB\nC\nD\nE\nF\nG\nH\nI\nJ j\r\n\n";
    EXPECT_EQ(readCifar10ClassNames(t.dir()).at(9), "J j");
    std::ofstream(t.file("batches.meta.txt")) << "A\nB\n";
    EXPECT_ERROR(readCifar10ClassNames(t.dir()), t.file("batches.meta.txt"), "has 2 class names");
}

TEST(ImageFolder, ColourToGrayShrink) {
    TempDir t;
    writeSolid(t.file("cls/x.ppm"), 56, {50, 100, 200});  // R, G, B
    const ImageSet s = readImageFolder(t.dir(), 1, 28, 28, "f");
    EXPECT_EQ(shape(s), (Indices{1, 1, 28, 28}));
    // OpenCV's BGR2GRAY: 0.299 R + 0.587 G + 0.114 B = 96.45, rounded.
    EXPECT_EQ(std::count(s.pixels.begin(), s.pixels.end(), 96), 28 * 28);
}

TEST(ImageFolder, RgbOrderGrowAreaShrinkAndAlpha) {
    TempDir t;
    writeSolid(t.file("a/grow.ppm"), 14, {50, 100, 200});
    writePnm(t.file("b/halves.pgm"), 56, 1, [](int x, int) {
        const uint8_t v = x < 28 ? 0 : 200;
        return std::array<uint8_t, 3>{v, v, v};
    });
    writePngRgba(t.file("c/alpha.PNG"), 40, {10, 20, 30, 128});
    std::ofstream(t.file("c/notes.txt")) << "not an image";
    const ImageSet s = readImageFolder(t.dir(), 3, 28, 28, "f");
    EXPECT_EQ(shape(s), (Indices{3, 3, 28, 28}));
    EXPECT_EQ(s.classNames, kAbc);
    EXPECT_EQ(s.labels, (Indices{0, 1, 2}));
    const std::array<uint8_t, 3> rgb = {50, 100, 200}, rgbPng = {10, 20, 30};
    for (int c = 0; c < 3; ++c) {
        for (int k = 0; k < 28 * 28; ++k) {
            ASSERT_EQ(s.image(0)[c * 784 + k], rgb[c]) << "channel " << c;
            ASSERT_EQ(s.image(1)[c * 784 + k], k % 28 < 14 ? 0 : 200) << "pixel " << k;
            ASSERT_EQ(s.image(2)[c * 784 + k], rgbPng[c]) << "channel " << c;
        }
    }
}

TEST(ImageFolder, Errors) {
    TempDir t;
    const std::string dir = t.dir();
    EXPECT_ERROR(readImageFolder(t.file("no"), 1, 28, 28, "f"), t.file("no"), "does not exist");
    std::ofstream(t.file("loose.png")) << "x";
    EXPECT_ERROR(readImageFolder(dir, 1, 28, 28, "f"), dir, "no class subfolders");
    writeGray(t.file("a/ok.pgm"), 5);
    std::ofstream(t.file("b/readme.txt")) << "x";
    EXPECT_ERROR(readImageFolder(dir, 1, 28, 28, "f"), t.file("b"), "no images");
    std::ofstream(t.file("b/bad.png")) << "this is not a png";
    EXPECT_ERROR(readImageFolder(dir, 1, 28, 28, "f"), t.file("b/bad.png"), "cannot read image");
    EXPECT_ERROR(readImageFolder(dir, 2, 28, 28, "f"), dir, "1 (gray) or 3 (RGB), got 2");
    EXPECT_ERROR(readImageFolder(dir, 1, 0, 28, "f"), dir, "0x28");
    EXPECT_ERROR(readImageFolder(dir, 1, 28, 5000, "f"), dir, "28x5000");
}

TEST(Splits, PermutationKnownAnswersAndValidity) {
    // n = 2 takes one draw, j = first engine output mod 2, and swaps when j = 0.
    // std::mt19937_64's first outputs: seed 5489 -> 14514284786278117030 (even,
    // the standard's default seed), seed 3 -> 10307413207671831467 (odd).
    EXPECT_EQ(seededPermutation(2, 5489), (Indices{1, 0}));
    EXPECT_EQ(seededPermutation(2, 3), (Indices{0, 1}));
    EXPECT_TRUE(seededPermutation(0, 1).empty());
    Indices p = seededPermutation(1000, 7);
    EXPECT_EQ(p, seededPermutation(1000, 7));
    EXPECT_NE(p, seededPermutation(1000, 8));
    std::sort(p.begin(), p.end());
    for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(p[std::size_t(i)], i);
    EXPECT_ERROR(seededPermutation(-1, 0), "-1");
}

TEST(Splits, PermutationIsUniform) {
    std::map<Indices, int> counts;
    for (uint64_t seed = 0; seed < 6000; ++seed) ++counts[seededPermutation(3, seed)];
    ASSERT_EQ(counts.size(), 6u);
    for (const auto& [perm, n] : counts) {  // 1000 expected each, sd about 29
        EXPECT_GT(n, 850);
        EXPECT_LT(n, 1150);
    }
}

TEST(Splits, CarveValidation) {
    Dataset d;
    d.name = "toy";
    d.trainImages.labels.assign(100, 0);
    d.testImages.labels.assign(7, 0);
    carveValidation(d, 30, 11);
    EXPECT_EQ(d.valIndices.size(), 30u);
    EXPECT_EQ(d.trainIndices.size(), 70u);
    EXPECT_TRUE(std::is_sorted(d.valIndices.begin(), d.valIndices.end()));
    EXPECT_TRUE(std::is_sorted(d.trainIndices.begin(), d.trainIndices.end()));
    std::set<int64_t> all(d.valIndices.begin(), d.valIndices.end());
    all.insert(d.trainIndices.begin(), d.trainIndices.end());
    EXPECT_EQ(all.size(), 100u);  // disjoint and covering 0..99
    EXPECT_EQ(*all.rbegin(), 99);
    EXPECT_EQ(d.testIndices, (Indices{0, 1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(d.seed, 11u);
    const Indices val = d.valIndices;
    carveValidation(d, 30, 11);
    EXPECT_EQ(d.valIndices, val);
    carveValidation(d, 30, 12);
    EXPECT_NE(d.valIndices, val);
    carveValidation(d, 0, 1);
    EXPECT_TRUE(d.valIndices.empty());
    for (int64_t bad : {-1, 100, 101})
        EXPECT_ERROR(carveValidation(d, bad, 1), "toy", std::to_string(bad), "100 train images");
}

TEST(Registry, TheDefaultValidationSizeFitsSmallDataSets) {
    // By hand: 5,000 once there are 50,000 train images, 10% (rounded down) below.
    EXPECT_EQ(autoValidationSize(60'000), 5'000);
    EXPECT_EQ(autoValidationSize(50'000), 5'000);
    EXPECT_EQ(autoValidationSize(49'999), 4'999);
    EXPECT_EQ(autoValidationSize(3'000), 300);
    EXPECT_EQ(autoValidationSize(9), 0);
    TempDir t;
    writeRaw(t.file("train-images-idx3-ubyte"), idxImages(3));
    writeRaw(t.file("train-labels-idx1-ubyte"), idxLabels());
    writeGz(t.file("t10k-images-idx3-ubyte.gz"), idxImages(2));
    writeGz(t.file("t10k-labels-idx1-ubyte.gz"), idxLabels({9, 4}));
    const Dataset d = loadDataset(t.dir(), DatasetOptions{});  // 3 train images: none for validation
    EXPECT_EQ(d.valIndices.size(), 0u);
    EXPECT_EQ(d.trainIndices.size(), 3u);
    DatasetOptions o;
    o.numVal = 3;
    EXPECT_ERROR(loadDataset(t.dir(), o), "validation size 3 (--val)", "3 train images");
}

TEST(Registry, IdxDirectoryAndFashionOverride) {
    TempDir t;
    writeRaw(t.file("train-images-idx3-ubyte"), idxImages(3));
    writeRaw(t.file("train-labels-idx1-ubyte"), idxLabels());
    writeGz(t.file("t10k-images-idx3-ubyte.gz"), idxImages(2));
    writeGz(t.file("t10k-labels-idx1-ubyte.gz"), idxLabels({9, 4}));
    DatasetOptions o;
    o.numVal = 1;
    const Dataset d = loadDataset(t.dir(), o);
    EXPECT_EQ(shape(d.trainImages), (Indices{3, 1, 2, 3}));
    EXPECT_EQ(d.testImages.labels, (Indices{9, 4}));
    EXPECT_EQ(d.trainImages.classNames, kTen);
    EXPECT_EQ(d.valIndices.size(), 1u);
    EXPECT_EQ(d.trainIndices.size(), 2u);

    EnvGuard env("EXITSCOPE_FASHION_MNIST_DIR", t.dir());
    const Dataset f = loadDataset("fashion-mnist", o);
    EXPECT_EQ(f.name, "fashion-mnist");
    EXPECT_EQ(f.testImages.classNames, fashionMnistClassNames());
    const std::string gzPath = t.file("t10k-images-idx3-ubyte.gz");
    const Bytes gz = readAll(gzPath);
    writeRaw(gzPath, Bytes(gz.begin(), gz.end() - 12));
    EXPECT_ERROR(loadDataset("fashion-mnist", o),
                 "fashion-mnist: " + gzPath + ": truncated gzip stream");
    fs::remove(t.file("train-labels-idx1-ubyte"));
    EXPECT_ERROR(loadDataset(t.dir(), o), t.dir(), "missing train-labels-idx1-ubyte");
    EXPECT_ERROR(loadDataset("fashion-mnist", o),
                 "fashion-mnist: " + t.file("train-labels-idx1-ubyte.gz"),
                 "dataset-fashion-mnist", "EXITSCOPE_FASHION_MNIST_DIR");
}

TEST(Registry, CifarDirectory) {
    TempDir t;
    const std::string sub = "cifar-10-batches-bin/";
    for (uint8_t i = 1; i <= 5; ++i)
        writeRaw(t.file(sub + "data_batch_" + std::to_string(i) + ".bin"), cifarRecords({i}));
    writeRaw(t.file(sub + "test_batch.bin"), cifarRecords({7, 8}));
    DatasetOptions o;
    o.numVal = 2;
    const Dataset d = loadDataset(t.dir(), o);
    EXPECT_EQ(d.trainImages.labels, (Indices{1, 2, 3, 4, 5}));
    EXPECT_EQ(d.testImages.labels, (Indices{7, 8}));
    EXPECT_EQ(d.trainImages.classNames.at(0), "airplane");
    EXPECT_EQ(d.valIndices.size(), 2u);
    fs::remove(t.file(sub + "data_batch_3.bin"));
    EXPECT_ERROR(loadDataset(t.dir(), o), t.file("cifar-10-batches-bin"),
                 "missing data_batch_3.bin");
}

TEST(Registry, ImageFolders) {
    TempDir t;
    for (const std::string part : {"split/train/", "split/test/"})
        for (const char* cls : {"cat", "dog"}) writeGray(t.file(part + cls + "/1.pgm"), 9);
    writeGray(t.file("split/train/dog/2.pgm"), 9);
    DatasetOptions o;
    o.numVal = 1, o.channels = 3, o.height = 8, o.width = 6;
    const Dataset s = loadDataset(t.file("split"), o);
    EXPECT_EQ(shape(s.trainImages), (Indices{3, 3, 8, 6}));
    EXPECT_EQ(shape(s.testImages), (Indices{2, 3, 8, 6}));
    writeGray(t.file("half/train/a/1.pgm"), 9);
    EXPECT_ERROR(loadDataset(t.file("half"), o), t.file("half"), "train/ but no test/");

    // One tree of 10 images, each of its own gray level: 8 train / 2 test.
    for (int k = 0; k < 10; ++k)
        writeGray(t.file(std::string("tree/") + (k < 5 ? "a/" : "b/") + std::to_string(k) + ".pgm"),
                  uint8_t(10 * k));
    o = DatasetOptions{};
    o.numVal = 2;
    const Dataset d = loadDataset(t.file("tree"), o);
    EXPECT_EQ(shape(d.trainImages), (Indices{8, 1, 28, 28}));
    EXPECT_EQ(shape(d.testImages), (Indices{2, 1, 28, 28}));
    EXPECT_EQ(d.valIndices.size(), 2u);
    std::set<int> levels;
    for (const ImageSet* set : {&d.trainImages, &d.testImages}) {
        for (std::size_t i = 0; i < set->size(); ++i) {
            levels.insert(set->image(i)[0]);
            EXPECT_EQ(set->labels[i], set->image(i)[0] < 50 ? 0 : 1);
        }
    }
    EXPECT_EQ(levels.size(), 10u);  // no image lost or duplicated
    EXPECT_EQ(loadDataset(t.file("tree"), o).testImages.pixels, d.testImages.pixels);
    o.seed = 1;
    EXPECT_NE(loadDataset(t.file("tree"), o).testImages.pixels, d.testImages.pixels);
}

TEST(Registry, UnknownNamesAndDirectories) {
    TempDir t;
    EXPECT_ERROR(loadDataset("no-such-set"), "no-such-set", "unknown data set", "fashion-mnist");
    EXPECT_ERROR(loadDataset(t.dir()), t.dir(), "not a recognised data set directory",
                 "train-images-idx3-ubyte", "data_batch_1.bin", "image folder");
    writeGray(t.file("a/1.pgm"), 1);
    writeGray(t.file("a/2.pgm"), 1);
    // Two images (one for test): the default validation size leaves the one train image alone;
    // asking for 5,000 is an error that names the option.
    EXPECT_EQ(loadDataset(t.dir()).valIndices.size(), 0u);
    DatasetOptions many;
    many.numVal = 5000;
    EXPECT_ERROR(loadDataset(t.dir(), many), t.dir(), "validation size 5000 (--val)", "1 train images");
}

namespace {
/// The real Fashion-MNIST, loaded once for the suite; its tests skip without it.
class RegistryFashionMnist : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (fs::exists("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz") ||
            std::getenv("EXITSCOPE_FASHION_MNIST_DIR"))
            s_data = loadDataset("fashion-mnist");
    }
    void SetUp() override {
        if (!s_data) GTEST_SKIP() << "Fashion-MNIST not installed (Debian dataset-fashion-mnist)";
    }
    static inline std::optional<Dataset> s_data;
};
} // namespace

TEST_F(RegistryFashionMnist, ShapesSplitsAndNames) {
    const Dataset& d = *s_data;
    EXPECT_EQ(shape(d.trainImages), (Indices{60000, 1, 28, 28}));
    EXPECT_EQ(shape(d.testImages), (Indices{10000, 1, 28, 28}));
    EXPECT_EQ(d.trainImages.pixels.size(), 60000u * 784u);
    EXPECT_EQ(d.valIndices.size(), 5000u);
    EXPECT_EQ(d.trainIndices.size(), 55000u);
    EXPECT_EQ(d.testIndices.size(), 10000u);
    ASSERT_EQ(d.testImages.classNames.size(), 10u);
    EXPECT_EQ(d.testImages.classNames[0], "T-shirt/top");
    EXPECT_EQ(d.testImages.classNames[9], "Ankle boot");
}

TEST_F(RegistryFashionMnist, KnownLabelsAndPixels) {
    const Dataset& d = *s_data;
    // Checked against the files with Python's gzip module: the first test and
    // train images are ankle boots (9), the first test image's pixels sum to
    // 33456, and the train labels are balanced, 6000 per class.
    EXPECT_EQ(d.testImages.labels[0], 9);
    EXPECT_EQ(d.trainImages.labels[0], 9);
    const uint8_t* img = d.testImages.image(0);
    EXPECT_EQ(std::accumulate(img, img + 784, 0), 33456);
    std::vector<int> perClass(10, 0);
    for (int64_t l : d.trainImages.labels) ++perClass[std::size_t(l)];
    EXPECT_EQ(perClass, std::vector<int>(10, 6000));
}

TEST(DatasetReference, DirectoriesBecomeAbsoluteNamesAndOthersStay) {
    const std::string name = "dataset-reference-" + std::to_string(::getpid());
    fs::create_directories(fs::path(name) / "inner");
    std::ofstream(fs::path(name) / "file.txt") << "x";
    const fs::path here = fs::current_path();
    EXPECT_EQ(datasetReference(name), (here / name).string());
    // "inner/.." is the folder itself, written the short way.
    EXPECT_EQ(datasetReference(name + "/inner/.."), (here / name / "").string());
    EXPECT_EQ(datasetReference((here / name).string()), (here / name).string());
    EXPECT_EQ(datasetReference("fashion-mnist"), "fashion-mnist");
    EXPECT_EQ(datasetReference(name + "/file.txt"), name + "/file.txt");
    EXPECT_EQ(datasetReference(name + "/missing"), name + "/missing");
    fs::remove_all(name);
}
