#include "core/data/cifar_reader.h"

#include "core/common/format.h"
#include "core/common/error.h"
#include "core/data/gzip.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace exitscope::core {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kSide = 32;
constexpr int64_t kChannels = 3;
constexpr std::size_t kImageBytes = kChannels * kSide * kSide;
constexpr std::size_t kRecordBytes = 1 + kImageBytes;
constexpr std::size_t kClasses = 10;
// A real batch is 10,000 records (30.7 MB); this leaves ample room.
constexpr uint64_t kMaxBatchBytes = uint64_t{1} << 30;

std::string trim(const std::string& s) {
    const char* space = " \t\r\n";
    const auto b = s.find_first_not_of(space);
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(space) - b + 1);
}

} // namespace

ImageSet readCifar10(const std::vector<std::string>& batchFiles,
                     std::vector<std::string> classNames, const std::string& name) {
    if (batchFiles.empty()) throw Error(name + ": no CIFAR-10 batch files given");
    if (classNames.size() < kClasses) {
        throw Error(name + ": CIFAR-10 needs 10 class names, got " +
                    std::to_string(classNames.size()));
    }
    // Sizes first, so a bad file fails before we read the good ones.
    uint64_t totalRecords = 0;
    for (const auto& path : batchFiles) {
        std::error_code ec;
        const uintmax_t size = fs::file_size(path, ec);
        if (ec) {
            throw Error(path + ": cannot read CIFAR-10 batch (" + ec.message() + ")");
        }
        if (size == 0 || size % kRecordBytes != 0) {
            throw Error(path + ": size " + std::to_string(size) +
                        " bytes is not a positive multiple of 3073 (a CIFAR-10 record is 1 "
                        "label byte + 3x32x32 pixels)");
        }
        totalRecords += size / kRecordBytes;
    }

    ImageSet set;
    set.name = name;
    set.channels = kChannels;
    set.height = kSide;
    set.width = kSide;
    set.pixels.reserve(static_cast<std::size_t>(totalRecords * kImageBytes));
    set.labels.reserve(static_cast<std::size_t>(totalRecords));
    for (const auto& path : batchFiles) {
        const std::vector<uint8_t> bytes = readRawFile(path, kMaxBatchBytes);
        if (bytes.empty() || bytes.size() % kRecordBytes != 0) {
            throw Error(path + ": size " + std::to_string(bytes.size()) +
                        " bytes is not a positive multiple of 3073");
        }
        for (std::size_t r = 0; r < bytes.size() / kRecordBytes; ++r) {
            const uint8_t* record = bytes.data() + r * kRecordBytes;
            if (record[0] >= kClasses) {
                throw Error(path + ": record " + std::to_string(r) + " has label " +
                            std::to_string(record[0]) + ", expected 0..9");
            }
            set.labels.push_back(record[0]);
            set.pixels.insert(set.pixels.end(), record + 1, record + kRecordBytes);
        }
    }
    set.classNames = std::move(classNames);
    return set;
}

std::vector<std::string> readCifar10ClassNames(const std::string& dir) {
    const fs::path metaPath = fs::path(dir) / "batches.meta.txt";
    std::error_code ec;
    if (!fs::exists(metaPath, ec)) {
        return {"airplane", "automobile", "bird", "cat", "deer",
                "dog",      "frog",       "horse", "ship", "truck"};
    }
    std::ifstream in(metaPath);
    if (!in) {
        throw Error(metaPath.string() + ": cannot open file (" + std::strerror(errno) + ")");
    }
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
        if (names.empty()) line = withoutUtf8Bom(line);
        if (auto t = trim(line); !t.empty()) names.push_back(std::move(t));
    }
    if (names.size() != kClasses) {
        throw Error(metaPath.string() + ": has " + std::to_string(names.size()) +
                    " class names, expected 10 (one per line)");
    }
    return names;
}

} // namespace exitscope::core
