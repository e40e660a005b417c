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
#include <fstream>
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

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
// the rule the JSON writer of checkpoints and traces applies to class names.
bool isValidUtf8(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        uint32_t cp = 0, min = 0;
        if (b < 0x80) {
            ++i;
            continue;
        }
        if ((b & 0xE0) == 0xC0) n = 1, cp = b & 0x1F, min = 0x80;
        else if ((b & 0xF0) == 0xE0) n = 2, cp = b & 0x0F, min = 0x800;
        else if ((b & 0xF8) == 0xF0) n = 3, cp = b & 0x07, min = 0x10000;
        else return false;
        if (i + n >= s.size()) return false;  // truncated sequence
        for (std::size_t k = 1; k <= n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) return false;
            cp = cp << 6 | (c & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
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

// OpenCV allocates the whole image a header declares before it reads a
// single pixel, so a 69-byte PNG declaring 30000 x 30000 pixels costs 2.7 GB
// (found with fuzz_image); its own cap, 2^30 pixels, is fixed when the
// library loads. The declared size is therefore checked here first for the
// formats whose header says it plainly. 2^26 pixels is 8192 x 8192, far above
// any image a data set of small networks' inputs holds.
constexpr uint64_t kMaxPixels = uint64_t{1} << 26;
constexpr std::size_t kHeadBytes = 256 * 1024;  // JPEG APPn segments before the frame header

uint32_t be16(const uint8_t* p) { return uint32_t{p[0]} << 8 | p[1]; }
uint32_t be32(const uint8_t* p) { return be16(p) << 16 | be16(p + 2); }
uint32_t le16(const uint8_t* p) { return uint32_t{p[1]} << 8 | p[0]; }
uint32_t le24(const uint8_t* p) { return uint32_t{p[2]} << 16 | le16(p); }
uint32_t le32(const uint8_t* p) { return uint32_t{p[3]} << 24 | le24(p); }

bool pnmSize(const std::vector<uint8_t>& h, uint64_t& w, uint64_t& ht) {
    std::size_t i = 2;
    uint64_t v[2] = {0, 0};
    for (uint64_t& out : v) {
        while (i < h.size() && (std::isspace(h[i]) || h[i] == '#')) {
            if (h[i] == '#') {
                while (i < h.size() && h[i] != '\n') ++i;
            } else {
                ++i;
            }
        }
        std::size_t digits = 0;
        for (; i < h.size() && std::isdigit(h[i]); ++i, ++digits) {
            out = std::min<uint64_t>(out * 10 + (h[i] - '0'), uint64_t{1} << 32);  // saturates: no overflow
        }
        if (digits == 0) return false;
    }
    w = v[0];
    ht = v[1];
    return true;
}

bool jpegSize(const std::vector<uint8_t>& h, uint64_t& w, uint64_t& ht) {
    std::size_t i = 2;
    while (i + 9 <= h.size()) {
        if (h[i] != 0xFF) return false;
        const uint8_t m = h[i + 1];
        if (m == 0xFF) {  // fill byte
            ++i;
            continue;
        }
        if ((m >= 0xD0 && m <= 0xD8) || m == 0x01) {  // markers without a length
            i += 2;
            continue;
        }
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {  // start of frame
            ht = be16(&h[i + 5]);
            w = be16(&h[i + 7]);
            return true;
        }
        i += 2 + be16(&h[i + 2]);
    }
    return false;
}

// ImageWidth (256) and ImageLength (257) from the first IFD of a classic
// TIFF; the IFD may lie anywhere in the file (often after the pixels).
bool tiffSize(const std::vector<uint8_t>& h, std::ifstream& in, uint64_t& w, uint64_t& ht) {
    const bool little = h[0] == 'I';
    auto u16 = [&](const uint8_t* p) { return little ? le16(p) : be16(p); };
    auto u32 = [&](const uint8_t* p) { return little ? le32(p) : be32(p); };
    if (u16(&h[2]) != 42) return false;  // BigTIFF (43) is not accepted
    std::vector<uint8_t> ifd(2);
    in.clear();
    in.seekg(static_cast<std::streamoff>(u32(&h[4])));
    if (!in.read(reinterpret_cast<char*>(ifd.data()), 2)) return false;
    const std::size_t n = std::min<std::size_t>(u16(ifd.data()), 4096);
    ifd.resize(2 + 12 * n);
    in.read(reinterpret_cast<char*>(ifd.data() + 2), static_cast<std::streamsize>(12 * n));
    const std::size_t entries = static_cast<std::size_t>(in.gcount()) / 12;
    bool haveW = false, haveH = false;
    for (std::size_t e = 0; e < entries; ++e) {
        const uint8_t* at = ifd.data() + 2 + 12 * e;
        const uint32_t tag = u16(at), type = u16(at + 2);
        if (type != 3 && type != 4) continue;
        const uint64_t value = type == 3 ? u16(at + 8) : u32(at + 8);
        if (tag == 256) w = value, haveW = true;
        if (tag == 257) ht = value, haveH = true;
    }
    return haveW && haveH;
}

// The width and height a file's header declares, for PNG, BMP, PNM, JPEG,
// TIFF and WebP; false when the header is none of these or states no size.
bool declaredSize(const std::vector<uint8_t>& h, std::ifstream& in, uint64_t& w, uint64_t& ht) {
    const auto starts = [&](const char* magic, std::size_t at = 0) {
        const std::size_t n = std::strlen(magic);
        return h.size() >= at + n && std::memcmp(h.data() + at, magic, n) == 0;
    };
    if (h.size() >= 24 && starts("\x89PNG\r\n\x1a\n")) {
        w = be32(&h[16]), ht = be32(&h[20]);
        return true;
    }
    if (h.size() >= 26 && starts("BM")) {
        if (le32(&h[14]) == 12) {
            w = le16(&h[18]), ht = le16(&h[20]);
        } else {
            const auto sw = static_cast<int32_t>(le32(&h[18])), sh = static_cast<int32_t>(le32(&h[22]));
            w = sw < 0 ? 0 - static_cast<uint64_t>(sw) : static_cast<uint64_t>(sw);
            ht = sh < 0 ? 0 - static_cast<uint64_t>(sh) : static_cast<uint64_t>(sh);
        }
        return true;
    }
    if (h.size() >= 3 && h[0] == 'P' && h[1] >= '1' && h[1] <= '6') return pnmSize(h, w, ht);
    if (h.size() >= 4 && h[0] == 0xFF && h[1] == 0xD8) return jpegSize(h, w, ht);
    if (h.size() >= 8 && (starts("II") || starts("MM"))) return tiffSize(h, in, w, ht);
    if (h.size() >= 30 && starts("RIFF") && starts("WEBP", 8)) {
        if (starts("VP8 ", 12)) {
            w = le16(&h[26]) & 0x3FFF, ht = le16(&h[28]) & 0x3FFF;
            return true;
        }
        if (starts("VP8L", 12)) {
            const uint32_t bits = le32(&h[21]);
            w = (bits & 0x3FFF) + 1, ht = ((bits >> 14) & 0x3FFF) + 1;
            return true;
        }
        if (starts("VP8X", 12)) {
            w = uint64_t{le24(&h[24])} + 1, ht = uint64_t{le24(&h[27])} + 1;
            return true;
        }
    }
    return false;
}

// OpenCV decodes by content, not by name, and also knows formats whose
// header this reader does not check (JPEG 2000, OpenEXR, Radiance HDR, PAM,
// Sun raster, ...; a 42-byte PPM whose size OpenCV reads more leniently
// cost 2.7 GB), so a file whose size cannot be read here is refused.
void checkDeclaredSize(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    // Sized by the file: a data set of 10,000 small images otherwise zero-fills
    // 10,000 buffers of 256 KiB.
    std::error_code ec;
    const auto fileSize = fs::file_size(path, ec);
    std::vector<uint8_t> head(ec ? kHeadBytes : static_cast<std::size_t>(std::min<uintmax_t>(fileSize, kHeadBytes)));
    in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    uint64_t w = 0, h = 0;
    if (!declaredSize(head, in, w, h)) {
        throw Error(path + ": cannot read image (not a PNG, JPEG, BMP, PGM/PPM, TIFF or WebP file whose "
                           "header states its size)");
    }
    if (w * h > kMaxPixels) {  // both at most 2^32: no overflow
        throw Error(path + ": image declares " + std::to_string(w) + "x" + std::to_string(h) +
                    " pixels, more than the limit of " + std::to_string(kMaxPixels) + " (8192x8192)");
    }
}

void appendImage(const fs::path& file, int64_t channels, int64_t height, int64_t width,
                 std::vector<uint8_t>& pixels) {
    const std::string path = file.string();
    checkDeclaredSize(path);
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
        // A name that is not UTF-8 (a folder made under a Latin-1 locale)
        // would only fail when the checkpoint or trace is written, after
        // training or profiling; refuse it before any work instead.
        if (!isValidUtf8(classDir.filename().string())) {
            throw Error(classDir.string() +
                        ": class folder name is not valid UTF-8 (class names are stored as UTF-8 in "
                        "checkpoints and traces); rename the folder");
        }
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
