#include "core/data/image_folder.h"

#include "core/common/error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

namespace exitscope::core {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxSide = 4096;
constexpr std::array<const char*, 9> kExtensions = {"png", "jpg",  "jpeg", "bmp", "pgm",
                                                   "ppm", "tif", "tiff", "webp"};

bool isHidden(const fs::path& p) {
    const std::string n = p.filename().string();
    return !n.empty() && n[0] == '.';
}

bool isImageFile(const fs::path& p) {
    std::string ext = p.extension().string();
    if (ext.size() < 2) return false;
    ext.erase(0, 1);
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return std::any_of(kExtensions.begin(), kExtensions.end(),
                       [&](const char* e) { return ext == e; });
}

std::vector<fs::path> sortedEntries(const fs::path& dir, bool wantDirs) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path& p = it->path();
        if (isHidden(p)) continue;
        std::error_code typeEc;
        const bool isDir = it->is_directory(typeEc);
        if (wantDirs ? isDir : (!isDir && isImageFile(p))) out.push_back(p);
    }
    if (ec) throw Error(dir.string() + ": cannot list directory (" + ec.message() + ")");
    std::sort(out.begin(), out.end());
    return out;
}

// Brings any depth OpenCV decodes (16-bit PNG/TIFF, float TIFF) to 8 bits.
cv::Mat to8Bit(const cv::Mat& img, const std::string& path) {
    switch (img.depth()) {
    case CV_8U: return img;
    case CV_16U: {
        cv::Mat out;
        img.convertTo(out, CV_8U, 1.0 / 257.0);
        return out;
    }
    case CV_32F:
    case CV_64F: {
        cv::Mat out;
        img.convertTo(out, CV_8U, 255.0);
        return out;
    }
    default: throw Error(path + ": unsupported pixel depth (OpenCV depth " +
                         std::to_string(img.depth()) + ")");
    }
}

cv::Mat convertChannels(const cv::Mat& img, int64_t channels, const std::string& path) {
    cv::Mat out;
    const int c = img.channels();
    if (c == 2) {  // gray + alpha
        cv::extractChannel(img, out, 0);
        return channels == 1 ? out : convertChannels(out, channels, path);
    }
    if (channels == 1) {
        if (c == 1) return img;
        if (c == 3) cv::cvtColor(img, out, cv::COLOR_BGR2GRAY);
        else if (c == 4) cv::cvtColor(img, out, cv::COLOR_BGRA2GRAY);
    } else {
        if (c == 1) cv::cvtColor(img, out, cv::COLOR_GRAY2RGB);
        else if (c == 3) cv::cvtColor(img, out, cv::COLOR_BGR2RGB);
        else if (c == 4) cv::cvtColor(img, out, cv::COLOR_BGRA2RGB);
    }
    if (out.empty()) {
        throw Error(path + ": unsupported number of channels " + std::to_string(c));
    }
    return out;
}

void appendImage(const fs::path& file, int64_t channels, int64_t height, int64_t width,
                 std::vector<uint8_t>& pixels) {
    const std::string path = file.string();
    cv::Mat img;
    try {
        img = cv::imread(path, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
        throw Error(path + ": cannot decode image (" + e.what() + ")");
    }
    if (img.empty() || img.rows <= 0 || img.cols <= 0) {
        throw Error(path + ": cannot read image (unreadable, corrupt or unsupported format)");
    }
    img = convertChannels(to8Bit(img, path), channels, path);
    if (img.rows != height || img.cols != width) {
        const bool shrink = height <= img.rows && width <= img.cols;
        cv::Mat resized;
        cv::resize(img, resized, cv::Size(static_cast<int>(width), static_cast<int>(height)), 0,
                   0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
        img = resized;
    }
    std::vector<cv::Mat> planes;
    cv::split(img, planes);
    for (const cv::Mat& plane : planes) {
        const cv::Mat dense = plane.isContinuous() ? plane : plane.clone();
        pixels.insert(pixels.end(), dense.ptr<uint8_t>(), dense.ptr<uint8_t>() + height * width);
    }
}

} // namespace

ImageSet readImageFolder(const std::string& dir, int64_t channels, int64_t height,
                         int64_t width, const std::string& name) {
    if (channels != 1 && channels != 3) {
        throw Error(dir + ": image channels must be 1 (gray) or 3 (RGB), got " +
                    std::to_string(channels));
    }
    if (height <= 0 || width <= 0 || height > kMaxSide || width > kMaxSide) {
        throw Error(dir + ": image size " + std::to_string(height) + "x" +
                    std::to_string(width) + " must be within 1.." + std::to_string(kMaxSide));
    }
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw Error(dir + ": image folder does not exist or is not a folder");

    const std::vector<fs::path> classDirs = sortedEntries(dir, true);
    if (classDirs.empty()) {
        throw Error(dir + ": no class subfolders (expected one folder of images per class)");
    }
    std::vector<std::vector<fs::path>> files;
    for (const fs::path& classDir : classDirs) {
        files.push_back(sortedEntries(classDir, false));
        if (files.back().empty()) {
            throw Error(classDir.string() +
                        ": class folder has no images (looked for png, jpg, jpeg, bmp, pgm, "
                        "ppm, tif, tiff, webp)");
        }
    }

    ImageSet set;
    set.name = name;
    set.channels = channels;
    set.height = height;
    set.width = width;
    std::size_t total = 0;
    for (const auto& f : files) total += f.size();
    set.pixels.reserve(total * static_cast<std::size_t>(channels * height * width));
    set.labels.reserve(total);
    for (std::size_t c = 0; c < classDirs.size(); ++c) {
        set.classNames.push_back(classDirs[c].filename().string());
        for (const fs::path& file : files[c]) {
            appendImage(file, channels, height, width, set.pixels);
            set.labels.push_back(static_cast<int64_t>(c));
        }
    }
    return set;
}

} // namespace exitscope::core
