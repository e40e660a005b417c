#include "core/data/idx_reader.h"

#include "core/common/error.h"
#include "core/data/gzip.h"

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace exitscope::core {

namespace {

// Far above any real IDX data set (MNIST's images are 47 MB), low enough that
// a gzip bomb fails before exhausting memory.
constexpr uint64_t kMaxIdxBytes = uint64_t{4} << 30;
constexpr uint8_t kUint8Type = 0x08;

uint32_t readBigEndian32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

std::string hex32(uint32_t v) {
    std::ostringstream s;
    s << "0x" << std::hex;
    s.width(8);
    s.fill('0');
    s << v;
    return s.str();
}

std::string typeName(uint8_t code) {
    switch (code) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown type " + hex32(code);
    }
}

struct IdxHeader {
    std::vector<uint64_t> dims;
    std::size_t dataOffset = 0;
};

// Checks everything the header claims against the bytes actually present, so
// a forged header fails here instead of driving a huge allocation later.
IdxHeader parseHeader(const std::vector<uint8_t>& bytes, const std::string& path,
                      std::size_t wantDims, const char* what) {
    const uint32_t expectedMagic = (uint32_t{kUint8Type} << 8) | static_cast<uint32_t>(wantDims);
    if (bytes.size() < 4) {
        throw Error(path + ": truncated IDX header (" + std::to_string(bytes.size()) +
                    " bytes, expected at least 4)");
    }
    const uint32_t magic = readBigEndian32(bytes.data());
    if (bytes[0] != 0 || bytes[1] != 0) {
        throw Error(path + ": not an IDX file (magic " + hex32(magic) + ", expected " +
                    hex32(expectedMagic) + " for " + what + ")");
    }
    if (bytes[2] != kUint8Type) {
        throw Error(path + ": IDX data type " + typeName(bytes[2]) +
                    " is not supported (magic " + hex32(magic) + ", expected " +
                    hex32(expectedMagic) + " for " + what + ")");
    }
    if (bytes[3] != wantDims) {
        throw Error(path + ": IDX file has " + std::to_string(bytes[3]) +
                    " dimensions, expected " + std::to_string(wantDims) + " for " + what +
                    " (magic " + hex32(magic) + ", expected " + hex32(expectedMagic) + ")");
    }
    IdxHeader h;
    h.dataOffset = 4 + 4 * wantDims;
    if (bytes.size() < h.dataOffset) {
        throw Error(path + ": truncated IDX header (" + std::to_string(bytes.size()) +
                    " bytes, expected " + std::to_string(h.dataOffset) + ")");
    }
    uint64_t product = 1;
    std::string shape;
    for (std::size_t i = 0; i < wantDims; ++i) {
        const uint64_t d = readBigEndian32(bytes.data() + 4 + 4 * i);
        shape += (i ? " x " : "") + std::to_string(d);
        if (d == 0) throw Error(path + ": IDX dimension " + std::to_string(i) + " is zero");
        h.dims.push_back(d);
    }
    for (uint64_t d : h.dims) {
        if (product > UINT64_MAX / d) {
            throw Error(path + ": IDX dimensions " + shape + " overflow 64 bits");
        }
        product *= d;
    }
    const uint64_t actual = bytes.size() - h.dataOffset;
    if (product != actual) {
        throw Error(path + ": IDX header declares " + shape + " = " + std::to_string(product) +
                    " bytes of data but the file holds " + std::to_string(actual) +
                    (product > actual ? " (truncated file?)" : " (trailing data?)"));
    }
    return h;
}

} // namespace

ImageSet readIdx(const std::string& imagesPath, const std::string& labelsPath,
                 std::vector<std::string> classNames, const std::string& name) {
    if (classNames.empty()) throw Error(imagesPath + ": no class names given for " + name);

    std::vector<uint8_t> labelBytes = readMaybeGzipped(labelsPath, kMaxIdxBytes);
    const IdxHeader lh = parseHeader(labelBytes, labelsPath, 1, "uint8 labels with 1 dimension");
    std::vector<uint8_t> imageBytes = readMaybeGzipped(imagesPath, kMaxIdxBytes);
    const IdxHeader ih =
        parseHeader(imageBytes, imagesPath, 3, "uint8 images with 3 dimensions");

    if (ih.dims[0] != lh.dims[0]) {
        throw Error(imagesPath + ": holds " + std::to_string(ih.dims[0]) + " images but " +
                    labelsPath + " holds " + std::to_string(lh.dims[0]) + " labels");
    }
    ImageSet set;
    set.name = name;
    set.channels = 1;
    set.height = static_cast<int64_t>(ih.dims[1]);
    set.width = static_cast<int64_t>(ih.dims[2]);
    set.labels.reserve(lh.dims[0]);
    for (std::size_t i = 0; i < lh.dims[0]; ++i) {
        const uint8_t label = labelBytes[lh.dataOffset + i];
        if (label >= classNames.size()) {
            throw Error(labelsPath + ": label " + std::to_string(label) + " of image " +
                        std::to_string(i) + " is out of range for " +
                        std::to_string(classNames.size()) + " classes");
        }
        set.labels.push_back(label);
    }
    // Dropping the header in place avoids holding a second copy of the pixels.
    imageBytes.erase(imageBytes.begin(),
                     imageBytes.begin() + static_cast<std::ptrdiff_t>(ih.dataOffset));
    set.pixels = std::move(imageBytes);
    set.classNames = std::move(classNames);
    return set;
}

} // namespace exitscope::core
