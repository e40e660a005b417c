#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/trace/safetensors.h"
#include "core/trace/trace.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <tuple>

namespace fs = std::filesystem;
using namespace exitscope::core;

namespace {

/// A fresh directory per test, removed afterwards.
class TempDir {
public:
    TempDir() {
        static int counter = 0;
        m_path = fs::temp_directory_path() /
                 ("exitscope-trace-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(m_path);
    }
    ~TempDir() { fs::remove_all(m_path); }
    std::string file(const std::string& name) const { return (m_path / name).string(); }
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(m_path)) names.push_back(e.path().filename().string());
        return names;
    }

private:
    fs::path m_path;
};

std::vector<uint8_t> slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Any finite float bit pattern, so the round trip covers subnormals and -0.
float randomFiniteFloat(std::mt19937& rng) {
    for (;;) {
        uint32_t bits = rng();
        float value;
        std::memcpy(&value, &bits, sizeof value);
        if (std::isfinite(value)) return value;
    }
}

Trace makeTrace(int64_t N, int64_t K, int64_t C, int64_t B, int64_t D, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    Trace t;
    t.numSamples = N; t.numExits = K; t.numClasses = C; t.numBlocks = B; t.gateDim = D;
    for (int64_t i = 0; i < N * K; ++i) {
        std::vector<float> row(static_cast<std::size_t>(C));
        float sum = 0;
        for (float& p : row) sum += (p = unit(rng) + 1e-3f);
        for (float p : row) t.probs.push_back(p / sum);
    }
    for (int64_t n = 0; n < N; ++n) {
        t.labels.push_back(static_cast<int64_t>(rng() % C));
        t.sampleIndex.push_back(3 * n + 1);
    }
    for (int64_t k = 0; k < K; ++k) {
        t.exitBlock.push_back(k * (B - 1) / std::max<int64_t>(K - 1, 1));
        t.exitMacs.push_back(1000 * (k + 1)); t.exitParams.push_back(50 * (k + 1));
        t.exitMs.push_back(unit(rng)); t.headMacs.push_back(10 + k);
        t.headParams.push_back(5 + k); t.headMs.push_back(unit(rng) / 10);
        if (D > 0) t.gateDims.push_back(D - k % 2);
    }
    for (int64_t b = 0; b < B; ++b) {
        t.blockMacs.push_back(int64_t(1) << (20 + b % 20)); t.blockParams.push_back(700 + b);
        t.blockMs.push_back(unit(rng)); t.blockOutBytes.push_back(4096 * (b + 1));
        t.blockRelu.push_back(static_cast<uint8_t>(b % 2));
    }
    for (int64_t i = 0; i < N * K * D; ++i) t.gateInputs.push_back(randomFiniteFloat(rng));
    t.metadata = {{"model", "resnet_spinn"}, {"split", "val"}, {"note", "µ-bench \"quoted\""}};
    return t;
}

template <typename T>
bool bitEqual(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

void expectSameTrace(const Trace& a, const Trace& b) {
    EXPECT_EQ(a.numSamples, b.numSamples); EXPECT_EQ(a.numExits, b.numExits);
    EXPECT_EQ(a.numClasses, b.numClasses); EXPECT_EQ(a.numBlocks, b.numBlocks);
    EXPECT_EQ(a.gateDim, b.gateDim);
    EXPECT_TRUE(bitEqual(a.probs, b.probs)); EXPECT_TRUE(bitEqual(a.labels, b.labels));
    EXPECT_TRUE(bitEqual(a.sampleIndex, b.sampleIndex)); EXPECT_TRUE(bitEqual(a.exitMacs, b.exitMacs));
    EXPECT_TRUE(bitEqual(a.exitParams, b.exitParams)); EXPECT_TRUE(bitEqual(a.exitMs, b.exitMs));
    EXPECT_TRUE(bitEqual(a.exitBlock, b.exitBlock)); EXPECT_TRUE(bitEqual(a.blockMacs, b.blockMacs));
    EXPECT_TRUE(bitEqual(a.blockParams, b.blockParams)); EXPECT_TRUE(bitEqual(a.blockMs, b.blockMs));
    EXPECT_TRUE(bitEqual(a.blockOutBytes, b.blockOutBytes)); EXPECT_TRUE(bitEqual(a.blockRelu, b.blockRelu));
    EXPECT_TRUE(bitEqual(a.headMacs, b.headMacs)); EXPECT_TRUE(bitEqual(a.headParams, b.headParams));
    EXPECT_TRUE(bitEqual(a.headMs, b.headMs)); EXPECT_TRUE(bitEqual(a.gateInputs, b.gateInputs));
    EXPECT_TRUE(bitEqual(a.gateDims, b.gateDims)); EXPECT_EQ(a.metadata, b.metadata);
}

// Runs `action`, which must throw Error mentioning both `name` and `fragment`.
void expectError(const std::function<void()>& action, const std::string& name, const std::string& fragment) {
    try {
        action();
        ADD_FAILURE() << "no Error for " << fragment;
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

// A hand-built file: length prefix (or `length`), header text, zero data.
std::vector<uint8_t> rawFile(const std::string& header, std::size_t dataBytes, int64_t length = -1) {
    const uint64_t n = length < 0 ? header.size() : static_cast<uint64_t>(length);
    std::vector<uint8_t> bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(n >> (8 * i)));
    bytes.insert(bytes.end(), header.begin(), header.end());
    bytes.resize(bytes.size() + dataBytes, 0);
    return bytes;
}

std::string entry(const std::string& name, const std::string& body) {
    return "{\"" + name + "\": {" + body + "}}";
}

} // namespace

TEST(TraceTest, RoundTripIsBitExact) {
    TempDir dir;
    const Trace original = makeTrace(37, 4, 10, 6, 5);
    writeTrace(original, dir.file("t.safetensors"));
    expectSameTrace(original, readTrace(dir.file("t.safetensors")));
}

TEST(TraceTest, RoundTripWithoutGatesOmitsGateTensors) {
    TempDir dir;
    const Trace original = makeTrace(9, 3, 2, 4, 0);
    writeTrace(original, dir.file("t.safetensors"));
    const SafeTensorsFile file = SafeTensorsFile::read(dir.file("t.safetensors"));
    EXPECT_FALSE(file.contains("gate_inputs"));
    EXPECT_FALSE(file.contains("gate_dims"));
    EXPECT_EQ(file.metadata().at("format"), "exitscope-trace");
    EXPECT_EQ(file.metadata().at("format_version"), "1");
    expectSameTrace(original, readTrace(dir.file("t.safetensors")));
}

TEST(TraceTest, WrittenFileParsesWithIndependentMinimalReader) {
    TempDir dir;
    const Trace t = makeTrace(11, 3, 4, 5, 2);
    writeTrace(t, dir.file("t.safetensors"));
    const std::vector<uint8_t> bytes = slurp(dir.file("t.safetensors"));
    ASSERT_GE(bytes.size(), 8u);
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= uint64_t(bytes[i]) << (8 * i);
    EXPECT_EQ(n % 8, 0u);
    const auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + long(n));
    const std::map<std::string, std::pair<std::string, std::vector<int64_t>>> expected = {
        {"probs", {"F32", {11, 3, 4}}}, {"labels", {"I64", {11}}}, {"sample_index", {"I64", {11}}},
        {"exit_macs", {"I64", {3}}}, {"exit_params", {"I64", {3}}}, {"exit_ms", {"F32", {3}}},
        {"exit_block", {"I64", {3}}}, {"block_macs", {"I64", {5}}}, {"block_params", {"I64", {5}}},
        {"block_ms", {"F32", {5}}}, {"block_out_bytes", {"I64", {5}}}, {"block_relu", {"U8", {5}}},
        {"head_macs", {"I64", {3}}}, {"head_params", {"I64", {3}}}, {"head_ms", {"F32", {3}}},
        {"gate_inputs", {"F32", {11, 3, 2}}}, {"gate_dims", {"I64", {3}}}};
    EXPECT_EQ(header.size(), expected.size() + 1);
    std::vector<std::pair<uint64_t, uint64_t>> spans;
    for (const auto& [name, want] : expected) {
        ASSERT_TRUE(header.contains(name)) << name;
        const auto& e = header[name];
        EXPECT_EQ(e["dtype"], want.first) << name;
        EXPECT_EQ(e["shape"].get<std::vector<int64_t>>(), want.second) << name;
        const uint64_t begin = e["data_offsets"][0], end = e["data_offsets"][1];
        const uint64_t elem = want.first == "U8" ? 1 : want.first == "F32" ? 4 : 8;
        uint64_t numel = 1;
        for (int64_t d : want.second) numel *= uint64_t(d);
        EXPECT_EQ(end - begin, numel * elem) << name;
        EXPECT_EQ(begin % elem, 0u) << name << " is not aligned";
        spans.emplace_back(begin, end);
    }
    std::sort(spans.begin(), spans.end());
    uint64_t cursor = 0;  // contiguous, as the Python safetensors package requires
    for (const auto& [begin, end] : spans) { EXPECT_EQ(begin, cursor); cursor = end; }
    EXPECT_EQ(8 + n + cursor, bytes.size());
    const uint64_t labelsAt = 8 + n + header["labels"]["data_offsets"][0].get<uint64_t>();
    std::vector<int64_t> labels(11);
    std::memcpy(labels.data(), bytes.data() + labelsAt, 11 * sizeof(int64_t));
    EXPECT_EQ(labels, t.labels);
    EXPECT_EQ(header["__metadata__"]["format"], "exitscope-trace");
    EXPECT_EQ(header["__metadata__"]["model"], "resnet_spinn");
}

TEST(TraceTest, ValidateNamesWhereAndField) {
    const Trace good = makeTrace(5, 3, 4, 4, 2);
    EXPECT_NO_THROW(good.validate("good"));
    const std::vector<std::pair<std::string, std::function<void(Trace&)>>> breakages = {
        {"labels", [](Trace& t) { t.labels[2] = 4; }},
        {"labels", [](Trace& t) { t.labels[0] = -1; }},
        {"sample_index", [](Trace& t) { t.sampleIndex[1] = -3; }},
        {"probs", [](Trace& t) { t.probs[7] = std::nanf(""); }},
        {"probs", [](Trace& t) { t.probs[0] = 1.5f; }},
        {"probs", [](Trace& t) { t.probs.pop_back(); }},
        {"exit_block", [](Trace& t) { t.exitBlock[2] = 4; }},
        {"exit_block", [](Trace& t) { t.exitBlock = {2, 1, 3}; }},
        {"exit_ms", [](Trace& t) { t.exitMs.push_back(1); }},
        {"block_relu", [](Trace& t) { t.blockRelu.pop_back(); }},
        {"gate_inputs", [](Trace& t) { t.gateInputs.resize(3); }},
        {"gate_dims", [](Trace& t) { t.gateDims[1] = 3; }},
        {"gate_dims", [](Trace& t) { t.gateDim = 0; t.gateInputs.clear(); }},
        {"head_ms", [](Trace& t) { t.headMs[0] = -1.0f; }},
        {"dimensions", [](Trace& t) { t.numExits = 0; }},
        {"overflows", [](Trace& t) { t.numSamples = int64_t(1) << 40; t.numClasses = int64_t(1) << 40; }},
        // Rows that are not distributions: all zero, or one value moved.
        {"sum to 0", [](Trace& t) { std::fill(t.probs.begin(), t.probs.begin() + 4, 0.0f); }},
        {"probs of sample 0 at exit 1", [](Trace& t) { t.probs[4] = std::min(1.0f, t.probs[4] + 0.01f); }},
        {"gate_inputs[3]", [](Trace& t) { t.gateInputs[3] = std::numeric_limits<float>::infinity(); }},
        {"exit_macs[2]", [](Trace& t) { t.exitMacs[2] = t.exitMacs[1] - 1; }},
        {"exit_params of the last exit", [](Trace& t) { std::fill(t.exitParams.begin(), t.exitParams.end(), 0); }},
        {"block_macs and block_ms", [](Trace& t) { std::fill(t.blockMs.begin(), t.blockMs.end(), 0.0f); }},
        {"block_macs and block_ms", [](Trace& t) { std::fill(t.blockMacs.begin(), t.blockMacs.end(), 0); }},
    };
    for (const auto& [field, breakIt] : breakages) {
        Trace t = good;
        breakIt(t);
        expectError([&] { t.validate("my.trace"); }, "my.trace", field);
    }
}

TEST(TraceTest, ReadChecksDtypeShapeAndFormat) {
    TempDir dir;
    const Trace t = makeTrace(6, 2, 3, 3, 0);
    const std::string path = dir.file("x.safetensors");
    auto writeWith = [&](const std::function<void(SafeTensorsWriter&)>& edit, bool format = true) {
        SafeTensorsWriter w;
        edit(w);
        if (format) { w.setMetadata("format", "exitscope-trace"); w.setMetadata("format_version", "1"); }
        w.write(path);
    };
    auto full = [&](SafeTensorsWriter& w, const std::string& skip) {
        const std::vector<std::pair<std::string, const std::vector<int64_t>*>> ints = {
            {"labels", &t.labels}, {"sample_index", &t.sampleIndex}, {"exit_macs", &t.exitMacs},
            {"exit_params", &t.exitParams}, {"exit_block", &t.exitBlock}, {"block_macs", &t.blockMacs},
            {"block_params", &t.blockParams}, {"block_out_bytes", &t.blockOutBytes},
            {"head_macs", &t.headMacs}, {"head_params", &t.headParams}};
        for (const auto& [name, v] : ints)
            if (name != skip) w.add(name, {int64_t(v->size())}, *v);
        if (skip != "probs") w.add("probs", {6, 2, 3}, t.probs);
        w.add("exit_ms", {2}, t.exitMs); w.add("block_ms", {3}, t.blockMs);
        w.add("block_relu", {3}, t.blockRelu); w.add("head_ms", {2}, t.headMs);
    };
    writeWith([&](SafeTensorsWriter& w) { full(w, ""); });
    expectSameTrace(readTrace(path), [&] { Trace c = t; c.metadata.clear(); return c; }());

    std::vector<double> probs64(t.probs.begin(), t.probs.end());
    writeWith([&](SafeTensorsWriter& w) { full(w, "probs"); w.add("probs", {6, 2, 3}, probs64); });
    expectError([&] { readTrace(path); }, path, "probs");
    std::vector<int64_t> labels7(7, 0);
    writeWith([&](SafeTensorsWriter& w) { full(w, "labels"); w.add("labels", {7}, labels7); });
    expectError([&] { readTrace(path); }, path, "'labels' has shape [7], expected [6]");
    writeWith([&](SafeTensorsWriter& w) { full(w, "head_params"); });
    expectError([&] { readTrace(path); }, path, "no tensor 'head_params'");
    writeWith([&](SafeTensorsWriter& w) { full(w, ""); }, false);
    expectError([&] { readTrace(path); }, path, "not an ExitScope trace");
    writeWith([&](SafeTensorsWriter& w) {
        full(w, "");
        w.setMetadata("format", "exitscope-trace");
        w.setMetadata("format_version", "2");
    }, false);
    expectError([&] { readTrace(path); }, path, "format_version '2' is not supported");
}

TEST(TraceTest, HugeClaimInTinyFileFailsWithoutAllocating) {
    TempDir dir;
    const std::string path = dir.file("huge.safetensors");
    // 2^60 floats: a reader that sized a buffer from the header would throw
    // bad_alloc or length_error, not Error.
    spit(path, rawFile(entry("probs", R"("dtype":"F32","shape":[1073741824,1073741824,1],"data_offsets":[0,4611686018427387904])"), 16));
    expectError([&] { readTrace(path); }, path, "beyond the data area");
    spit(path, rawFile(entry("probs", R"("dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,0])"), 0));
    expectError([&] { readTrace(path); }, path, "overflows 64 bits");
}

TEST(SafeTensorsTest, RoundTripOfSeveralDtypesAndShapes) {
    TempDir dir;
    SafeTensorsWriter w;
    const std::vector<double> f64 = {1.5, -2.25, 1e300};
    const std::vector<int32_t> i32 = {-7, 8};
    const std::vector<uint8_t> flags = {1, 0, 1, 1};
    const std::vector<float> scalar = {3.5f};
    const std::vector<float> empty;
    w.add("f64", {3}, f64); w.add("i32", {1, 2}, i32);
    w.addTensor("flags", DType::BOOL, {2, 2}, flags.data(), flags.size());
    w.add("scalar", {}, scalar); w.add("empty", {0, 5}, empty);
    w.setMetadata("k", "v");
    w.write(dir.file("a.safetensors"));
    const SafeTensorsFile f = SafeTensorsFile::read(dir.file("a.safetensors"));
    EXPECT_EQ(f.values<double>(f.tensor("f64")), f64);
    EXPECT_EQ(f.values<int32_t>(f.tensor("i32")), i32);
    EXPECT_EQ(f.tensor("flags").dtype, DType::BOOL);
    EXPECT_EQ(f.values<uint8_t>(f.tensor("flags")), flags);
    EXPECT_EQ(f.values<float>(f.tensor("scalar")), scalar);
    EXPECT_EQ(f.tensor("scalar").shape, std::vector<int64_t>{});
    EXPECT_EQ(f.tensor("empty").numel, 0u);
    EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"k", "v"}}));
    EXPECT_EQ(slurp(dir.file("a.safetensors")), w.toBytes());
    expectError([&] { f.values<float>(f.tensor("f64")); }, dir.file("a.safetensors"), "F64");
    expectError([&] { f.tensor("nope"); }, dir.file("a.safetensors"), "no tensor 'nope'");
}

TEST(SafeTensorsTest, CorruptFilesThrowErrorsNamingTheFile) {
    TempDir dir;
    const std::string f32x2 = R"("dtype":"F32","shape":[2],"data_offsets":[0,8])";
    const std::string deep = "{\"__metadata__\": " + std::string(5000, '[') + std::string(5000, ']') + "}";
    const std::vector<std::tuple<std::string, std::vector<uint8_t>, std::string>> cases = {
        {"empty", {}, "too short"},
        {"short", {1, 0, 0, 0, 0}, "too short"},
        {"length past end", rawFile("{}", 0, 100), "larger than the 2 bytes"},
        {"length over cap", rawFile("{}", 0, int64_t(200) << 20), "100 MiB"},
        {"length 2^63", rawFile("{}", 0, INT64_MAX), "100 MiB"},
        {"bad json", rawFile("{\"a\": ", 0), "not valid JSON"},
        {"bad utf8", rawFile("{\"\xff\": {}}", 0), "not valid JSON"},
        {"not object", rawFile("[1, 2]", 0), "not a JSON object"},
        {"too deep", rawFile(deep, 0), "nested"},
        {"duplicate", rawFile("{\"a\": {" + f32x2 + "}, \"a\": {" + f32x2 + "}}", 8), "twice"},
        {"entry not object", rawFile("{\"t\": 5}", 0), "not a JSON object"},
        {"no dtype", rawFile(entry("t", R"("shape":[2],"data_offsets":[0,8])"), 8), "lacks dtype"},
        {"no shape", rawFile(entry("t", R"("dtype":"F32","data_offsets":[0,8])"), 8), "lacks shape"},
        {"no offsets", rawFile(entry("t", R"("dtype":"F32","shape":[2])"), 8), "lacks data_offsets"},
        {"dtype type", rawFile(entry("t", R"("dtype":4,"shape":[2],"data_offsets":[0,8])"), 8), "dtype is not a string"},
        {"unknown dtype", rawFile(entry("t", R"("dtype":"F7","shape":[2],"data_offsets":[0,8])"), 8), "unknown dtype 'F7'"},
        {"shape type", rawFile(entry("t", R"("dtype":"F32","shape":2,"data_offsets":[0,8])"), 8), "shape is not an array"},
        {"float dim", rawFile(entry("t", R"("dtype":"F32","shape":[2.0],"data_offsets":[0,8])"), 8), "not an integer"},
        {"negative dim", rawFile(entry("t", R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])"), 8), "invalid dimension -2"},
        {"overflow", rawFile(entry("t", R"("dtype":"F64","shape":[65536,65536,65536,65536],"data_offsets":[0,8])"), 8), "overflows 64 bits"},
        {"offsets type", rawFile(entry("t", R"("dtype":"F32","shape":[2],"data_offsets":"0-8")"), 8), "two integers"},
        {"offsets length", rawFile(entry("t", R"("dtype":"F32","shape":[2],"data_offsets":[0,8,16])"), 8), "two integers"},
        {"negative offset", rawFile(entry("t", R"("dtype":"F32","shape":[2],"data_offsets":[-8,0])"), 8), "non-negative integer"},
        {"string offset", rawFile(entry("t", R"("dtype":"F32","shape":[2],"data_offsets":[0,"8"])"), 8), "non-negative integer"},
        {"end before begin", rawFile(entry("t", R"("dtype":"F32","shape":[2],"data_offsets":[8,0])"), 8), "before begin"},
        {"end past data", rawFile(entry("t", f32x2), 4), "beyond the data area of 4 bytes"},
        {"size mismatch", rawFile(entry("t", R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"), 8), "needs 12"},
        {"overlap", rawFile("{\"a\": {" + f32x2 + "}, \"b\": {\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[4,12]}}", 12), "overlap"},
        {"metadata type", rawFile("{\"__metadata__\": [\"x\"]}", 0), "__metadata__ is not a JSON object"},
        {"metadata value", rawFile("{\"__metadata__\": {\"epochs\": 3}}", 0), "'epochs' is not a string"},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& [label, bytes, fragment] = cases[i];
        SCOPED_TRACE(label);
        const std::string path = dir.file("case" + std::to_string(i) + ".safetensors");
        spit(path, bytes);
        expectError([&] { SafeTensorsFile::read(path); }, path, fragment);
    }
    expectError([&] { SafeTensorsFile::read(dir.file("missing.safetensors")); },
                dir.file("missing.safetensors"), "not found");
}

TEST(SafeTensorsTest, TruncatedAndMutatedFilesNeverCrash) {
    const Trace t = makeTrace(3, 2, 3, 2, 2);
    TempDir dir;
    writeTrace(t, dir.file("t.safetensors"));
    const std::vector<uint8_t> good = slurp(dir.file("t.safetensors"));
    for (std::size_t size = 0; size < good.size(); ++size) {
        std::vector<uint8_t> cut(good.begin(), good.begin() + long(size));
        EXPECT_THROW(SafeTensorsFile::fromBytes(cut, "cut"), Error) << size;
    }
    std::mt19937 rng(7);
    const std::size_t headerEnd = 8 + good[0] + 256 * good[1];
    for (int round = 0; round < 3000; ++round) {
        std::vector<uint8_t> bad = good;
        bad[rng() % headerEnd] = static_cast<uint8_t>(rng());
        try {
            SafeTensorsFile::fromBytes(bad, "mutated");
        } catch (const Error&) {
        }  // anything other than Error escapes and fails the test
    }
}

TEST(SafeTensorsTest, WriterRejectsInconsistentTensors) {
    SafeTensorsWriter w;
    const std::vector<float> three = {1, 2, 3};
    EXPECT_THROW(w.add("a", {2, 2}, three), Error);
    EXPECT_THROW(w.add("a", {-3}, three), Error);
    EXPECT_THROW(w.add("__metadata__", {3}, three), Error);
    EXPECT_THROW(w.add("", {3}, three), Error);
    w.add("a", {3}, three);
    EXPECT_THROW(w.add("a", {3}, three), Error);
}

TEST(AtomicFileTest, ReplacesTargetAndLeavesNoTemporary) {
    TempDir dir;
    const std::string path = dir.file("out.bin");
    writeFileAtomically(path, [](std::ostream& out) { out << "first"; });
    writeFileAtomically(path, [](std::ostream& out) { out << "second, longer"; });
    EXPECT_EQ(slurp(path), (std::vector<uint8_t>{'s', 'e', 'c', 'o', 'n', 'd', ',', ' ', 'l', 'o', 'n', 'g', 'e', 'r'}));
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.bin"});
    EXPECT_EQ(fileSize(path), 14u);
}

TEST(AtomicFileTest, FailingWriterKeepsPreviousFileIntact) {
    TempDir dir;
    const std::string path = dir.file("out.bin");
    std::vector<uint8_t> previous(100000);
    for (std::size_t i = 0; i < previous.size(); ++i) previous[i] = static_cast<uint8_t>(i * 31 + 7);
    spit(path, previous);
    const std::string big(1 << 20, 'x');
    expectError([&] {
        writeFileAtomically(path, [&](std::ostream& out) {
            out.write(big.data(), long(big.size()));  // well past the buffer, so bytes hit the disk
            throw std::runtime_error("simulated crash midway");
        });
    }, path, "simulated crash midway");
    EXPECT_EQ(slurp(path), previous);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.bin"});

    expectError([&] {
        writeFileAtomically(path, [](std::ostream& out) { out << "partial"; out.setstate(std::ios::failbit); });
    }, path, "stream failed");
    EXPECT_EQ(slurp(path), previous);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFileTest, KeepsPermissionsAndReportsMissingDirectory) {
    TempDir dir;
    const std::string path = dir.file("private.bin");
    writeFileAtomically(path, [](std::ostream& out) { out << "a"; });
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    writeFileAtomically(path, [](std::ostream& out) { out << "b"; });
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    const std::string lost = dir.file("no/such/dir/out.bin");
    expectError([&] { writeFileAtomically(lost, [](std::ostream& out) { out << "x"; }); }, lost, "temporary");
}

TEST(AtomicFileTest, ReadFileBytesChecksExistenceTypeAndCap) {
    TempDir dir;
    const std::string path = dir.file("data.bin");
    spit(path, {1, 2, 3, 4, 5});
    EXPECT_EQ(readFileBytes(path, 5), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
    expectError([&] { readFileBytes(path, 4); }, path, "limit of 4");
    expectError([&] { readFileBytes(dir.file("gone"), 100); }, dir.file("gone"), "not found");
    expectError([&] { fileSize(dir.file("gone")); }, dir.file("gone"), "not found");
    const std::string sub = dir.file("sub");
    fs::create_directory(sub);
    expectError([&] { readFileBytes(sub, 100); }, sub, "not a regular file");
}

// A FIFO given as an input must be refused at once, not read: opening one
// for reading waits for a writer that never comes.
TEST(AtomicFileTest, FifoIsRefusedWithoutBlocking) {
    TempDir dir;
    const std::string fifo = dir.file("pipe");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    expectError([&] { readFileBytes(fifo, 100); }, fifo, "is not a regular file (it is a FIFO)");
    expectError([&] { requireRegularFile(fifo); }, fifo, "is not a regular file (it is a FIFO)");
    expectError([&] { readTrace(fifo); }, fifo, "FIFO");
    expectError([&] { requireRegularFile(dir.file("gone")); }, dir.file("gone"), "file not found");
    const std::string sub = dir.file("folder");
    fs::create_directory(sub);
    expectError([&] { requireRegularFile(sub); }, sub, "it is a directory");
}

// A path longer than the file system allows is a user error naming the
// path (shortened, so the message stays one readable line), not an
// internal error from std::filesystem.
TEST(AtomicFileTest, OverlongPathIsAOneLineErrorThatNamesIt) {
    const std::string longName = "/tmp/" + std::string(5000, 'a') + "/trace.safetensors";
    for (const auto& action : std::vector<std::function<void()>>{
             [&] { readFileBytes(longName, 100); }, [&] { requireRegularFile(longName); },
             [&] { fileSize(longName); }, [&] { readTrace(longName); }}) {
        try {
            action();
            ADD_FAILURE() << "no Error for an overlong path";
        } catch (const Error& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("longer than the file system allows"), std::string::npos) << m;
            EXPECT_NE(m.find("/tmp/aaa"), std::string::npos) << m;
            EXPECT_NE(m.find("/trace.safetensors"), std::string::npos) << m;
            EXPECT_LT(m.size(), 400u) << m;
            EXPECT_EQ(m.find('\n'), std::string::npos) << m;
        }
    }
}
