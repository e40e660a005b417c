#include "core/explain/overlay.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace exitscope::core {

namespace {

RgbImage fromBgr(const cv::Mat& bgr) {
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    RgbImage out;
    out.width = rgb.cols;
    out.height = rgb.rows;
    out.rgb.resize(static_cast<std::size_t>(rgb.cols * rgb.rows * 3));
    for (int y = 0; y < rgb.rows; ++y) std::copy_n(rgb.ptr<uint8_t>(y), rgb.cols * 3, out.rgb.data() + static_cast<std::size_t>(y) * rgb.cols * 3);
    return out;
}

cv::Mat toBgr(const RgbImage& img) {
    cv::Mat rgb(static_cast<int>(img.height), static_cast<int>(img.width), CV_8UC3, const_cast<uint8_t*>(img.rgb.data()));
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    return bgr;
}

} // namespace

RgbImage attentionOverlay(const uint8_t* pixels, int64_t C, int64_t H, int64_t W, const std::vector<float>& map,
                          int scale, double alpha) {
    if (C != 1 && C != 3) throw Error("an overlay needs a 1- or 3-channel image, not " + std::to_string(C));
    if (static_cast<int64_t>(map.size()) != H * W) throw Error("the attention map does not match the image's size");
    if (scale < 1 || scale > 64) throw Error("overlay scale " + std::to_string(scale) + " is not in 1..64");
    if (!(alpha >= 0 && alpha <= 1)) throw Error("overlay alpha must be in [0, 1]");
    cv::Mat image(static_cast<int>(H), static_cast<int>(W), CV_8UC3);
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
            for (int c = 0; c < 3; ++c) {
                // ImageSet channels are R, G, B; OpenCV wants B, G, R.
                const int64_t src = C == 1 ? 0 : 2 - c;
                image.ptr<uint8_t>(static_cast<int>(y))[x * 3 + c] = pixels[(src * H + y) * W + x];
            }
    cv::Mat heat(static_cast<int>(H), static_cast<int>(W), CV_32F);
    for (int64_t i = 0; i < H * W; ++i) heat.ptr<float>(0)[i] = std::clamp(std::isfinite(map[static_cast<std::size_t>(i)]) ? map[static_cast<std::size_t>(i)] : 0.0f, 0.0f, 1.0f);
    const cv::Size big(static_cast<int>(W) * scale, static_cast<int>(H) * scale);
    cv::Mat imageBig, heatBig, heat8, colour, out;
    cv::resize(image, imageBig, big, 0, 0, cv::INTER_NEAREST);
    cv::resize(heat, heatBig, big, 0, 0, cv::INTER_LINEAR);
    heatBig.convertTo(heat8, CV_8U, 255.0);
    cv::applyColorMap(heat8, colour, cv::COLORMAP_JET);
    cv::addWeighted(colour, alpha, imageBig, 1.0 - alpha, 0.0, out);
    return fromBgr(out);
}

RgbImage montage(const std::vector<RgbImage>& tiles, const std::vector<std::string>& captions) {
    if (tiles.empty()) throw Error("a montage needs at least one picture");
    const int gap = 8, band = 40;
    int width = gap, height = 0;
    for (const auto& t : tiles) {
        width += static_cast<int>(t.width) + gap;
        height = std::max(height, static_cast<int>(t.height));
    }
    cv::Mat canvas(height + band + 2 * gap, width, CV_8UC3, cv::Scalar(48, 48, 48));
    int x = gap;
    for (std::size_t i = 0; i < tiles.size(); ++i) {
        const cv::Mat tile = toBgr(tiles[i]);
        tile.copyTo(canvas(cv::Rect(x, gap, tile.cols, tile.rows)));
        if (i < captions.size()) {
            // Two lines at most: the text up to the first newline, then the rest.
            const std::string& text = captions[i];
            const auto nl = text.find('\n');
            const std::string lines[2] = {text.substr(0, nl), nl == std::string::npos ? std::string() : text.substr(nl + 1)};
            for (int l = 0; l < 2; ++l)
                cv::putText(canvas, lines[l], cv::Point(x, gap + height + 16 + 16 * l), cv::FONT_HERSHEY_SIMPLEX, 0.42,
                            cv::Scalar(240, 240, 240), 1, cv::LINE_AA);
        }
        x += tile.cols + gap;
    }
    return fromBgr(canvas);
}

void writePng(const RgbImage& image, const std::string& path) {
    std::vector<uint8_t> bytes;
    if (!cv::imencode(".png", toBgr(image), bytes)) throw Error(path + ": the picture cannot be encoded as PNG");
    writeFileAtomically(path, [&](std::ostream& out) {
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    });
}

} // namespace exitscope::core
