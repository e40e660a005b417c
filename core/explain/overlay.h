#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// An RGB picture, 3 bytes a pixel, row by row.
struct RgbImage {
    int64_t width = 0, height = 0;
    std::vector<uint8_t> rgb;
};

/// An image (channels x height x width bytes, the ImageSet layout; 1 or 3
/// channels) with an attention map ([height * width] in [0, 1]) laid over it
/// in OpenCV's JET colours (blue low, red high), `alpha` of the colour over
/// the image, both scaled up `scale` times (nearest for the image's pixels,
/// bilinear for the map). The CLI's PNGs and the app's overlays are both this.
RgbImage attentionOverlay(const uint8_t* pixels, int64_t channels, int64_t height, int64_t width,
                          const std::vector<float>& map, int scale = 8, double alpha = 0.45);

/// Pictures side by side with a caption under each (white on dark grey).
RgbImage montage(const std::vector<RgbImage>& tiles, const std::vector<std::string>& captions);

/// Writes a PNG, to a temporary name renamed into place; Error naming the
/// file when it cannot be written.
void writePng(const RgbImage& image, const std::string& path);

} // namespace exitscope::core
