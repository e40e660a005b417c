#include "simulator/codec/codec.h"

#include "core/common/error.h"

#include <blosc.h>
#include <zlib.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>
#include <string>

namespace exitscope::simulator {
namespace {

constexpr uint8_t kMagic[4] = {'X', 'S', 'C', 'D'};
constexpr std::size_t kFixedHeader = 12;    // magic, version, mode, reserved, tensor count
constexpr std::size_t kTrailer = 4;         // CRC-32
constexpr std::size_t kMinDescriptor = 16;  // dtype, rank, reserved, parameter count, length
constexpr uint8_t kMaxRank = 8;
constexpr uint8_t kDtypeF32 = 0;
constexpr uint8_t kDtypeU8 = 1;
// LZ4 emits at least one byte per 255 input bytes of a match, so no honest
// blosc buffer expands further than this; it bounds what a lie can allocate.
constexpr uint64_t kMaxExpansion = 256;
constexpr int kClevel = 5;

[[noreturn]] void fail(const std::string& what) { throw core::Error(what); }

std::string shapeText(const std::vector<int64_t>& shape) {
    std::ostringstream os;
    os << '[';
    for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
    os << ']';
    return os.str();
}

std::string tensorName(std::size_t i) { return "tensor " + std::to_string(i); }

// Elements of a shape, or false when a dim is negative or the product overflows 64 bits.
bool elementCount(const std::vector<int64_t>& shape, uint64_t& n) {
    n = 1;
    for (int64_t d : shape) {
        if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n) ||
            n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return false;
    }
    return true;
}

// The tensor viewed as [outer, channels, inner]; parameters are per channel.
struct Layout {
    uint64_t outer = 1, channels = 1, inner = 1;
};

Layout layoutFor(const std::vector<int64_t>& shape, uint64_t n, CodecMode mode) {
    Layout l;
    l.inner = n;
    if (mode != CodecMode::PerChannel8 || shape.empty() || n == 0) return l;
    const std::size_t dim = shape.size() == 4 ? 1 : 0;
    l.channels = static_cast<uint64_t>(shape[dim]);
    l.outer = dim == 1 ? static_cast<uint64_t>(shape[0]) : 1;
    l.inner = n / (l.outer * l.channels);
    return l;
}

struct Affine {
    float scale = 1.0f, zeroPoint = 0.0f;
};

struct Range {
    float lo = std::numeric_limits<float>::infinity();
    float hi = -std::numeric_limits<float>::infinity();
    bool nan = false;
};

void scanRange(const float* x, std::size_t n, Range& r) {
    std::size_t i = 0;
#if defined(__SSE2__)
    // The scalar loop is a serial min/max chain that GCC will not vectorise
    // without -ffast-math; this is the encoder's hottest pass.
    __m128 lo = _mm_set1_ps(r.lo), hi = _mm_set1_ps(r.hi), lo2 = lo, hi2 = hi, bad = _mm_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        const __m128 a = _mm_loadu_ps(x + i), b = _mm_loadu_ps(x + i + 4);
        lo = _mm_min_ps(lo, a);
        hi = _mm_max_ps(hi, a);
        lo2 = _mm_min_ps(lo2, b);
        hi2 = _mm_max_ps(hi2, b);
        bad = _mm_or_ps(bad, _mm_or_ps(_mm_cmpunord_ps(a, a), _mm_cmpunord_ps(b, b)));
    }
    alignas(16) float l[4], h[4];
    _mm_store_ps(l, _mm_min_ps(lo, lo2));
    _mm_store_ps(h, _mm_max_ps(hi, hi2));
    for (int k = 0; k < 4; ++k) r.lo = std::min(r.lo, l[k]), r.hi = std::max(r.hi, h[k]);
    r.nan = r.nan || _mm_movemask_ps(bad) != 0;
#endif
    for (; i < n; ++i) {
        const float v = x[i];
        if (v != v) r.nan = true;
        r.lo = std::min(r.lo, v);
        r.hi = std::max(r.hi, v);
    }
}

// The encoder's side of one channel: v = (x - offset) * inverse + base,
// arranged so that 0.0 lands exactly on the integer zero point when the
// range contains it, and min lands exactly on 0 when it does not.
struct QuantPlan {
    Affine stored;
    float offset = 0, inverse = 1, base = 0;
};

QuantPlan planFor(float lo, float hi) {
    QuantPlan p;
    if (lo == hi) {
        p.stored = {1.0f, -lo};
        p.offset = lo;
        return p;
    }
    const double range = static_cast<double>(hi) - static_cast<double>(lo);
    // A larger scale keeps 1/scale finite for ranges near the smallest floats.
    const float scale = std::max(static_cast<float>(range / 255.0), std::numeric_limits<float>::min());
    p.inverse = static_cast<float>(1.0 / static_cast<double>(scale));
    if (lo <= 0.0f && hi >= 0.0f) {
        const double zp = std::clamp(std::round(-static_cast<double>(lo) / scale), 0.0, 255.0);
        p.stored = {scale, static_cast<float>(zp)};
        p.base = static_cast<float>(zp);
    } else {
        p.stored = {scale, static_cast<float>(-static_cast<double>(lo) / scale)};
        p.offset = lo;
    }
    return p;
}

void quantise(const float* x, std::size_t n, const QuantPlan& p, uint8_t* q) {
    const float offset = p.offset, inverse = p.inverse, base = p.base;
    std::size_t i = 0;
#if defined(__SSE2__)
    // GCC keeps the clamp as branches without -ffinite-math-only; the same
    // operations in the same order as the scalar tail, so results agree.
    const __m128 off = _mm_set1_ps(offset), inv = _mm_set1_ps(inverse), b = _mm_set1_ps(base);
    const __m128 zero = _mm_setzero_ps(), top = _mm_set1_ps(255.0f), half = _mm_set1_ps(0.5f);
    auto four = [&](std::size_t at) {
        __m128 v = _mm_add_ps(_mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(x + at), off), inv), b);
        v = _mm_min_ps(_mm_max_ps(v, zero), top);
        return _mm_cvttps_epi32(_mm_add_ps(v, half));
    };
    for (; i + 16 <= n; i += 16) {
        const __m128i lo = _mm_packs_epi32(four(i), four(i + 4)), hi = _mm_packs_epi32(four(i + 8), four(i + 12));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm_packus_epi16(lo, hi));
    }
#endif
    for (; i < n; ++i) {
        float v = (x[i] - offset) * inverse + base;
        v = std::min(std::max(v, 0.0f), 255.0f);
        q[i] = static_cast<uint8_t>(static_cast<int32_t>(v + 0.5f));
    }
}

void dequantise(const uint8_t* q, std::size_t n, Affine a, float* x) {
    const float zp = a.zeroPoint, scale = a.scale;
    for (std::size_t i = 0; i < n; ++i) x[i] = (static_cast<float>(q[i]) - zp) * scale;
}

void putLe(std::vector<uint8_t>& out, uint64_t v, int bytes) {
    for (int b = 0; b < bytes; ++b) out.push_back(static_cast<uint8_t>(v >> (8 * b)));
}
void putF32(std::vector<uint8_t>& out, float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    putLe(out, bits, 4);
}
uint64_t readLe(const uint8_t* p, int bytes) {
    uint64_t v = 0;
    for (int b = 0; b < bytes; ++b) v |= static_cast<uint64_t>(p[b]) << (8 * b);
    return v;
}

uint32_t crc32Of(const uint8_t* data, std::size_t size) {
    return static_cast<uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), data, size));
}

// Bounds-checked little-endian reads over the descriptor area; messages
// name the tensor being read.
class Reader {
public:
    Reader(const uint8_t* data, std::size_t begin, std::size_t end) : m_data(data), m_pos(begin), m_end(end) {}
    void setTensor(std::size_t i) { m_tensor = i; }
    uint64_t get(int bytes, const char* what) {
        if (m_end - m_pos < static_cast<std::size_t>(bytes))
            fail("codec payload: truncated while reading " + tensorName(m_tensor) + " " + what + " (at byte " +
                 std::to_string(m_pos) + ")");
        const uint64_t v = readLe(m_data + m_pos, bytes);
        m_pos += static_cast<std::size_t>(bytes);
        return v;
    }
    float getF32(const char* what) {
        const auto bits = static_cast<uint32_t>(get(4, what));
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
    std::size_t position() const { return m_pos; }
    std::size_t remaining() const { return m_end - m_pos; }

private:
    const uint8_t* m_data;
    std::size_t m_pos, m_end, m_tensor = 0;
};

struct Descriptor {
    std::vector<int64_t> shape;
    uint64_t elements = 0, blockBytes = 0, compressedBytes = 0;
    Layout layout;
    std::vector<Affine> params;
};

Descriptor readDescriptor(Reader& r, std::size_t i, CodecMode mode, const std::vector<int64_t>* expected) {
    const std::string name = "codec payload: " + tensorName(i);
    r.setTensor(i);
    Descriptor d;
    const auto dtype = static_cast<uint8_t>(r.get(1, "dtype"));
    const auto rank = static_cast<uint8_t>(r.get(1, "rank"));
    if (r.get(2, "reserved field") != 0) fail(name + ": reserved field is not zero");
    const uint8_t wantDtype = mode == CodecMode::Lossless ? kDtypeF32 : kDtypeU8;
    if (dtype != wantDtype)
        fail(name + ": dtype " + std::to_string(dtype) + " does not match the payload's mode (expected " +
             std::to_string(wantDtype) + ")");
    if (rank > kMaxRank) fail(name + ": rank " + std::to_string(rank) + " exceeds the maximum of 8");
    for (uint8_t k = 0; k < rank; ++k) {
        const uint64_t dim = r.get(8, "shape");
        if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            fail(name + ": dim " + std::to_string(k) + " is negative");
        d.shape.push_back(static_cast<int64_t>(dim));
    }
    if (!elementCount(d.shape, d.elements)) fail(name + ": shape " + shapeText(d.shape) + " overflows 64 bits");
    if (expected && *expected != d.shape)
        fail(name + " has shape " + shapeText(d.shape) + ", expected " + shapeText(*expected));
    const uint64_t elementBytes = wantDtype == kDtypeF32 ? 4 : 1;
    if (d.elements > static_cast<uint64_t>(BLOSC_MAX_BUFFERSIZE) / elementBytes)
        fail(name + ": shape " + shapeText(d.shape) + " is larger than one blosc buffer can hold");
    d.blockBytes = d.elements * elementBytes;

    d.layout = layoutFor(d.shape, d.elements, mode);
    const uint64_t wantParams = d.elements == 0 || mode == CodecMode::Lossless ? 0 : d.layout.channels;
    const uint64_t params = r.get(4, "parameter count");
    if (params != wantParams)
        fail(name + ": " + std::to_string(params) + " quantisation parameters declared, shape " + shapeText(d.shape) +
             " needs " + std::to_string(wantParams));
    if (params > r.remaining() / 8) fail(name + ": truncated in its quantisation parameters");
    d.params.resize(params);
    for (auto& a : d.params) {
        a.scale = r.getF32("scale");
        a.zeroPoint = r.getF32("zero point");
        if (!std::isfinite(a.scale) || a.scale <= 0.0f || !std::isfinite(a.zeroPoint))
            fail(name + ": invalid quantisation parameters (scale " + std::to_string(a.scale) + ", zero point " +
                 std::to_string(a.zeroPoint) + ")");
    }
    d.compressedBytes = r.get(8, "compressed length");
    if (d.elements == 0) {
        if (d.compressedBytes != 0) fail(name + ": has no elements but declares a data block");
    } else if (d.compressedBytes < BLOSC_MIN_HEADER_LENGTH) {
        fail(name + ": compressed length " + std::to_string(d.compressedBytes) + " is shorter than a blosc header");
    } else if (d.blockBytes / kMaxExpansion > d.compressedBytes) {
        fail(name + ": shape " + shapeText(d.shape) + " cannot come from " + std::to_string(d.compressedBytes) +
             " compressed bytes");
    }
    return d;
}

void decompressBlock(const uint8_t* block, const Descriptor& d, std::size_t i, std::size_t typesize, void* dest) {
    const std::string name = "codec payload: " + tensorName(i);
    std::size_t nbytes = 0, cbytes = 0, blocksize = 0;
    if (blosc_cbuffer_validate(block, d.compressedBytes, &nbytes) != 0)
        fail(name + ": data block is not a valid blosc buffer");
    blosc_cbuffer_sizes(block, &nbytes, &cbytes, &blocksize);
    if (nbytes != d.blockBytes)
        fail(name + ": blosc buffer holds " + std::to_string(nbytes) + " bytes, shape " + shapeText(d.shape) +
             " needs " + std::to_string(d.blockBytes));
    if (cbytes != d.compressedBytes)
        fail(name + ": declares " + std::to_string(d.compressedBytes) + " compressed bytes, its blosc buffer " +
             std::to_string(cbytes));
    std::size_t blockTypesize = 0;
    int flags = 0;
    blosc_cbuffer_metainfo(block, &blockTypesize, &flags);
    if (blockTypesize != typesize) fail(name + ": blosc buffer has the wrong element size");
    const int got = blosc_decompress_ctx(block, dest, d.blockBytes, 1);
    if (got < 0 || static_cast<uint64_t>(got) != d.blockBytes) fail(name + ": blosc buffer is corrupt");
}

} // namespace

std::vector<uint8_t> encodeState(const std::vector<TensorData>& state, CodecMode mode, EncodeStats* stats) {
    const auto t0 = std::chrono::steady_clock::now();
    if (mode != CodecMode::Lossless && mode != CodecMode::PerTensor8 && mode != CodecMode::PerChannel8)
        fail("codec: unknown mode " + std::to_string(static_cast<int>(mode)));
    if (state.size() > std::numeric_limits<uint32_t>::max()) fail("codec: too many tensors in one state");
    const bool lossless = mode == CodecMode::Lossless;

    uint64_t rawBytes = 0, reserveBytes = kFixedHeader + kTrailer, largest = 0;
    for (std::size_t i = 0; i < state.size(); ++i) {
        const TensorData& t = state[i];
        uint64_t n = 0;
        if (t.shape.size() > kMaxRank)
            fail("codec: " + tensorName(i) + " has rank " + std::to_string(t.shape.size()) + ", at most 8 supported");
        if (!elementCount(t.shape, n)) fail("codec: " + tensorName(i) + " has invalid shape " + shapeText(t.shape));
        if (n != t.values.size())
            fail("codec: " + tensorName(i) + " has " + std::to_string(t.values.size()) + " values, shape " +
                 shapeText(t.shape) + " needs " + std::to_string(n));
        const uint64_t bytes = n * (lossless ? 4 : 1);
        if (bytes > static_cast<uint64_t>(BLOSC_MAX_BUFFERSIZE))
            fail("codec: " + tensorName(i) + " " + shapeText(t.shape) + " is larger than one blosc buffer can hold");
        rawBytes += 4 * n;
        largest = std::max(largest, n);
        reserveBytes +=
            kMinDescriptor + 8 * t.shape.size() + 8 * layoutFor(t.shape, n, mode).channels + bytes + BLOSC_MAX_OVERHEAD;
    }

    std::vector<uint8_t> out;
    out.reserve(reserveBytes);
    for (uint8_t c : kMagic) out.push_back(c);
    putLe(out, kCodecVersion, 2);
    out.push_back(static_cast<uint8_t>(mode));
    out.push_back(0);
    putLe(out, state.size(), 4);

    // Descriptors first, with each compressed length patched in once known.
    std::vector<std::size_t> lengthAt(state.size());
    std::vector<std::vector<QuantPlan>> plans(state.size());
    for (std::size_t i = 0; i < state.size(); ++i) {
        const TensorData& t = state[i];
        const uint64_t n = t.values.size();
        const Layout l = layoutFor(t.shape, n, mode);
        out.push_back(lossless ? kDtypeF32 : kDtypeU8);
        out.push_back(static_cast<uint8_t>(t.shape.size()));
        putLe(out, 0, 2);
        for (int64_t d : t.shape) putLe(out, static_cast<uint64_t>(d), 8);
        if (!lossless && n > 0) {
            if (l.channels > std::numeric_limits<uint32_t>::max())
                fail("codec: " + tensorName(i) + " has too many channels");
            for (uint64_t c = 0; c < l.channels; ++c) {
                Range r;
                for (uint64_t o = 0; o < l.outer; ++o)
                    scanRange(t.values.data() + (o * l.channels + c) * l.inner, l.inner, r);
                if (r.nan || !std::isfinite(r.lo) || !std::isfinite(r.hi))
                    fail("codec: " + tensorName(i) + " holds NaN or infinite values, which 8-bit modes cannot encode");
                plans[i].push_back(planFor(r.lo, r.hi));
            }
        }
        putLe(out, plans[i].size(), 4);
        for (const QuantPlan& p : plans[i]) putF32(out, p.stored.scale), putF32(out, p.stored.zeroPoint);
        lengthAt[i] = out.size();
        putLe(out, 0, 8);
    }

    std::unique_ptr<uint8_t[]> scratch(lossless ? nullptr : new uint8_t[largest]);
    for (std::size_t i = 0; i < state.size(); ++i) {
        const TensorData& t = state[i];
        const std::size_t n = t.values.size();
        if (n == 0) continue;
        const void* src = t.values.data();
        if (!lossless) {
            const Layout l = layoutFor(t.shape, n, mode);
            for (uint64_t o = 0; o < l.outer; ++o)
                for (uint64_t c = 0; c < l.channels; ++c) {
                    const uint64_t at = (o * l.channels + c) * l.inner;
                    quantise(t.values.data() + at, l.inner, plans[i][c], scratch.get() + at);
                }
            src = scratch.get();
        }
        const std::size_t typesize = lossless ? 4 : 1, bytes = n * typesize, at = out.size();
        out.resize(at + bytes + BLOSC_MAX_OVERHEAD);
        // The _ctx entry points need no blosc_init() and share no global state between threads.
        const int written = blosc_compress_ctx(kClevel, BLOSC_BITSHUFFLE, typesize, bytes, src, out.data() + at,
                                               bytes + BLOSC_MAX_OVERHEAD, "lz4", 0, 1);
        if (written <= 0) fail("codec: blosc could not compress " + tensorName(i));
        out.resize(at + static_cast<std::size_t>(written));
        for (int b = 0; b < 8; ++b)
            out[lengthAt[i] + b] = static_cast<uint8_t>(static_cast<uint64_t>(written) >> (8 * b));
    }
    putLe(out, crc32Of(out.data(), out.size()), 4);

    if (stats) {
        stats->rawBytes = rawBytes;
        stats->encodedBytes = out.size();
        stats->encodeMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    return out;
}

std::vector<TensorData> decodeState(const uint8_t* data, std::size_t size,
                                    const std::vector<std::vector<int64_t>>* expectedShapes) {
    if (size < kFixedHeader + kTrailer || data == nullptr)
        fail("codec payload: " + std::to_string(size) + " bytes is shorter than the smallest payload (16 bytes)");
    if (std::memcmp(data, kMagic, 4) != 0) fail("codec payload: bad magic (not an ExitScope codec payload)");
    const auto version = static_cast<uint16_t>(readLe(data + 4, 2));
    if (version != kCodecVersion)
        fail("codec payload: version " + std::to_string(version) + " is not supported (this build reads " +
             std::to_string(kCodecVersion) + ")");
    const auto stored = static_cast<uint32_t>(readLe(data + size - kTrailer, 4));
    if (stored != crc32Of(data, size - kTrailer)) fail("codec payload: checksum mismatch (payload corrupted)");
    const uint8_t modeByte = data[6];
    if (modeByte > static_cast<uint8_t>(CodecMode::PerChannel8))
        fail("codec payload: unknown mode " + std::to_string(modeByte));
    if (data[7] != 0) fail("codec payload: reserved header byte is not zero");
    const auto mode = static_cast<CodecMode>(modeByte);
    const uint64_t count = readLe(data + 8, 4);
    const std::size_t end = size - kTrailer;
    if (count > (end - kFixedHeader) / kMinDescriptor)
        fail("codec payload: declares " + std::to_string(count) + " tensors, more than its " + std::to_string(size) +
             " bytes can describe");
    if (expectedShapes && expectedShapes->size() != count)
        fail("codec payload: holds " + std::to_string(count) + " tensors, expected " +
             std::to_string(expectedShapes->size()));

    Reader r(data, kFixedHeader, end);
    std::vector<Descriptor> descriptors;
    descriptors.reserve(count);
    uint64_t largest = 0;
    for (std::size_t i = 0; i < count; ++i) {
        descriptors.push_back(readDescriptor(r, i, mode, expectedShapes ? &(*expectedShapes)[i] : nullptr));
        largest = std::max(largest, descriptors.back().blockBytes);
    }
    uint64_t left = r.remaining();
    for (std::size_t i = 0; i < count; ++i) {
        if (descriptors[i].compressedBytes > left)
            fail("codec payload: " + tensorName(i) + " declares " + std::to_string(descriptors[i].compressedBytes) +
                 " compressed bytes, only " + std::to_string(left) + " remain");
        left -= descriptors[i].compressedBytes;
    }
    if (left != 0) fail("codec payload: " + std::to_string(left) + " unexplained bytes after the data blocks");

    const bool lossless = mode == CodecMode::Lossless;
    std::unique_ptr<uint8_t[]> scratch(lossless ? nullptr : new uint8_t[largest]);
    std::vector<TensorData> out(count);
    const uint8_t* block = data + r.position();
    for (std::size_t i = 0; i < count; ++i) {
        const Descriptor& d = descriptors[i];
        TensorData& t = out[i];
        t.shape = d.shape;
        if (d.elements == 0) continue;
        if (lossless) {
            std::vector<float> values(d.elements);
            decompressBlock(block, d, i, 4, values.data());
            t.values = std::move(values);
        } else {
            decompressBlock(block, d, i, 1, scratch.get());
            t.values.resize(d.elements);
            const Layout& l = d.layout;
            for (uint64_t o = 0; o < l.outer; ++o)
                for (uint64_t c = 0; c < l.channels; ++c) {
                    const uint64_t at = (o * l.channels + c) * l.inner;
                    dequantise(scratch.get() + at, l.inner, d.params[c], t.values.data() + at);
                }
        }
        block += d.compressedBytes;
    }
    return out;
}

} // namespace exitscope::simulator
