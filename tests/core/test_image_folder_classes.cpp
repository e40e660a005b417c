// A 1,000-class image folder through core::readImageFolder and
// core::loadDataset (issue 8, load): class order, labels, exact pixels and
// the size of what is allocated. The folder is written by the test, by hand
// (PGM, and PNG through zlib), so nothing here depends on the OpenCV the
// reader uses. Every image carries its class's creation number in its first
// two pixels, so each label can be checked against the folder it came from.
#include "core/common/error.h"
#include "core/data/image_folder.h"
#include "core/data/registry.h"
#include "tests/core/png_writer.h"
#include "tests/core/test_bad_inputs.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace exitscope::core;
using exitscope::testing::AllocationProbe;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr int kSide = 8;
constexpr int kPixels = kSide * kSide;
constexpr int kClasses = 1000;

// Ten awkward but legal folder names, then "class_0" .. "class_989". In byte
// order the awkward ones fall before and after the class_ block.
const std::vector<std::string> kAwkward = {"a b", "UPPER", "日本語", "~tilde", "with  two spaces",
                                           "a_b", "-dash", "ünïcode", "Zebra",  "apple"};

std::string nameOf(int created) {
    return created < 10 ? kAwkward[static_cast<std::size_t>(created)] : "class_" + std::to_string(created - 10);
}

// Pixel k of image `file` (0 or 1) of the class created `created`-th.
uint8_t pixelOf(int created, int file, int k) {
    if (k == 0) return static_cast<uint8_t>(created % 256);
    if (k == 1) return static_cast<uint8_t>(created / 256 * 16 + file);
    return static_cast<uint8_t>((created * 31 + file * 17 + k * 7) % 256);
}
int createdOf(const uint8_t* image) { return image[0] + 256 * (image[1] / 16); }
int fileOf(const uint8_t* image) { return image[1] % 16; }

Bytes pixelsOf(int created, int file) {
    Bytes b(kPixels);
    for (int k = 0; k < kPixels; ++k) b[static_cast<std::size_t>(k)] = pixelOf(created, file, k);
    return b;
}

void writeBytes(const fs::path& path, const Bytes& b) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
void writePgm(const fs::path& path, const Bytes& pixels) {
    const std::string head = "P5\n" + std::to_string(kSide) + " " + std::to_string(kSide) + "\n255\n";
    Bytes b(head.begin(), head.end());
    b.insert(b.end(), pixels.begin(), pixels.end());
    writeBytes(path, b);
}
// An 8-bit gray PNG (colour type 0), one filter byte 0 per row, built with zlib.
void writePngGray(const fs::path& path, const Bytes& pixels) {
    Bytes raw;
    for (int y = 0; y < kSide; ++y) {
        raw.push_back(0);
        raw.insert(raw.end(), pixels.begin() + y * kSide, pixels.begin() + (y + 1) * kSide);
    }
    writeBytes(path, exitscope::test::pngFile(kSide, kSide, 8, 0, raw));
}

/// train/<class>/{2.pgm, 10.png} and test/<class>/0.pgm for 1,000 classes,
/// plus entries the reader must skip; written once for the whole suite.
class ThousandClasses : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        root() = fs::temp_directory_path() / ("exitscope_classes_" + std::to_string(::getpid()));
        fs::remove_all(root());
        for (int c = 0; c < kClasses; ++c) {
            const fs::path train = root() / "train" / nameOf(c), test = root() / "test" / nameOf(c);
            writePgm(train / "2.pgm", pixelsOf(c, 0));
            writePngGray(train / "10.png", pixelsOf(c, 1));
            writePgm(test / "0.pgm", pixelsOf(c, 0));
        }
        writePgm(root() / "train" / ".hidden" / "0.pgm", pixelsOf(0, 0));  // hidden: not a class
        writePgm(root() / "train" / "apple" / ".0.pgm", pixelsOf(0, 0));   // hidden: not an image
        std::ofstream(root() / "train" / "apple" / "notes.txt") << "not an image";
        std::ofstream(root() / "train" / "README.png") << "a file, not a class folder";
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove_all(root(), ec);
    }
    static fs::path& root() {
        static fs::path r;
        return r;
    }
    static std::string dir(const std::string& part) { return (root() / part).string(); }
};

// Checks one set: each image's label names the folder its pixels say it came
// from, its pixels are exact, and every class holds `perClass` images.
void expectLabelsAndPixels(const ImageSet& s, std::size_t perClass) {
    ASSERT_EQ(s.pixels.size(), s.size() * kPixels);
    std::map<int64_t, std::size_t> count;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const uint8_t* image = s.image(i);
        const int created = createdOf(image), file = fileOf(image);
        ASSERT_LT(created, kClasses) << "image " << i;
        const int64_t label = s.labels[i];
        ASSERT_GE(label, 0);
        ASSERT_LT(label, static_cast<int64_t>(s.classNames.size()));
        ASSERT_EQ(s.classNames[static_cast<std::size_t>(label)], nameOf(created)) << "image " << i;
        for (int k = 0; k < kPixels; ++k) ASSERT_EQ(image[k], pixelOf(created, file, k)) << "image " << i << " pixel " << k;
        ++count[label];
    }
    EXPECT_EQ(count.size(), std::size_t{kClasses});
    for (const auto& [label, n] : count) EXPECT_EQ(n, perClass) << "label " << label;
}

TEST_F(ThousandClasses, ReaderFindsEveryClassInByteOrder) {
    const ImageSet s = readImageFolder(dir("train"), 1, kSide, kSide, "thousand");
    ASSERT_EQ(s.classNames.size(), std::size_t{kClasses});
    ASSERT_EQ(s.size(), std::size_t{2 * kClasses});
    // Byte order, worked out by hand: punctuation and upper case before lower
    // case, "class_10" and "class_100" before "class_2" (2 + 10 + 100 names of
    // class_0..class_989 start with 0 or 1), "class_99" after "class_989",
    // then the names whose first byte is past 'c' ('w' < '~' < 0xC3 < 0xE6).
    const std::map<std::size_t, std::string> known = {
        {0, "-dash"},      {1, "UPPER"},     {2, "Zebra"},     {3, "a b"},      {4, "a_b"},
        {5, "apple"},      {6, "class_0"},   {7, "class_1"},   {8, "class_10"}, {9, "class_100"},
        {10, "class_101"}, {118, "class_2"}, {994, "class_989"}, {995, "class_99"},
        {996, "with  two spaces"}, {997, "~tilde"}, {998, "ünïcode"}, {999, "日本語"}};
    for (const auto& [at, name] : known) EXPECT_EQ(s.classNames[at], name) << "class " << at;
    EXPECT_TRUE(std::is_sorted(s.classNames.begin(), s.classNames.end()));
    std::set<std::string> expected;
    for (int c = 0; c < kClasses; ++c) expected.insert(nameOf(c));
    EXPECT_EQ(std::set<std::string>(s.classNames.begin(), s.classNames.end()), expected);
    // Labels follow folders in order; within a folder "10.png" comes before "2.pgm".
    for (std::size_t i = 0; i < s.size(); ++i) {
        ASSERT_EQ(s.labels[i], static_cast<int64_t>(i / 2)) << "image " << i;
        ASSERT_EQ(fileOf(s.image(i)), i % 2 == 0 ? 1 : 0) << "image " << i;
    }
    expectLabelsAndPixels(s, 2);
}

TEST_F(ThousandClasses, ReaderAllocatesNoMoreThanThePixelsAndTheFolderLists) {
    AllocationProbe::largest() = 0;
    AllocationProbe::enabled() = true;
    const ImageSet gray = readImageFolder(dir("train"), 1, kSide, kSide, "thousand");
    AllocationProbe::enabled() = false;
    // N x C x H x W bytes, no more (the documented layout), and no single
    // allocation beyond them plus 64 KiB for the lists of 1,000 folders: each
    // file is under 200 bytes, so nothing per file may be large.
    EXPECT_EQ(gray.pixels.size(), std::size_t{2 * kClasses * kPixels});
    EXPECT_LE(AllocationProbe::largest().load(), gray.pixels.size() + (64 << 10));

    const ImageSet s = readImageFolder(dir("train"), 3, kSide, kSide, "thousand");
    EXPECT_EQ(s.pixels.size(), std::size_t{2 * kClasses * 3 * kPixels});
    // Gray to RGB copies the gray value to all three planes.
    for (std::size_t i : {std::size_t{0}, std::size_t{777}, std::size_t{1999}}) {
        const uint8_t* image = s.image(i);
        const int created = createdOf(image), file = fileOf(image);
        for (int c = 0; c < 3; ++c)
            for (int k = 0; k < kPixels; ++k)
                ASSERT_EQ(image[c * kPixels + k], pixelOf(created, file, k)) << "image " << i << " plane " << c;
    }
}

TEST_F(ThousandClasses, RegistryLoadsTrainAndTestWithOneClassList) {
    DatasetOptions o;
    o.numVal = 500, o.seed = 3, o.channels = 1, o.height = kSide, o.width = kSide;
    const Dataset d = loadDataset(root().string(), o);
    ASSERT_EQ(d.trainImages.classNames.size(), std::size_t{kClasses});
    EXPECT_EQ(d.testImages.classNames, d.trainImages.classNames);
    ASSERT_EQ(d.testImages.size(), std::size_t{kClasses});
    expectLabelsAndPixels(d.trainImages, 2);
    expectLabelsAndPixels(d.testImages, 1);
    EXPECT_EQ(d.valIndices.size(), 500u);
    EXPECT_EQ(d.trainIndices.size(), 1500u);
    std::set<int64_t> all(d.trainIndices.begin(), d.trainIndices.end());
    all.insert(d.valIndices.begin(), d.valIndices.end());
    EXPECT_EQ(all.size(), 2000u);  // train and val are disjoint and cover every train image
    EXPECT_EQ(d.testIndices.size(), std::size_t{kClasses});

    // The CLI's train command asks for no shape: 1 x 28 x 28, grown from 8 x 8.
    DatasetOptions plain;
    plain.numVal = 0;
    const Dataset big = loadDataset(root().string(), plain);
    EXPECT_EQ(big.testImages.classNames.size(), std::size_t{kClasses});
    EXPECT_EQ(big.testImages.pixels.size(), std::size_t{kClasses * 28 * 28});
}

TEST_F(ThousandClasses, RegistrySplitsOneTreeOfAThousandClasses) {
    // test/ alone is one class-folder tree of 1,000 images: 80/20 by the seed.
    DatasetOptions o;
    o.numVal = 100, o.channels = 1, o.height = kSide, o.width = kSide;
    const Dataset d = loadDataset(dir("test"), o);
    EXPECT_EQ(d.testImages.size(), 200u);  // max(1, (1000 + 2) / 5)
    EXPECT_EQ(d.trainImages.size(), 800u);
    EXPECT_EQ(d.trainImages.classNames.size(), std::size_t{kClasses});
    EXPECT_EQ(d.testImages.classNames, d.trainImages.classNames);
    std::set<int> seen;
    for (const ImageSet* s : {&d.trainImages, &d.testImages}) {
        for (std::size_t i = 0; i < s->size(); ++i) {
            const int created = createdOf(s->image(i));
            EXPECT_EQ(s->classNames[static_cast<std::size_t>(s->labels[i])], nameOf(created));
            seen.insert(created);
        }
    }
    EXPECT_EQ(seen.size(), std::size_t{kClasses});  // no image lost or duplicated
}

// Expects an Error whose message holds every part.
void expectErrorWith(const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
        f();
    } catch (const Error& e) {
        const std::string m = e.what();
        for (const auto& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "message: " << m << "\nlacks: " << p;
        EXPECT_LT(m.size(), 1000u) << "message: " << m;
        return;
    }
    ADD_FAILURE() << "no exitscope::core::Error thrown";
}

TEST(ImageFolderClasses, MissingTestClassNamesTheFirstDifference) {
    const fs::path root = fs::temp_directory_path() / ("exitscope_classes_missing_" + std::to_string(::getpid()));
    fs::remove_all(root);
    for (int c = 0; c < kClasses; ++c) {
        writePgm(root / "train" / nameOf(c) / "0.pgm", pixelsOf(c, 0));
        if (c != 12) writePgm(root / "test" / nameOf(c) / "0.pgm", pixelsOf(c, 0));  // no test/class_2
    }
    DatasetOptions o;
    o.numVal = 1, o.channels = 1, o.height = kSide, o.width = kSide;
    // class_2 is class 118 in name order (see above); test/ has class_20 there.
    expectErrorWith([&] { loadDataset(root.string(), o); },
                    {root.string(), "1000 and 999", "class 118", "'class_2' in train/", "'class_20' in test/"});
    fs::remove_all(root);
}

TEST(ImageFolderClasses, ClassFolderNotUtf8IsAnErrorBeforeAnyWork) {
    // "caf\xe9" is "café" in Latin-1; checkpoints and traces store class
    // names as UTF-8 JSON, which cannot hold it.
    const fs::path root = fs::temp_directory_path() / ("exitscope_classes_latin1_" + std::to_string(::getpid()));
    fs::remove_all(root);
    for (const std::string name : {"caf\xe9", "ok", "caf\xc3\xa9", "\xed\xa0\x80x", "\xc0\xafx", "\xf4\x90\x80\x80", "x\xe6\x97"}) {
        writePgm(root / name / "0.pgm", pixelsOf(0, 0));
    }
    // In byte order, the order the reader meets them: Latin-1, truncated, overlong "/", surrogate, past U+10FFFF.
    const std::vector<std::string> bad = {"caf\xe9", "x\xe6\x97", "\xc0\xafx", "\xed\xa0\x80x", "\xf4\x90\x80\x80"};
    for (std::size_t k = 0; k < bad.size(); ++k) {
        SCOPED_TRACE("bad name " + std::to_string(k));
        expectErrorWith([&] { readImageFolder(root.string(), 1, kSide, kSide, "f"); },
                        {(root / bad[k]).string(), "not valid UTF-8"});
        fs::remove_all(root / bad[k]);
    }
    // Valid names, two- and one-byte, remain.
    const ImageSet s = readImageFolder(root.string(), 1, kSide, kSide, "f");
    EXPECT_EQ(s.classNames, (std::vector<std::string>{"caf\xc3\xa9", "ok"}));
    fs::remove_all(root);
}

} // namespace
