#pragma once
// PNG files for the reader tests, written with zlib alone so that the
// tests do not depend on the OpenCV they check.

#include <zlib.h>

#include <cstdint>
#include <vector>

namespace exitscope::test {

/// Appends `v` big-endian, as PNG (and IDX) store numbers.
inline void putBigEndian32(std::vector<uint8_t>& b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

/// A PNG whose IHDR declares width x height at `depth` bits and `colour`
/// type, and whose IDAT is `rows` (each row its filter byte, then its
/// pixels) compressed; every chunk carries its correct CRC. The rows need
/// not match the declared size, so a test can make a header that lies.
inline std::vector<uint8_t> pngFile(uint32_t width, uint32_t height, uint8_t depth, uint8_t colour,
                                    const std::vector<uint8_t>& rows) {
    std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    auto chunk = [&](const char* type, const std::vector<uint8_t>& data) {
        putBigEndian32(png, static_cast<uint32_t>(data.size()));
        const std::size_t start = png.size();
        png.insert(png.end(), type, type + 4);
        png.insert(png.end(), data.begin(), data.end());
        putBigEndian32(png, static_cast<uint32_t>(crc32(0, png.data() + start, static_cast<uInt>(png.size() - start))));
    };
    std::vector<uint8_t> ihdr;
    putBigEndian32(ihdr, width), putBigEndian32(ihdr, height);
    ihdr.insert(ihdr.end(), {depth, colour, 0, 0, 0});
    uLongf size = compressBound(static_cast<uLong>(rows.size()));
    std::vector<uint8_t> z(size);
    compress(z.data(), &size, rows.data(), static_cast<uLong>(rows.size()));
    z.resize(size);
    chunk("IHDR", ihdr), chunk("IDAT", z), chunk("IEND", {});
    return png;
}

} // namespace exitscope::test
