#include "core/data/corruption.h"

#include "core/common/error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <random>

namespace exitscope::core {

namespace {

// Severity 1..5 of each kind, as corruptionParameter documents.
constexpr double kNoiseSigma[] = {0.04, 0.08, 0.12, 0.18, 0.26};   // of the [0, 1] range
constexpr double kBlurSigma[] = {0.5, 0.75, 1.0, 1.5, 2.0};        // pixels
constexpr double kBrightness[] = {0.1, 0.2, 0.3, 0.4, 0.5};        // added, of the [0, 1] range
constexpr double kContrast[] = {0.4, 0.3, 0.2, 0.1, 0.05};         // factor around the image mean
constexpr double kJpegQuality[] = {25, 18, 15, 10, 7};
constexpr double kPixelate[] = {0.6, 0.5, 0.4, 0.3, 0.25};         // downscale factor
constexpr double kRotateDegrees[] = {6, 12, 18, 24, 30};

uint8_t clampByte(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

// SplitMix64 of the seed and the key: independent streams per image.
uint64_t mix(uint64_t seed, int64_t key) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(key) + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// The image as an OpenCV matrix (height x width, `channels` interleaved) and back.
cv::Mat toMat(const uint8_t* p, int64_t C, int64_t H, int64_t W) {
    cv::Mat m(static_cast<int>(H), static_cast<int>(W), CV_8UC(static_cast<int>(C)));
    for (int64_t c = 0; c < C; ++c)
        for (int64_t y = 0; y < H; ++y)
            for (int64_t x = 0; x < W; ++x) m.ptr<uint8_t>(static_cast<int>(y))[x * C + c] = p[(c * H + y) * W + x];
    return m;
}

void fromMat(const cv::Mat& m, uint8_t* p, int64_t C, int64_t H, int64_t W) {
    for (int64_t c = 0; c < C; ++c)
        for (int64_t y = 0; y < H; ++y)
            for (int64_t x = 0; x < W; ++x) p[(c * H + y) * W + x] = m.ptr<uint8_t>(static_cast<int>(y))[x * C + c];
}

} // namespace

const std::vector<std::string>& corruptionNames() {
    static const std::vector<std::string> names{"gaussian-noise", "blur", "brightness", "contrast", "jpeg", "pixelate",
                                                "rotate"};
    return names;
}

Corruption parseCorruption(const std::string& text, uint64_t seed) {
    std::string known;
    for (const auto& n : corruptionNames()) known += (known.empty() ? "" : ", ") + n;
    const auto colon = text.find(':');
    const std::string name = text.substr(0, colon);
    const auto& names = corruptionNames();
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end())
        throw Error("--corrupt: '" + name + "' is not a corruption (" + known + "; give NAME:SEVERITY)");
    const std::string sev = colon == std::string::npos ? std::string() : text.substr(colon + 1);
    if (sev.size() != 1 || sev[0] < '1' || sev[0] > '5')
        throw Error("--corrupt: '" + text + "': the severity after ':' must be 1..5");
    Corruption c;
    c.kind = static_cast<CorruptionKind>(it - names.begin());
    c.severity = sev[0] - '0';
    c.seed = seed;
    return c;
}

std::string toString(const Corruption& c) {
    return corruptionNames().at(static_cast<std::size_t>(c.kind)) + ":" + std::to_string(c.severity);
}

double corruptionParameter(CorruptionKind kind, int severity) {
    if (severity < 1 || severity > 5) throw Error("corruption severity " + std::to_string(severity) + " is not in 1..5");
    const auto s = static_cast<std::size_t>(severity - 1);
    switch (kind) {
    case CorruptionKind::GaussianNoise: return kNoiseSigma[s];
    case CorruptionKind::Blur: return kBlurSigma[s];
    case CorruptionKind::Brightness: return kBrightness[s];
    case CorruptionKind::Contrast: return kContrast[s];
    case CorruptionKind::Jpeg: return kJpegQuality[s];
    case CorruptionKind::Pixelate: return kPixelate[s];
    case CorruptionKind::Rotate: return kRotateDegrees[s];
    }
    return 0;
}

void corruptImage(uint8_t* pixels, int64_t C, int64_t H, int64_t W, const Corruption& c, int64_t sampleKey) {
    const double p = corruptionParameter(c.kind, c.severity);
    const int64_t n = C * H * W;
    std::mt19937_64 rng(mix(c.seed, sampleKey));
    switch (c.kind) {
    case CorruptionKind::GaussianNoise: {
        std::normal_distribution<double> noise(0.0, p * 255.0);
        for (int64_t i = 0; i < n; ++i) pixels[i] = clampByte(pixels[i] + noise(rng));
        return;
    }
    case CorruptionKind::Brightness:
        for (int64_t i = 0; i < n; ++i) pixels[i] = clampByte(pixels[i] + p * 255.0);
        return;
    case CorruptionKind::Contrast:
        for (int64_t ch = 0; ch < C; ++ch) {
            uint8_t* q = pixels + ch * H * W;
            double mean = 0;
            for (int64_t i = 0; i < H * W; ++i) mean += q[i];
            mean /= static_cast<double>(H * W);
            for (int64_t i = 0; i < H * W; ++i) q[i] = clampByte((q[i] - mean) * p + mean);
        }
        return;
    default: break;
    }
    cv::Mat m = toMat(pixels, C, H, W), out;
    switch (c.kind) {
    case CorruptionKind::Blur: cv::GaussianBlur(m, out, cv::Size(0, 0), p, p, cv::BORDER_REFLECT); break;
    case CorruptionKind::Jpeg: {
        std::vector<uint8_t> bytes;
        cv::imencode(".jpg", m, bytes, {cv::IMWRITE_JPEG_QUALITY, static_cast<int>(p)});
        out = cv::imdecode(bytes, C == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
        break;
    }
    case CorruptionKind::Pixelate: {
        cv::Mat small;
        const int w = std::max(1, static_cast<int>(std::lround(static_cast<double>(W) * p)));
        const int h = std::max(1, static_cast<int>(std::lround(static_cast<double>(H) * p)));
        cv::resize(m, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
        cv::resize(small, out, m.size(), 0, 0, cv::INTER_NEAREST);
        break;
    }
    case CorruptionKind::Rotate: {
        // The direction is random per image (seeded); the angle is the severity's.
        const double angle = (rng() & 1) ? p : -p;
        const cv::Point2f centre(static_cast<float>(W - 1) / 2.0f, static_cast<float>(H - 1) / 2.0f);
        cv::warpAffine(m, out, cv::getRotationMatrix2D(centre, angle, 1.0), m.size(), cv::INTER_LINEAR,
                       cv::BORDER_CONSTANT, cv::Scalar::all(0));
        break;
    }
    default: return;
    }
    if (out.channels() != static_cast<int>(C) || out.rows != static_cast<int>(H) || out.cols != static_cast<int>(W))
        throw Error("corruption " + toString(c) + " changed the image's shape");
    fromMat(out, pixels, C, H, W);
}

void corruptImages(ImageSet& images, const std::vector<int64_t>& indices, const Corruption& c) {
    for (int64_t i : indices) {
        if (i < 0 || static_cast<std::size_t>(i) >= images.size())
            throw Error(images.name + ": image " + std::to_string(i) + " is out of range");
        corruptImage(images.pixels.data() + static_cast<std::size_t>(i) * images.imageBytes(), images.channels,
                     images.height, images.width, c, i);
    }
}

} // namespace exitscope::core
