#include "core/common/error.h"
#include "simulator/codec/codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <string>

using exitscope::core::Error;
using exitscope::simulator::CodecMode;
using exitscope::simulator::decodeState;
using exitscope::simulator::encodeState;
using exitscope::simulator::EncodeStats;
using exitscope::simulator::TensorData;

namespace {

using Bytes = std::vector<uint8_t>;
using Span = std::pair<float, float>;
constexpr CodecMode kAllModes[] = {CodecMode::Lossless, CodecMode::PerTensor8, CodecMode::PerChannel8};
constexpr CodecMode kQuantModes[] = {CodecMode::PerTensor8, CodecMode::PerChannel8};

// Bitwise CRC-32 (IEEE, reflected, as zlib), written from the definition so
// the tests do not trust the codec's own checksum code.
uint32_t referenceCrc32(const uint8_t* p, std::size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

// Rewrites the trailer so that a deliberately edited payload passes the
// checksum and reaches the checks behind it.
void reseal(Bytes& b) {
    const uint32_t c = referenceCrc32(b.data(), b.size() - 4);
    for (int k = 0; k < 4; ++k) b[b.size() - 4 + k] = static_cast<uint8_t>(c >> (8 * k));
}

void putLe(Bytes& b, std::size_t at, uint64_t v, int bytes) {
    for (int k = 0; k < bytes; ++k) b[at + k] = static_cast<uint8_t>(v >> (8 * k));
}

TensorData randomTensor(std::vector<int64_t> shape, float lo, float hi, uint32_t seed) {
    TensorData t{std::move(shape), {}};
    std::size_t n = 1;
    for (auto d : t.shape) n *= static_cast<std::size_t>(d);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(lo, hi);
    for (std::size_t i = 0; i < n; ++i) t.values.push_back(u(rng));
    return t;
}

// Half exact zeros, the rest small positive values, like a ReLU output.
TensorData reluLike(std::vector<int64_t> shape, uint32_t seed) {
    TensorData t = randomTensor(std::move(shape), 0.0f, 1.0f, seed);
    std::mt19937 rng(seed + 1);
    std::exponential_distribution<float> e(4.0f);
    for (auto& v : t.values) v = v < 0.5f ? 0.0f : e(rng);
    return t;
}

float maxAbsError(const std::vector<float>& a, const std::vector<float>& b, std::size_t from = 0,
                  std::size_t count = std::numeric_limits<std::size_t>::max()) {
    float m = 0;
    for (std::size_t i = from; i < a.size() && i - from < count; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

// Half a quantisation step over [lo, hi] (the documented scale), plus float rounding.
float halfStep(float lo, float hi) {
    const float range = std::max(hi, 0.0f) - std::min(lo, 0.0f);
    return (hi - lo) / 255.0f / 2.0f + 4 * std::numeric_limits<float>::epsilon() * range;
}

void expectError(const Bytes& b, const std::string& fragment,
                 const std::vector<std::vector<int64_t>>* expected = nullptr) {
    try {
        decodeState(b, expected);
        ADD_FAILURE() << "accepted; expected an error mentioning '" << fragment << "'";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

// A small two-tensor payload; the descriptor offsets below follow the
// documented layout: 12-byte header, then dtype, rank, 2 reserved, dims, P, params, length.
std::vector<TensorData> smallState() { return {randomTensor({2, 3}, -1.0f, 2.0f, 7), reluLike({1, 2, 3, 3}, 8)}; }
constexpr std::size_t kT0 = 12;                  // tensor 0 descriptor (rank 2, P = 1 per tensor)
constexpr std::size_t kT0Dims = kT0 + 4;         // two i64 dims
constexpr std::size_t kT0Params = kT0Dims + 16;  // u32 P
constexpr std::size_t kT0Scale = kT0Params + 4;
constexpr std::size_t kT0Length = kT0Scale + 8;
constexpr std::size_t kT1 = kT0Length + 8;

// Where smallState()'s data blocks begin: each descriptor is 4 + 8 * rank + 4 + 8 * P + 8
// bytes, with P = 0 (lossless), 1 (per tensor) or the channel count (2 for both tensors).
std::size_t blocksStart(CodecMode mode) {
    const std::size_t p = mode == CodecMode::Lossless ? 0 : mode == CodecMode::PerTensor8 ? 1 : 2;
    return 12 + (4 + 16 + 4 + 8 * p + 8) + (4 + 32 + 4 + 8 * p + 8);
}

} // namespace

TEST(Codec, ReferenceCrcIsTheStandardCrc32AndSealsPayloads) {
    const char* check = "123456789";
    EXPECT_EQ(referenceCrc32(reinterpret_cast<const uint8_t*>(check), 9), 0xCBF43926u);
    const Bytes b = encodeState(smallState(), CodecMode::PerTensor8);
    Bytes copy = b;
    reseal(copy);
    EXPECT_EQ(copy, b);
    EXPECT_EQ(std::memcmp(b.data(), "XSCD", 4), 0);
}

TEST(Codec, LosslessRoundTripIsBitExact) {
    TensorData t = randomTensor({3, 4, 5}, -1e6f, 1e6f, 1);
    t.values[0] = std::numeric_limits<float>::quiet_NaN();
    t.values[1] = -std::numeric_limits<float>::infinity();
    t.values[2] = -0.0f;
    t.values[3] = std::numeric_limits<float>::denorm_min();
    const auto out = decodeState(encodeState({t}, CodecMode::Lossless));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape, t.shape);
    ASSERT_EQ(out[0].values.size(), t.values.size());
    EXPECT_EQ(std::memcmp(out[0].values.data(), t.values.data(), 4 * t.values.size()), 0);
}

TEST(Codec, HandComputedQuantisation) {
    // Range [-1, 3]: scale 4/255, zero point round(255/4) = 64; q(x) = round(x*255/4) + 64.
    // 40 values, so that both the vector loop and the scalar tail are covered.
    const float pattern[] = {-1.0f, 0.0f, 1.0f, 3.0f, 0.5f};
    TensorData t{{40}, {}};
    for (int i = 0; i < 40; ++i) t.values.push_back(pattern[i % 5]);
    const auto out = decodeState(encodeState({t}, CodecMode::PerTensor8));
    const float s = 4.0f / 255.0f;
    const float expected[] = {(0 - 64) * s, 0.0f, (128 - 64) * s, (255 - 64) * s, (96 - 64) * s};
    for (int i = 0; i < 40; ++i) EXPECT_NEAR(out[0].values[i], expected[i % 5], 1e-6f) << i;
    for (int i = 1; i < 40; i += 5) EXPECT_EQ(out[0].values[i], 0.0f);
    // Range [0, 2.55] without negatives: scale 0.01, zero point 0.
    const TensorData u{{4}, {0.0f, 0.5f, 1.234f, 2.55f}};
    const auto v = decodeState(encodeState({u}, CodecMode::PerTensor8));
    const float expectedU[] = {0.0f, 0.5f, 1.23f, 2.55f};
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(v[0].values[i], expectedU[i], 1e-5f) << i;
}

TEST(Codec, EightBitErrorIsAtMostHalfAStep) {
    for (auto [lo, hi] :
         std::vector<Span>{{-3.0f, 5.0f}, {0.0f, 1.0f}, {100.0f, 101.0f}, {-7.5f, -2.0f}, {-1e-30f, 1e-30f}}) {
        const TensorData t = randomTensor({4, 3, 8, 8}, lo, hi, 3);
        const float tmin = *std::min_element(t.values.begin(), t.values.end());
        const float tmax = *std::max_element(t.values.begin(), t.values.end());
        const auto out = decodeState(encodeState({t}, CodecMode::PerTensor8));
        EXPECT_LE(maxAbsError(t.values, out[0].values), halfStep(tmin, tmax)) << lo << ".." << hi;
        const std::set<float> distinct(out[0].values.begin(), out[0].values.end());
        EXPECT_LE(distinct.size(), 256u);
    }
}

TEST(Codec, PerChannelBeatsPerTensorOnUnequalChannels) {
    // [n, c, h, w] with channel c in [0, 10^(c-2)]: each channel within half of its own step.
    TensorData t{{2, 5, 4, 4}, {}};
    std::mt19937 rng(5);
    for (int n = 0; n < 2; ++n)
        for (int c = 0; c < 5; ++c)
            for (int i = 0; i < 16; ++i)
                t.values.push_back(std::uniform_real_distribution<float>(0.0f, std::pow(10.0f, c - 2.0f))(rng));
    const auto perChannel = decodeState(encodeState({t}, CodecMode::PerChannel8))[0].values;
    const auto perTensor = decodeState(encodeState({t}, CodecMode::PerTensor8))[0].values;
    for (int c = 0; c < 5; ++c) {
        float lo = 1e30f, hi = -1e30f, errC = 0, errT = 0;
        for (int n = 0; n < 2; ++n) {
            const std::size_t at = static_cast<std::size_t>((n * 5 + c) * 16);
            for (std::size_t i = at; i < at + 16; ++i) lo = std::min(lo, t.values[i]), hi = std::max(hi, t.values[i]);
            errC = std::max(errC, maxAbsError(t.values, perChannel, at, 16));
            errT = std::max(errT, maxAbsError(t.values, perTensor, at, 16));
        }
        EXPECT_LE(errC, halfStep(lo, hi)) << "channel " << c;
        if (c < 3) {
            EXPECT_GT(errT, 10 * errC) << "channel " << c;
        }
    }
}

TEST(Codec, PerChannelUsesDimZeroBelowFourDims) {
    // Rows of [3, 6] have ranges 1, 100, 10000: each row within its own half step.
    TensorData t{{3, 6}, {0, .2f, .4f, .6f, .8f, 1, 0, 20, 40, 60, 80, 100, 0, 2e3f, 4e3f, 6e3f, 8e3f, 1e4f}};
    t.values[1] = 0.123f;
    const auto out = decodeState(encodeState({t}, CodecMode::PerChannel8))[0].values;
    EXPECT_LE(maxAbsError(t.values, out, 0, 6), halfStep(0, 1));
    EXPECT_LE(maxAbsError(t.values, out, 6, 6), halfStep(0, 100));
    EXPECT_LE(maxAbsError(t.values, out, 12, 6), halfStep(0, 1e4f));
    EXPECT_GT(maxAbsError(t.values, decodeState(encodeState({t}, CodecMode::PerTensor8))[0].values, 0, 6),
              halfStep(0, 1));
}

TEST(Codec, ExactZerosSurvive) {
    for (auto [lo, hi] : std::vector<Span>{{0.0f, 3.0f}, {-0.37f, 2.11f}, {-5.0f, 0.01f}, {-2.0f, 0.0f}}) {
        TensorData t = randomTensor({2, 4, 6, 6}, lo, hi, 11);
        for (std::size_t i = 0; i < t.values.size(); i += 3) t.values[i] = 0.0f;
        for (CodecMode mode : kQuantModes) {
            const auto out = decodeState(encodeState({t}, mode))[0].values;
            for (std::size_t i = 0; i < t.values.size(); i += 3)
                ASSERT_EQ(out[i], 0.0f) << lo << ".." << hi << " at " << i;
        }
    }
}

TEST(Codec, ConstantTensorsDecodeExactly) {
    for (float c : {0.0f, 3.25f, -7.0f, 1e-38f, 3e38f}) {
        const TensorData t{{2, 3, 2, 2}, std::vector<float>(24, c)};
        for (CodecMode mode : kAllModes) {
            const auto out = decodeState(encodeState({t}, mode))[0].values;
            for (float v : out) ASSERT_EQ(v, c) << "constant " << c;
        }
    }
}

TEST(Codec, EmptyAndScalarTensorsRoundTrip) {
    // Zero-element tensors keep their shape and carry no data; a rank-0 tensor holds one value.
    const std::vector<TensorData> state = {{{0, 3}, {}}, {{}, {2.5f}}, {{2, 0, 4, 4}, {}}, {{1}, {-4.0f}}};
    for (CodecMode mode : kAllModes) {
        const auto out = decodeState(encodeState(state, mode));
        ASSERT_EQ(out.size(), 4u);
        for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(out[i].shape, state[i].shape);
        EXPECT_TRUE(out[0].values.empty());
        EXPECT_TRUE(out[2].values.empty());
        EXPECT_EQ(out[1].values, std::vector<float>{2.5f});
        EXPECT_EQ(out[3].values, std::vector<float>{-4.0f});
    }
    EXPECT_TRUE(decodeState(encodeState({}, CodecMode::PerTensor8)).empty());
}

TEST(Codec, MultiScaleStateRoundTrips) {
    const std::vector<TensorData> state = {reluLike({8, 16, 28, 28}, 21), reluLike({8, 32, 14, 14}, 22),
                                           reluLike({8, 64, 7, 7}, 23)};
    const std::vector<std::vector<int64_t>> shapes = {{8, 16, 28, 28}, {8, 32, 14, 14}, {8, 64, 7, 7}};
    for (CodecMode mode : kAllModes) {
        const auto out = decodeState(encodeState(state, mode), &shapes);
        ASSERT_EQ(out.size(), 3u);
        for (std::size_t i = 0; i < 3; ++i) {
            EXPECT_EQ(out[i].shape, shapes[i]);
            const float hi = *std::max_element(state[i].values.begin(), state[i].values.end());
            EXPECT_LE(maxAbsError(state[i].values, out[i].values), mode == CodecMode::Lossless ? 0 : halfStep(0, hi));
        }
    }
}

TEST(Codec, ReluLikeTensorCompressesAtLeastFourTimes) {
    const TensorData t = reluLike({16, 32, 28, 28}, 31);
    for (CodecMode mode : kQuantModes) {
        EncodeStats stats;
        const Bytes b = encodeState({t}, mode, &stats);
        EXPECT_EQ(stats.rawBytes, 4u * 16 * 32 * 28 * 28);
        EXPECT_EQ(stats.encodedBytes, b.size());
        EXPECT_GE(stats.encodeMs, 0.0);
        EXPECT_GE(static_cast<double>(stats.rawBytes) / static_cast<double>(b.size()), 4.0);
    }
}

TEST(Codec, HighlyCompressibleTensorStaysWithinTheExpansionCap) {
    // All zeros is LZ4's best case; the decoder's allocation cap must still admit it.
    const TensorData t{{1 << 21}, std::vector<float>(1 << 21, 0.0f)};
    for (CodecMode mode : kAllModes) {
        const auto out = decodeState(encodeState({t}, mode));
        ASSERT_EQ(out[0].values.size(), t.values.size());
        EXPECT_EQ(out[0].values[12345], 0.0f);
    }
}

TEST(Codec, EncodeRejectsBadInput) {
    using State = std::vector<TensorData>;
    EXPECT_THROW(encodeState(State{TensorData{{2, 3}, std::vector<float>(5)}}, CodecMode::Lossless), Error);
    EXPECT_THROW(encodeState(State{TensorData{{-1, 3}, {}}}, CodecMode::Lossless), Error);
    EXPECT_THROW(encodeState(State{TensorData{{1, 1, 1, 1, 1, 1, 1, 1, 1}, {1.0f}}}, CodecMode::Lossless), Error);
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()})
        for (CodecMode mode : kQuantModes)
            EXPECT_THROW(encodeState(State{TensorData{{3}, {1.0f, bad, 2.0f}}}, mode), Error);
    EXPECT_THROW(encodeState(State{}, static_cast<CodecMode>(9)), Error);
}

TEST(Codec, EveryTruncationIsAnError) {
    for (CodecMode mode : kAllModes) {
        const Bytes b = encodeState(smallState(), mode);
        for (std::size_t n = 0; n < b.size(); ++n) EXPECT_THROW(decodeState(b.data(), n), Error) << n;
        EXPECT_THROW(decodeState(nullptr, 0), Error);
    }
}

TEST(Codec, EveryBitFlipIsAnError) {
    const Bytes b = encodeState(smallState(), CodecMode::PerChannel8);
    for (std::size_t i = 0; i < b.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            Bytes c = b;
            c[i] ^= static_cast<uint8_t>(1u << bit);
            EXPECT_THROW(decodeState(c), Error) << "byte " << i << " bit " << bit;
        }
    Bytes c = b;
    c[kT0Scale] ^= 1;
    expectError(c, "checksum");
}

TEST(Codec, HeaderLiesAreRejected) {
    const Bytes good = encodeState(smallState(), CodecMode::PerTensor8);
    auto lie = [&](const std::function<void(Bytes&)>& edit, const std::string& fragment) {
        Bytes b = good;
        edit(b);
        reseal(b);
        expectError(b, fragment);
    };
    lie([](Bytes& b) { b[0] = 'Y'; }, "magic");
    lie([](Bytes& b) { putLe(b, 4, 2, 2); }, "version 2");
    lie([](Bytes& b) { b[6] = 3; }, "mode");
    lie([](Bytes& b) { b[6] = 0; }, "dtype");
    lie([](Bytes& b) { b[7] = 1; }, "reserved");
    lie([](Bytes& b) { putLe(b, 8, 3, 4); }, "");
    lie([](Bytes& b) { putLe(b, 8, 1, 4); }, "unexplained bytes");
    lie([](Bytes& b) { putLe(b, 8, 0xFFFFFFFFu, 4); }, "4294967295 tensors");
    lie([](Bytes& b) { b[kT0 + 1] = 9; }, "rank 9");
    lie([](Bytes& b) { putLe(b, kT0Dims, 3, 8); }, "blosc buffer holds 6 bytes");
    lie([](Bytes& b) { putLe(b, kT0Dims, 1, 8); }, "blosc buffer holds 6 bytes");
    lie([](Bytes& b) { putLe(b, kT0Dims, 1ull << 40, 8); }, "larger than one blosc buffer");
    lie([](Bytes& b) { putLe(b, kT0Dims, 1ull << 20, 8); }, "cannot come from");
    lie([](Bytes& b) { putLe(b, kT0Dims, 1ull << 63, 8); }, "negative");
    lie([](Bytes& b) { putLe(b, kT0Dims, 1ull << 32, 8), putLe(b, kT0Dims + 8, 1ull << 32, 8); }, "overflows 64 bits");
    lie([](Bytes& b) { putLe(b, kT0Params, 2, 4); }, "2 quantisation parameters");
    lie([](Bytes& b) { putLe(b, kT0Params, 0xFFFFFFFFu, 4); }, "quantisation parameters");
    lie([](Bytes& b) { putLe(b, kT0Scale, 0, 4); }, "invalid quantisation");
    lie([](Bytes& b) { putLe(b, kT0Scale, 0x7FC00000u, 4); }, "invalid quantisation");  // NaN
    lie([](Bytes& b) { putLe(b, kT0Scale, 0xBF800000u, 4); }, "invalid quantisation");  // -1
    lie([](Bytes& b) { putLe(b, kT0Length, b[kT0Length] + 1, 1); }, "");
    lie([](Bytes& b) { putLe(b, kT0Length, 8, 8); }, "shorter than a blosc header");
    lie([](Bytes& b) { putLe(b, kT0Length, 1ull << 40, 8); }, "remain");
    lie([](Bytes& b) { putLe(b, kT0Length, ~0ull, 8); }, "remain");
    lie([](Bytes& b) { b.insert(b.end() - 4, 0); }, "unexplained bytes");
    lie([](Bytes& b) { b[kT1] = 0; }, "dtype");
    // Moving bytes between the two declared lengths keeps the total right but not the blocks.
    lie(
        [](Bytes& b) {
            putLe(b, kT0Length, b[kT0Length] + 2, 1);
            const std::size_t t1Length = kT1 + 4 + 32 + 4 + 8;
            putLe(b, t1Length, b[t1Length] - 2, 1);
        },
        "codec payload: tensor");
}

TEST(Codec, WrongExpectedShapesAreRejected) {
    const Bytes b = encodeState(smallState(), CodecMode::Lossless);
    const std::vector<std::vector<int64_t>> right = {{2, 3}, {1, 2, 3, 3}};
    EXPECT_EQ(decodeState(b, &right).size(), 2u);
    const std::vector<std::vector<int64_t>> wrongShape = {{3, 2}, {1, 2, 3, 3}};
    expectError(b, "tensor 0 has shape [2, 3], expected [3, 2]", &wrongShape);
    const std::vector<std::vector<int64_t>> wrongCount = {{2, 3}};
    expectError(b, "holds 2 tensors, expected 1", &wrongCount);
}

TEST(Codec, CorruptBlocksBehindAValidChecksumNeverCrash) {
    // Every byte of the blosc blocks corrupted, checksum repaired: blosc's own
    // validation must either reject it or decode something of the declared shape.
    for (CodecMode mode : kAllModes) {
        const Bytes good = encodeState(smallState(), mode);
        for (std::size_t i = blocksStart(mode); i + 4 < good.size(); ++i) {
            Bytes b = good;
            b[i] ^= 0xA5;
            reseal(b);
            try {
                const auto out = decodeState(b);
                ASSERT_EQ(out.size(), 2u);
                EXPECT_EQ(out[1].values.size(), 18u);
            } catch (const Error&) {
            }
        }
    }
}
