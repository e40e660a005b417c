#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace exitscope::simulator {

/// One float32 tensor of a state: its shape and its elements, contiguous in
/// row-major order (values.size() is the product of the shape; a rank-0
/// tensor holds one value). Plain data, so the codec needs no LibTorch.
struct TensorData {
    std::vector<int64_t> shape;
    std::vector<float> values;
};

/// How encodeState stores each tensor (SPINN's communication optimiser).
///  - Lossless: the fp32 bytes, bit-exact after decoding.
///  - PerTensor8: 8-bit affine quantisation with one (scale, zero point)
///    per tensor.
///  - PerChannel8: one (scale, zero point) per channel, the channel being
///    dim 1 of a 4-D [n, c, h, w] tensor and dim 0 of any other rank
///    (a rank-0 tensor has a single channel).
/// Every mode then bit-shuffles the bytes and compresses them with LZ4
/// through c-blosc (one thread).
///
/// Quantisation: q = clamp(round(x / scale) + zeroPoint, 0, 255) and
/// x' = (q - zeroPoint) * scale, with scale = (max - min) / 255 over the
/// tensor or channel. When the range contains 0, the zero point is rounded
/// to an integer so that 0.0 decodes exactly (ReLU states are full of
/// zeros); otherwise it maps min to 0 exactly. A constant range (including
/// all zeros) is stored with scale 1 and zero point -c, so it decodes
/// exactly. |x - x'| <= scale / 2 up to float rounding (the scale is at
/// least FLT_MIN, so ranges that narrow get a coarser one). 8-bit modes reject
/// NaN and infinite values; Lossless keeps them. Zero-element tensors are
/// allowed and store no data block.
enum class CodecMode : uint8_t { Lossless = 0, PerTensor8 = 1, PerChannel8 = 2 };

/// What one encodeState call cost and saved.
struct EncodeStats {
    uint64_t rawBytes = 0;      ///< fp32 bytes of the state (4 per element)
    uint64_t encodedBytes = 0;  ///< size of the payload, header and checksum included
    double encodeMs = 0;        ///< wall time of the call
};

/// Encodes a state (a list of tensors) into a self-describing payload.
/// Layout, all integers and floats little-endian:
///   header   "XSCD" magic, u16 version (1), u8 mode (CodecMode), u8 0, u32 tensor count
///   per tensor: u8 dtype (0 = fp32, 1 = uint8 affine), u8 rank (<= 8), u16 0,
///            rank x i64 dims, u32 parameter count P (0 lossless, 1 per
///            tensor, channel count per channel), P x (f32 scale, f32 zero
///            point), u64 compressed length
///   blocks   the blosc buffers, in tensor order (none for a zero-element tensor)
///   trailer  u32 CRC-32 (zlib's) of every byte before it
/// Error when a tensor's values disagree with its shape, a value is not
/// finite in an 8-bit mode, or a tensor is too large for one blosc buffer.
std::vector<uint8_t> encodeState(const std::vector<TensorData>& state, CodecMode mode, EncodeStats* stats = nullptr);

/// The payload format version encodeState writes and decodeState accepts.
constexpr uint16_t kCodecVersion = 1;

/// Decodes a payload written by encodeState back into fp32 tensors
/// (dequantised in the 8-bit modes). Everything is validated before use:
/// size, magic, version, mode, checksum, counts, ranks, dtypes against the
/// mode, shape products against 64-bit overflow and against
/// `expectedShapes` (when given: one shape per tensor), quantisation
/// parameters, declared lengths against the payload size, and each blosc
/// buffer (blosc_cbuffer_validate, its declared sizes against the shape)
/// before it is decompressed with the bounds-checked blosc_decompress_ctx.
/// Nothing is allocated from a header value before it is checked: a blosc
/// buffer may expand at most 256 times (LZ4 cannot do better), so a lying
/// header cannot make the decoder allocate much more than the payload
/// justifies. Any problem is an Error naming it.
std::vector<TensorData> decodeState(const uint8_t* data, std::size_t size,
                                    const std::vector<std::vector<int64_t>>* expectedShapes = nullptr);

/// decodeState over a whole buffer.
inline std::vector<TensorData> decodeState(const std::vector<uint8_t>& payload,
                                           const std::vector<std::vector<int64_t>>* expectedShapes = nullptr) {
    return decodeState(payload.data(), payload.size(), expectedShapes);
}

} // namespace exitscope::simulator
