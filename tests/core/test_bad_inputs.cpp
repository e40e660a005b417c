// The bad-input matrix for the files core reads: traces, tuned configs, IDX
// and CIFAR-10 (docs/reliability.md lists which cells older tests cover).
// Every case must end in a core::Error naming the file and the problem,
// quickly and without an allocation the file cannot justify.
#include "core/config/tuned_config.h"
#include "core/data/cifar_reader.h"
#include "core/data/idx_reader.h"
#include "core/data/image_folder.h"
#include "core/trace/safetensors.h"
#include "core/trace/trace.h"
#include "tests/core/png_writer.h"
#include "tests/core/test_bad_inputs.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>

EXITSCOPE_ALLOCATION_PROBE()

namespace {

using namespace exitscope::core;
using exitscope::testing::BadInput;
using exitscope::testing::bitFlips;
using exitscope::testing::bytesOf;
using exitscope::testing::caseName;
using exitscope::testing::expectCleanError;
using exitscope::testing::flipped;
using exitscope::testing::truncations;
using Bytes = std::vector<uint8_t>;

// The probe behind the matrix's allocation limit sees what std::vector asks for.
TEST(AllocationProbe, SeesTheLargestVectorAllocation) {
    exitscope::testing::AllocationProbe::largest() = 0;
    exitscope::testing::AllocationProbe::enabled() = true;
    {
        std::vector<uint8_t> small(1000), large(10 << 20);
        small[0] = large[0] = 1;
    }
    exitscope::testing::AllocationProbe::enabled() = false;
    EXPECT_EQ(exitscope::testing::AllocationProbe::largest().load(), std::size_t{10 << 20});
}

// ---- Traces ------------------------------------------------------------------

// 2 samples, 2 exits, 3 classes, 2 blocks; probabilities 1/2, 1/4, 1/4.
Trace smallTrace() {
    Trace t;
    t.numSamples = 2; t.numExits = 2; t.numClasses = 3; t.numBlocks = 2;
    for (int i = 0; i < 4; ++i) t.probs.insert(t.probs.end(), {0.5f, 0.25f, 0.25f});
    t.labels = {0, 2};
    t.sampleIndex = {0, 1};
    t.exitMacs = {100, 200}; t.exitParams = {10, 20}; t.exitMs = {1.0f, 2.0f}; t.exitBlock = {0, 1};
    t.blockMacs = {90, 90}; t.blockParams = {9, 9}; t.blockMs = {0.5f, 0.5f};
    t.blockOutBytes = {64, 64}; t.blockRelu = {1, 0};
    t.headMacs = {10, 10}; t.headParams = {1, 1}; t.headMs = {0.1f, 0.1f};
    t.metadata = {{"model", "msdnet"}, {"weights_hash", "abc"}};
    return t;
}

struct Tensor {
    DType dtype;
    std::vector<int64_t> shape;
    Bytes bytes;
};
using Tensors = std::map<std::string, Tensor>;

template <typename T>
Tensor tensor(DType dtype, std::vector<int64_t> shape, const std::vector<T>& v) {
    Bytes b(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
    return {dtype, std::move(shape), std::move(b)};
}

// The trace's tensors as writeTrace lays them out, open to edits that
// writeTrace's validation would refuse.
Tensors traceTensors(const Trace& t) {
    const int64_t N = t.numSamples, K = t.numExits, C = t.numClasses, B = t.numBlocks;
    return {
        {"probs", tensor(DType::F32, {N, K, C}, t.probs)},
        {"labels", tensor(DType::I64, {N}, t.labels)},
        {"sample_index", tensor(DType::I64, {N}, t.sampleIndex)},
        {"exit_macs", tensor(DType::I64, {K}, t.exitMacs)},
        {"exit_params", tensor(DType::I64, {K}, t.exitParams)},
        {"exit_ms", tensor(DType::F32, {K}, t.exitMs)},
        {"exit_block", tensor(DType::I64, {K}, t.exitBlock)},
        {"block_macs", tensor(DType::I64, {B}, t.blockMacs)},
        {"block_params", tensor(DType::I64, {B}, t.blockParams)},
        {"block_ms", tensor(DType::F32, {B}, t.blockMs)},
        {"block_out_bytes", tensor(DType::I64, {B}, t.blockOutBytes)},
        {"block_relu", tensor(DType::U8, {B}, t.blockRelu)},
        {"head_macs", tensor(DType::I64, {K}, t.headMacs)},
        {"head_params", tensor(DType::I64, {K}, t.headParams)},
        {"head_ms", tensor(DType::F32, {K}, t.headMs)},
    };
}

Bytes traceFile(const Tensors& tensors) {
    SafeTensorsWriter w;
    for (const auto& [name, t] : tensors) w.addTensor(name, t.dtype, t.shape, t.bytes.data(), t.bytes.size());
    w.setMetadata("format", "exitscope-trace");
    w.setMetadata("format_version", "1");
    w.setMetadata("model", "msdnet");
    return w.toBytes();
}

Bytes traceWith(const std::function<void(Tensors&)>& edit) {
    Tensors t = traceTensors(smallTrace());
    edit(t);
    return traceFile(t);
}

Bytes traceWithProb(std::size_t i, float value) {
    Trace t = smallTrace();
    t.probs.at(i) = value;
    return traceFile(traceTensors(t));
}

std::vector<BadInput> traceCases() {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const Bytes good = traceFile(traceTensors(smallTrace()));
    std::vector<BadInput> cases = {
        {"nan_probability", traceWithProb(4, nan), "probs[4]"},
        {"infinite_probability", traceWithProb(0, inf), "probs[0]"},
        {"negative_probability", traceWithProb(1, -0.25f), "probs[1]"},
        {"nan_exit_time", traceWith([&](Tensors& t) { t["exit_ms"] = tensor(DType::F32, {2}, std::vector<float>{1, nan}); }),
         "exit_ms[1]"},
        {"infinite_block_time",
         traceWith([&](Tensors& t) { t["block_ms"] = tensor(DType::F32, {2}, std::vector<float>{inf, 1}); }), "block_ms[0]"},
        {"negative_head_time",
         traceWith([&](Tensors& t) { t["head_ms"] = tensor(DType::F32, {2}, std::vector<float>{0, -1}); }), "head_ms[1]"},
        {"negative_macs",
         traceWith([&](Tensors& t) { t["exit_macs"] = tensor(DType::I64, {2}, std::vector<int64_t>{-5, 0}); }), "exit_macs"},
        {"label_out_of_range",
         traceWith([&](Tensors& t) { t["labels"] = tensor(DType::I64, {2}, std::vector<int64_t>{0, 3}); }), "labels[1] = 3"},
        // Sizes that lie: one tensor disagrees with N, K or B from probs / block_macs.
        {"labels_longer_than_n",
         traceWith([&](Tensors& t) { t["labels"] = tensor(DType::I64, {3}, std::vector<int64_t>{0, 1, 2}); }), "labels"},
        {"exit_ms_shorter_than_k",
         traceWith([&](Tensors& t) { t["exit_ms"] = tensor(DType::F32, {1}, std::vector<float>{1}); }), "exit_ms"},
        {"labels_wrong_dtype",
         traceWith([&](Tensors& t) { t["labels"] = tensor(DType::I32, {2}, std::vector<int32_t>{0, 1}); }), "labels"},
        {"missing_tensor", traceWith([](Tensors& t) { t.erase("head_ms"); }), "head_ms"},
        // Zero samples with huge exit and class counts: every per-exit tensor would need 2^40 entries.
        {"zero_samples_huge_dimensions", traceWith([](Tensors& t) {
             t["probs"] = tensor(DType::F32, {0, int64_t{1} << 40, int64_t{1} << 40}, std::vector<float>{});
         }),
         ""},
        {"dimensions_overflow_64_bits", traceWith([](Tensors& t) {
             t["probs"] = tensor(DType::F32, {0, int64_t{1} << 62, int64_t{1} << 62}, std::vector<float>{});
         }),
         ""},
        {"not_a_trace", [] {
             SafeTensorsWriter w;
             const std::vector<float> v = {1};
             w.add("x", {1}, v);
             return w.toBytes();
         }(),
         "not an ExitScope trace"},
        {"empty", {}, "too short"},
        {"header_nested_100000_deep", [] {
             const std::string header = "{\"__metadata__\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
             Bytes b;
             for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(uint64_t{header.size()} >> (8 * i)));
             b.insert(b.end(), header.begin(), header.end());
             return b;
         }(),
         "nested"},
    };
    // Bit flips in the 8-byte header length: past the file or over the 100 MiB cap.
    cases.push_back({"length_prefix_bit_flip_low", flipped(good, 1, 7), ""});
    cases.push_back({"length_prefix_bit_flip_high", flipped(good, 5, 0), "100 MiB"});
    for (auto& c : truncations(good, "")) cases.push_back(std::move(c));
    for (auto& c : bitFlips(good, 24)) cases.push_back(std::move(c));
    return cases;
}

class TraceBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(TraceBadInput, IsAnErrorNamingTheFile) {
    expectCleanError("trace", GetParam(), [](const std::string& path) { readTrace(path); });
}

INSTANTIATE_TEST_SUITE_P(Matrix, TraceBadInput, ::testing::ValuesIn(traceCases()), caseName);

// ---- Tuned configs -----------------------------------------------------------

nlohmann::json goodConfig() {
    TunedConfig c;
    c.model = "msdnet";
    c.weightsHash = "abc";
    c.dataset = "fashion-mnist";
    c.numExits = 2;
    c.numClasses = 3;
    c.policy.confidence = {ConfidenceCriterion::MaxSoftmax, {0.75f}, {}};
    c.validation = ExpectedFigures{100, 0.5, 150.0, 1.5};
    return configToJson(c);
}

BadInput configCase(const std::string& name, const std::function<void(nlohmann::json&)>& edit,
                    const std::string& fragment) {
    nlohmann::json j = goodConfig();
    edit(j);
    return {name, bytesOf(j.dump()), fragment};
}

// A value JSON cannot spell (inf) written in place of `placeholder`.
BadInput configWithText(const std::string& name, const std::function<void(nlohmann::json&)>& edit,
                        const std::string& literal, const std::string& fragment) {
    nlohmann::json j = goodConfig();
    edit(j);
    std::string text = j.dump();
    const auto at = text.find("\"@\"");
    text.replace(at, 3, literal);
    return {name, bytesOf(text), fragment};
}

std::string nestedObjects(int depth) {
    std::string s;
    for (int i = 0; i < depth; ++i) s += "{\"a\":";
    return s + "1" + std::string(static_cast<std::size_t>(depth), '}');
}

std::vector<BadInput> configCases() {
    using J = nlohmann::json;
    const Bytes good = bytesOf(goodConfig().dump(2));
    auto anytime = [](J& j, J budget) { j["policy"] = {{"kind", "anytime"}, {"budget", budget}, {"unit", "macs"}}; };
    std::vector<BadInput> cases = {
        // JSON has no infinity; a number too large for a double is a parse error.
        configWithText("infinite_threshold", [](J& j) { j["policy"]["thresholds"] = {"@"}; }, "1e999",
                       "number overflow parsing '1e999'"),
        configWithText("huge_threshold_overflows_float", [](J& j) { j["policy"]["thresholds"] = {"@"}; }, "1e300", ""),
        {"nan_threshold", bytesOf(R"({"schema": 1, "policy": {"thresholds": [NaN]}})"), "not valid JSON"},
        configCase("negative_threshold", [](J& j) { j["policy"]["thresholds"] = {-0.25}; }, "-0.25"),
        configWithText("infinite_temperature", [](J& j) { j["policy"]["temperatures"] = {1.0, "@"}; }, "-1e999",
                       "number overflow"),
        configCase("zero_temperature", [](J& j) { j["policy"]["temperatures"] = {1.0, 0.0}; }, "temperature"),
        configCase("negative_anytime_budget", [&](J& j) { anytime(j, -5.0); }, "anytime budget"),
        configWithText("infinite_anytime_budget", [&](J& j) { anytime(j, "@"); }, "1e999", "budget"),
        // Found by fuzz_config under UBSan: 1e300 used to reach a cast to int64_t (undefined).
        configWithText("huge_static_exit", [](J& j) { j["policy"] = {{"kind", "static"}, {"exit", "@"}}; }, "1e300",
                       "policy field 'exit' is out of range"),
        configCase("negative_static_exit", [](J& j) { j["policy"] = {{"kind", "static"}, {"exit", -1}}; }, "static exit -1"),
        configCase("budgeted_threshold_above_one", [](J& j) {
            j["policy"] = {{"kind", "budgeted"}, {"budget_per_sample_macs", 150.0}, {"q", 0.5},
                           {"exit_fractions", {0.5, 0.5}}, {"thresholds", {1.25}}};
        }, "outside [0, 1]"),
        // Names that only the nested parsers check used to come without the file name.
        configCase("unknown_criterion", [](J& j) { j["policy"]["criterion"] = "max%softmax"; }, "'max%softmax'"),
        configCase("unknown_policy_kind", [](J& j) { j["policy"]["kind"] = "oracle"; }, "'oracle'"),
        configCase("zero_exits", [](J& j) { j["model"]["num_exits"] = 0; }, "num_exits = 0"),
        configCase("negative_classes", [](J& j) { j["model"]["num_classes"] = -3; }, "num_classes = -3"),
        configWithText("exits_beyond_int64", [](J& j) { j["model"]["num_exits"] = "@"; }, "18446744073709551616",
                       "num_exits"),
        // Found the same way: a whole-number count too large for int64_t.
        configWithText("expected_count_1e300", [](J& j) { j["expected"]["validation"]["n"] = "@"; }, "1e300",
                       "expected.validation.n"),
        configCase("thresholds_for_another_model", [](J& j) { j["policy"]["thresholds"] = {0.5, 0.5, 0.5}; },
                   "thresholds"),
        configCase("temperatures_for_another_model", [](J& j) { j["policy"]["temperatures"] = {1.0, 1.0, 1.0}; },
                   "temperatures"),
        {"nested_100000_deep_inside_policy",
         bytesOf(R"({"schema": 1, "policy": )" + std::string(100000, '[') + std::string(100000, ']') + "}"), ""},
        {"nested_100000_objects", bytesOf(nestedObjects(100000)), ""},
        {"not_utf8", bytesOf("{\"schema\": 1, \"model\": {\"name\": \"\xc3\x28\"}}"), "not valid JSON"},
        {"nul_inside", Bytes{'{', 0, '}'}, "not valid JSON"},
        {"empty", {}, "not valid JSON"},
    };
    for (auto& c : truncations(good, "")) cases.push_back(std::move(c));
    for (auto& c : bitFlips(good, 24)) cases.push_back(std::move(c));
    return cases;
}

class ConfigBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(ConfigBadInput, IsAnErrorNamingTheFile) {
    expectCleanError("config", GetParam(), [](const std::string& path) { loadConfig(path); });
}

INSTANTIATE_TEST_SUITE_P(Matrix, ConfigBadInput, ::testing::ValuesIn(configCases()), caseName);

// A config for another model loads, and then checkConfigMatchesTrace says
// what differs: model name, exits or classes (the weights hash: test_policy_config).
TEST(ConfigBadInput, ConfigForAnotherModelIsRejectedNamingTheField) {
    const TunedConfig config = configFromJson(goodConfig(), "cfg.json");
    struct Other {
        const char* what;
        std::function<void(Trace&)> edit;
    };
    const Other others[] = {
        {"model is 'msdnet' in the config but 'vgg-fine' here", [](Trace& t) { t.metadata["model"] = "vgg-fine"; }},
        {"number of classes is '3' in the config but '10' here", [](Trace& t) { t.numClasses = 10; }},
        {"number of exits is '2' in the config but '6' here", [](Trace& t) { t.numExits = 6; }},
    };
    for (const Other& o : others) {
        Trace t = smallTrace();
        o.edit(t);
        try {
            checkConfigMatchesTrace(config, t, "other.safetensors");
            ADD_FAILURE() << o.what;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(o.what), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("other.safetensors"), std::string::npos) << e.what();
        }
    }
}

// A zero anytime budget is a valid config, but no exit fits it: applying it is the error.
TEST(ConfigBadInput, ZeroAnytimeBudgetFitsNoExit) {
    nlohmann::json j = goodConfig();
    j["policy"] = {{"kind", "anytime"}, {"budget", 0}, {"unit", "macs"}};
    const TunedConfig config = configFromJson(j, "cfg.json");
    EXPECT_THROW(applyPolicy(smallTrace(), config.policy), Error);
}

// ---- IDX ---------------------------------------------------------------------

Bytes idx(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& data) {
    Bytes b;
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(magic >> s));
    for (uint32_t d : dims)
        for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

const Bytes kIdxLabels = idx(0x801, {3}, {2, 0, 1});
const Bytes kIdxImages = idx(0x803, {3, 2, 3}, Bytes(18, 7));

// Cells of the images file; the labels file is good, and the other way round.
std::vector<BadInput> idxCases() {
    std::vector<BadInput> cases = {
        {"images_empty", {}, "truncated IDX header"},
        {"images_dimensions_overflow_64_bits", idx(0x803, {0x80000000u, 0x80000000u, 4}, Bytes(18)), "overflow 64 bits"},
        {"images_count_lies", idx(0x803, {4, 2, 3}, Bytes(18)), "declares"},
        {"images_data_type_bit_flip", flipped(kIdxImages, 2, 0), "not supported"},
        {"images_rank_bit_flip", flipped(kIdxImages, 3, 2), "dimensions"},
        {"images_width_bit_flip", flipped(kIdxImages, 15, 4), "declares"},
    };
    for (auto& c : truncations(kIdxImages, "")) {
        c.name = "images_" + c.name;
        cases.push_back(std::move(c));
    }
    for (auto& c : bitFlips(kIdxImages, 12)) {
        c.name = "images_" + c.name;
        cases.push_back(std::move(c));
    }
    return cases;
}

std::vector<BadInput> idxLabelCases() {
    std::vector<BadInput> cases = {
        {"labels_empty", {}, "truncated IDX header"},
        {"labels_count_4294967295", idx(0x801, {0xffffffffu}, {2, 0, 1}), "declares"},
        {"labels_given_images", kIdxImages, "3 dimensions, expected 1"},
        {"labels_value_bit_flip", flipped(kIdxLabels, 9, 3), "out of range"},
    };
    for (auto& c : truncations(kIdxLabels, "")) {
        c.name = "labels_" + c.name;
        cases.push_back(std::move(c));
    }
    return cases;
}

class IdxBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(IdxBadInput, IsAnErrorNamingTheFile) {
    const bool labels = GetParam().name.rfind("labels_", 0) == 0;
    // The good partner file lives next to the bad one.
    const std::string partner = (std::filesystem::temp_directory_path() / ("exitscope-idx-partner-" + GetParam().name)).string();
    {
        const Bytes& b = labels ? kIdxImages : kIdxLabels;
        std::ofstream(partner, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), long(b.size()));
    }
    expectCleanError("idx", GetParam(), [&](const std::string& path) {
        readIdx(labels ? partner : path, labels ? path : partner, {"a", "b", "c"}, "idx");
    });
    std::filesystem::remove(partner);
}

INSTANTIATE_TEST_SUITE_P(Images, IdxBadInput, ::testing::ValuesIn(idxCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Labels, IdxBadInput, ::testing::ValuesIn(idxLabelCases()), caseName);

// ---- CIFAR-10 ------------------------------------------------------------------

Bytes cifarRecords(std::initializer_list<uint8_t> labels) {
    Bytes b;
    for (uint8_t l : labels) {
        b.push_back(l);
        for (int i = 0; i < 3072; ++i) b.push_back(static_cast<uint8_t>(i % 251));
    }
    return b;
}

std::vector<BadInput> cifarCases() {
    const Bytes good = cifarRecords({1, 9});
    std::vector<BadInput> cases = {
        {"label_bit_flip_to_11", flipped(good, 3073, 1), "record 1 has label 11"},
        {"label_bit_flip_to_129", flipped(good, 0, 7), "record 0 has label 129"},
        {"one_byte_past_a_record", [] {
             Bytes b = cifarRecords({1, 2, 3, 4});
             b.push_back(0);
             return b;
         }(),
         "multiple of 3073"},
    };
    for (auto& c : truncations(good, "multiple of 3073")) {
        if (c.bytes.size() % 3073 != 0) cases.push_back(std::move(c));  // one whole record is a valid file
    }
    for (auto& c : bitFlips(good, 12)) cases.push_back(std::move(c));
    return cases;
}

class CifarBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CifarBadInput, IsAnErrorNamingTheFile) {
    expectCleanError("cifar", GetParam(), [](const std::string& path) {
        readCifar10({path}, std::vector<std::string>(10, "c"), "cifar");
    });
}

INSTANTIATE_TEST_SUITE_P(Matrix, CifarBadInput, ::testing::ValuesIn(cifarCases()), caseName);

// ---- Images in a class folder ------------------------------------------------------

void put16le(Bytes& b, uint32_t v) { b.push_back(static_cast<uint8_t>(v)), b.push_back(static_cast<uint8_t>(v >> 8)); }
void put32le(Bytes& b, uint32_t v) { put16le(b, v & 0xFFFF), put16le(b, v >> 16); }

// A PNG with correct CRCs declaring width x height, whose pixel data holds
// `rows` filter-0 rows of zeros (a valid 2 x 2 image when the sizes agree).
Bytes png(uint32_t width, uint32_t height, uint8_t depth = 8, uint8_t colour = 2, uint32_t rows = 2) {
    return exitscope::test::pngFile(width, height, depth, colour, Bytes(rows * (1 + 3 * 2), 0));
}

Bytes bmp(int32_t width, int32_t height) {
    Bytes b = {'B', 'M'};
    put32le(b, 54 + 16), put32le(b, 0), put32le(b, 54);
    put32le(b, 40), put32le(b, static_cast<uint32_t>(width)), put32le(b, static_cast<uint32_t>(height));
    put16le(b, 1), put16le(b, 24);
    for (int i = 0; i < 6; ++i) put32le(b, 0);
    b.resize(b.size() + 16, 0);
    return b;
}

// SOI, a JFIF APP0 segment, then a baseline SOF0 declaring width x height.
Bytes jpeg(uint16_t width, uint16_t height) {
    Bytes b = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
    b.insert(b.end(), {0xFF, 0xC0, 0, 11, 8, static_cast<uint8_t>(height >> 8), static_cast<uint8_t>(height),
                       static_cast<uint8_t>(width >> 8), static_cast<uint8_t>(width), 1, 1, 0x11, 0});
    b.resize(b.size() + 16, 0);
    return b;
}

// A little-endian TIFF whose first IFD gives ImageWidth and ImageLength as LONGs.
Bytes tiff(uint32_t width, uint32_t height) {
    Bytes b = {'I', 'I', 42, 0};
    put32le(b, 8);
    put16le(b, 2);
    for (auto [tag, value] : {std::pair<uint32_t, uint32_t>{256, width}, {257, height}}) {
        put16le(b, tag), put16le(b, 4), put32le(b, 1), put32le(b, value);
    }
    put32le(b, 0);
    return b;
}

// An extended WebP (VP8X) declaring width x height (stored minus one, 24 bits each).
Bytes webp(uint32_t width, uint32_t height) {
    Bytes b = {'R', 'I', 'F', 'F'};
    put32le(b, 22);
    b.insert(b.end(), {'W', 'E', 'B', 'P', 'V', 'P', '8', 'X'});
    put32le(b, 10);
    put32le(b, 0);
    for (uint32_t v : {width - 1, height - 1}) b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16)});
    return b;
}

std::vector<BadInput> imageCases() {
    const Bytes good = png(2, 2);
    std::vector<BadInput> cases = {
        {"empty", {}, "cannot read image"},
        // Found with fuzz_image: OpenCV allocated 2.7 GB for this 69-byte file before reading a pixel.
        {"png_declares_30000x30000", png(30000, 30000), "declares 30000x30000 pixels"},
        {"png_rgba16_declares_20000x20000", png(20000, 20000, 16, 6), "declares 20000x20000"},
        {"png_declares_4294967295_wide", png(0xFFFFFFFFu, 2), "declares 4294967295x2"},
        {"bmp_declares_30000x30000", bmp(30000, 30000), "declares 30000x30000"},
        {"bmp_top_down_declares_30000x30000", bmp(30000, -30000), "declares 30000x30000"},
        {"pgm_declares_30000x30000", bytesOf("P5\n# comment\n30000 30000\n255\n" + std::string(10, '\0')),
         "declares 30000x30000"},
        {"ppm_declares_20_digit_width", bytesOf("P6 99999999999999999999 2 255\n" + std::string(12, '\0')),
         "declares 4294967296x2"},
        {"jpeg_declares_60000x60000", jpeg(60000, 60000), "declares 60000x60000"},
        {"tiff_declares_100000x100000", tiff(100000, 100000), "declares 100000x100000"},
        {"webp_declares_16384x16384", webp(16384, 16384), "declares 16384x16384"},
        {"png_fewer_rows_than_declared", png(2, 2, 8, 2, 1), "image"},
        // Found by fuzz_image: OpenCV read this PPM's size (6666 x 66666) where this reader saw none; 2.7 GB.
        {"ppm_size_only_opencv_reads", bytesOf(std::string("P6\n6666:66666\n666666:66662662\0\0+\0" "26626\0\0+\0\0", 42)),
         "not a PNG, JPEG, BMP, PGM/PPM, TIFF or WebP file"},
        {"jpeg2000_named_png", Bytes{0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A, 0, 0, 0, 0},
         "not a PNG, JPEG, BMP, PGM/PPM, TIFF or WebP file"},
        {"tiff_without_size_tags", Bytes{'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "header states its size"},
    };
    for (auto& c : truncations(good, "image")) cases.push_back(std::move(c));
    for (auto& c : bitFlips(good, 16)) cases.push_back(std::move(c));
    return cases;
}

class ImageFolderBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(ImageFolderBadInput, IsAnErrorNamingTheFile) {
    // One class folder holding the one image; the folder is the case's own.
    expectCleanError(
        "image", GetParam(),
        [](const std::string& path) {
            readImageFolder(std::filesystem::path(path).parent_path().parent_path().string(), 3, 8, 8, "images");
        },
        GetParam().name + "/cls/image.png");
}

INSTANTIATE_TEST_SUITE_P(Matrix, ImageFolderBadInput, ::testing::ValuesIn(imageCases()), caseName);

// The two-by-two PNG the image cells start from is itself readable.
TEST(ImageFolderBadInput, TheUnmodifiedImageLoads) {
    const BadInput good{"good", png(2, 2), "", true};
    expectCleanError("image", good, [](const std::string& path) {
        const auto set = readImageFolder(std::filesystem::path(path).parent_path().parent_path().string(), 3, 2, 2, "i");
        EXPECT_EQ(set.pixels, std::vector<uint8_t>(12, 0));
    }, "good/cls/image.png");
}

} // namespace

namespace {

// The header checks accept what real encoders write: every seed image
// (fuzz/corpus/image, written by OpenCV: PNG 8/16-bit, RGBA, JPEG, BMP,
// PGM, PPM, TIFF, WebP) loads.
TEST(ImageFolderBadInput, EverySeedImageFormatLoads) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("exitscope-seed-images-" + std::to_string(::getpid()));
    std::size_t count = 0;
    for (const auto& e : fs::directory_iterator(fs::path(EXITSCOPE_SOURCE_DIR) / "fuzz" / "corpus" / "image")) {
        if (e.path().filename().string().rfind("regress-", 0) == 0) continue;
        fs::create_directories(dir / e.path().stem());
        fs::copy_file(e.path(), dir / e.path().stem() / e.path().filename());
        ++count;
    }
    ASSERT_EQ(count, 9u);
    const auto set = readImageFolder(dir.string(), 3, 4, 4, "seeds");
    EXPECT_EQ(set.labels.size(), 9u);
    fs::remove_all(dir);
}

} // namespace
