// checkZipIntegrity: LibTorch parses checkpoints and TorchScript files
// without checking their CRCs, and a flipped bit in a record's code crashed
// its parser (found by scripts/mutation-campaign: `info` on a bit-flipped
// checkpoint, signal 11). Every stored entry's CRC-32 is checked first.
#include "core/common/error.h"
#include "core/common/zip_check.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using exitscope::core::checkZipIntegrity;
using exitscope::core::Error;

namespace {

const std::string kCheckpoint = std::string(EXITSCOPE_SOURCE_DIR) + "/assets/models/msdnet-fashion-mnist.pt";

std::vector<char> bytesOf(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string writeTemp(const std::string& name, const std::vector<char>& bytes) {
    const std::string path = ::testing::TempDir() + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
}

std::string errorOf(const std::string& path) {
    try {
        checkZipIntegrity(path);
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

} // namespace

TEST(ZipIntegrity, TheBundledCheckpointPasses) {
    if (!fs::exists(kCheckpoint)) GTEST_SKIP() << "bundled assets missing: " << kCheckpoint;
    EXPECT_NO_THROW(checkZipIntegrity(kCheckpoint));
}

TEST(ZipIntegrity, AFlippedBitInAnyRecordNamesTheFileAndTheEntry) {
    if (!fs::exists(kCheckpoint)) GTEST_SKIP() << "bundled assets missing: " << kCheckpoint;
    const auto good = bytesOf(kCheckpoint);
    ASSERT_GT(good.size(), 4096u);
    std::mt19937_64 rng(15);
    // Flips in the first 90% of the file land in record data or local headers
    // (the central directory sits at the end); each must be refused.
    std::uniform_int_distribution<std::size_t> where(0, good.size() * 9 / 10);
    int refused = 0, namedEntry = 0;
    for (int i = 0; i < 40; ++i) {
        auto bad = good;
        const auto at = where(rng);
        bad[at] = static_cast<char>(bad[at] ^ (1 << (rng() % 8)));
        const auto path = writeTemp("zipcheck_flip.pt", bad);
        const auto message = errorOf(path);
        if (message.empty()) continue;  // a flip in a header's unused field (e.g. a time stamp) is harmless
        ++refused;
        EXPECT_NE(message.find("zipcheck_flip.pt"), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
        namedEntry += message.find("CRC-32") != std::string::npos;
    }
    EXPECT_GE(refused, 36);
    EXPECT_GE(namedEntry, 30);
}

TEST(ZipIntegrity, CutEmptyAndForeignFilesAreErrors) {
    if (!fs::exists(kCheckpoint)) GTEST_SKIP() << "bundled assets missing: " << kCheckpoint;
    const auto good = bytesOf(kCheckpoint);
    for (std::size_t cut : {std::size_t{0}, std::size_t{10}, good.size() / 2, good.size() - 30, good.size() - 1}) {
        const std::vector<char> part(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
        EXPECT_NE(errorOf(writeTemp("zipcheck_cut.pt", part)).find("zipcheck_cut.pt"), std::string::npos) << cut;
    }
    std::vector<char> noise(5000);
    std::mt19937 rng(3);
    for (auto& c : noise) c = static_cast<char>(rng());
    EXPECT_NE(errorOf(writeTemp("zipcheck_noise.pt", noise)).find("no end-of-central-directory"), std::string::npos);
    EXPECT_NE(errorOf(::testing::TempDir() + "zipcheck_absent.pt").find("zipcheck_absent.pt"), std::string::npos);
}
