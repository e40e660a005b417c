// Sharded profiling (issue 17): shard ranges, and every check the merge
// makes before it writes one file from the shards.
#include "core/common/error.h"
#include "core/profile/merge.h"
#include "core/profile/shard.h"
#include "core/profile/splits_file.h"
#include "core/trace/trace.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

namespace fs = std::filesystem;
using namespace exitscope::core;

namespace {

class ShardDir {
public:
    ShardDir() {
        static int counter = 0;
        m_path = fs::temp_directory_path() /
                 ("exitscope-shard-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(m_path);
    }
    ~ShardDir() { fs::remove_all(m_path); }
    std::string file(const std::string& name) const { return (m_path / name).string(); }

private:
    fs::path m_path;
};

// A profile of `n` samples as one process would write it: 3 exits, 4 classes, 3 blocks.
Trace wholeProfile(int64_t n) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.05f, 1.0f);
    Trace t;
    t.numSamples = n;
    t.numExits = 3;
    t.numClasses = 4;
    t.numBlocks = 3;
    t.gateDim = 2;
    for (int64_t i = 0; i < n * 3; ++i) {
        float a = u(rng), b = u(rng), c = u(rng), d = u(rng), s = a + b + c + d;
        t.probs.insert(t.probs.end(), {a / s, b / s, c / s, d / s});
        t.gateInputs.insert(t.gateInputs.end(), {u(rng), -u(rng)});
    }
    for (int64_t i = 0; i < n; ++i) {
        t.labels.push_back(static_cast<int64_t>(rng() % 4));
        t.sampleIndex.push_back(100 + 2 * i);  // the split's own indices, not positions
    }
    t.exitBlock = {0, 1, 2};
    t.exitMacs = {100, 250, 400};
    t.exitParams = {10, 25, 40};
    t.headMacs = {5, 5, 5};
    t.headParams = {1, 1, 1};
    t.gateDims = {2, 2, 2};
    t.blockMacs = {95, 145, 145};
    t.blockParams = {9, 14, 14};
    t.blockOutBytes = {4096, 2048, 1024};
    t.blockRelu = {1, 1, 0};
    t.blockMs = {1.0f, 1.0f, 1.0f};
    t.headMs = {0.1f, 0.1f, 0.1f};
    t.exitMs = {1.1f, 2.2f, 3.3f};
    t.metadata = {{"model", "msdnet"},       {"weights_hash", "abc123"}, {"dataset", "fashion-mnist"},
                  {"split", "test"},         {"split_seed", "0"},        {"class_names", "[\"a\",\"b\",\"c\",\"d\"]"},
                  {"batch", "10"},           {"host", "node1"},          {"device_type", "cpu: Test CPU, 1 thread"},
                  {"timing", "median of 3"}, {"threads", "1"}};
    return t;
}

// Shard `s` of `whole`, cut out by hand at the range shardRange gives.
Trace cut(const Trace& whole, const Shard& s, float blockMs) {
    const auto r = shardRange(whole.numSamples, 10, s);
    Trace t = whole;
    const auto K = static_cast<std::size_t>(whole.numExits), C = static_cast<std::size_t>(whole.numClasses);
    const auto D = static_cast<std::size_t>(whole.gateDim);
    const auto a = static_cast<std::size_t>(r.first), b = static_cast<std::size_t>(r.first + r.count);
    t.numSamples = r.count;
    t.probs.assign(whole.probs.begin() + a * K * C, whole.probs.begin() + b * K * C);
    t.gateInputs.assign(whole.gateInputs.begin() + a * K * D, whole.gateInputs.begin() + b * K * D);
    t.labels.assign(whole.labels.begin() + a, whole.labels.begin() + b);
    t.sampleIndex.assign(whole.sampleIndex.begin() + a, whole.sampleIndex.begin() + b);
    t.blockMs = {blockMs, blockMs, blockMs};
    t.metadata["host"] = "node" + std::to_string(s.index);
    setShardMetadata(t.metadata, s, r, whole.numSamples);
    return t;
}

// Writes the shards of a 95-sample profile (10 batches) as 4 files.
std::vector<std::string> writeShards(const ShardDir& dir, const Trace& whole,
                                     const std::function<void(int, Trace&)>& edit = {}) {
    std::vector<std::string> paths;
    const float ms[] = {3.0f, 1.0f, 8.0f, 2.0f};
    for (int i = 0; i < 4; ++i) {
        Trace t = cut(whole, {i, 4}, ms[i]);
        if (edit) edit(i, t);
        paths.push_back(dir.file("shard" + std::to_string(i) + ".safetensors"));
        writeTrace(t, paths.back());
    }
    return paths;
}

void expectRefused(const std::vector<std::string>& paths, const std::string& out, const std::string& name,
                   const std::string& fragment, const MergeOptions& options = {}) {
    try {
        mergeShards(paths, out, options);
        ADD_FAILURE() << "merged although: " << fragment;
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find(name), std::string::npos) << m;
        EXPECT_NE(m.find(fragment), std::string::npos) << m;
        EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
    if (std::find(paths.begin(), paths.end(), out) == paths.end()) {
        EXPECT_FALSE(fs::exists(out)) << "a refused merge left " << out;
    }
}

} // namespace

TEST(ShardRange, ParsesIOverNAndRefusesWhatIsNot) {
    EXPECT_EQ(parseShard("0/4").index, 0);
    EXPECT_EQ(parseShard("3/4").count, 4);
    EXPECT_EQ(toString(parseShard("12/100")), "12/100");
    for (const char* bad : {"4/4", "-1/4", "1/0", "a/b", "1", "1/", "/4", "1/4/2", " 1/4", "1/100001", ""})
        EXPECT_THROW(parseShard(bad), Error) << bad;
}

TEST(ShardRange, SplitsWholeBatchesContiguouslyAsComputedByHand) {
    // 1,000 samples in batches of 256: 4 batches, one per shard; the last one short.
    const int64_t first[] = {0, 256, 512, 768}, count[] = {256, 256, 256, 232};
    for (int i = 0; i < 4; ++i) {
        const auto r = shardRange(1000, 256, {i, 4});
        EXPECT_EQ(r.first, first[i]);
        EXPECT_EQ(r.count, count[i]);
    }
    // 10 batches of 100 over 3 shards: floor(10 i / 3) = 0, 3, 6, 10.
    EXPECT_EQ(shardRange(1000, 100, {0, 3}).count, 300);
    EXPECT_EQ(shardRange(1000, 100, {1, 3}).first, 300);
    EXPECT_EQ(shardRange(1000, 100, {2, 3}).count, 400);
    EXPECT_THROW(shardRange(1000, 256, {0, 8}), Error);  // 4 batches cannot make 8 shards
    EXPECT_THROW(shardRange(0, 10, {0, 1}), Error);
}

TEST(ShardRange, EveryShardCountCoversEverySampleOnceInWholeBatches) {
    std::mt19937 rng(3);
    for (int trial = 0; trial < 300; ++trial) {
        const int64_t total = 1 + static_cast<int64_t>(rng() % 5000), batch = 1 + static_cast<int64_t>(rng() % 300);
        const int64_t batches = (total + batch - 1) / batch;
        const int64_t shards = 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(batches));
        int64_t next = 0;
        for (int64_t i = 0; i < shards; ++i) {
            const auto r = shardRange(total, batch, {i, shards});
            ASSERT_EQ(r.first, next);
            ASSERT_GT(r.count, 0);
            ASSERT_EQ(r.first % batch, 0);
            next += r.count;
        }
        ASSERT_EQ(next, total) << total << " " << batch << " " << shards;
    }
}

TEST(ShardMerge, ShardsGivenInAnyOrderMergeIntoTheWholeProfile) {
    ShardDir dir;
    const Trace whole = wholeProfile(95);
    auto paths = writeShards(dir, whole);
    std::swap(paths[0], paths[3]);
    const auto out = dir.file("merged.safetensors");
    const auto report = mergeShards(paths, out);
    EXPECT_EQ(report.samples, 95);
    EXPECT_EQ(report.shards, 4);
    EXPECT_EQ(report.hosts, (std::vector<std::string>{"node0", "node1", "node2", "node3"}));
    const Trace m = readTrace(out);
    EXPECT_EQ(m.numSamples, 95);
    EXPECT_EQ(m.probs, whole.probs);
    EXPECT_EQ(m.gateInputs, whole.gateInputs);
    EXPECT_EQ(m.labels, whole.labels);
    EXPECT_EQ(m.sampleIndex, whole.sampleIndex);
    EXPECT_EQ(m.exitMacs, whole.exitMacs);
    EXPECT_EQ(m.blockOutBytes, whole.blockOutBytes);
    // Timings: the median of the shards' 3, 1, 8, 2 ms is 2.5; exit k adds blocks 0..k and heads 0..k.
    EXPECT_EQ(m.blockMs, (std::vector<float>{2.5f, 2.5f, 2.5f}));
    EXPECT_FLOAT_EQ(m.exitMs[2], 3 * 2.5f + 3 * 0.1f);
    const auto shards = nlohmann::json::parse(m.metadata.at("shards"));
    ASSERT_EQ(shards.size(), 4u);
    EXPECT_EQ(shards[2]["host"], "node2");
    EXPECT_EQ(shards[2]["first"], 50);  // 10 batches: floor(10*2/4) = 5 batches of 10 before it
    EXPECT_EQ(shards[2]["block_ms"][0], 8.0);
    EXPECT_EQ(m.metadata.count("shard"), 0u);
    EXPECT_EQ(m.metadata.count("mixed_devices"), 0u);
    EXPECT_EQ(m.metadata.at("weights_hash"), "abc123");
}

TEST(ShardMerge, RefusesShardsThatDoNotBelongTogetherNamingTheShard) {
    ShardDir dir;
    const Trace whole = wholeProfile(95);
    const auto out = dir.file("merged.safetensors");
    const auto good = writeShards(dir, whole);

    expectRefused({good[0], good[1], good[3]}, out, "2/4", "missing");
    expectRefused({good[0], good[1], good[1], good[2], good[3]}, out, "1/4", "repeats");
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"weights_hash", "other"}, {"split_seed", "3"}, {"dataset", "cifar10"}, {"split", "val"},
             {"total_samples", "96"}, {"batch", "20"}}) {
        ShardDir d;
        const auto paths = writeShards(d, whole, [&](int i, Trace& t) {
            if (i == 2) t.metadata[key] = value;
        });
        expectRefused(paths, d.file("m.safetensors"), "shard2.safetensors", key);
    }
    {   // A shard of a 3-way split among 4-way ones.
        ShardDir d;
        auto paths = writeShards(d, whole);
        Trace odd = cut(whole, {1, 3}, 1.0f);
        writeTrace(odd, paths[1]);
        expectRefused(paths, d.file("m.safetensors"), "shard1.safetensors", "one of 3 shards");
    }
    {   // Claims another range than its shard's (an overlap with the next shard).
        ShardDir d;
        const auto paths = writeShards(d, whole, [](int i, Trace& t) {
            if (i == 1) t.metadata["shard_samples"] = "35";
        });
        expectRefused(paths, d.file("m.safetensors"), "1/4", "holds samples 20..54");
    }
    {   // Its data hold fewer samples than its metadata says.
        ShardDir d;
        const auto paths = writeShards(d, whole, [](int i, Trace& t) {
            if (i != 3) return;
            t.numSamples -= 1;
            t.probs.resize(t.probs.size() - 12);
            t.gateInputs.resize(t.gateInputs.size() - 6);
            t.labels.pop_back();
            t.sampleIndex.pop_back();
        });
        expectRefused(paths, d.file("m.safetensors"), "3/4", "holds 24 samples");
    }
    {   // The same sample in two shards.
        ShardDir d;
        const auto paths = writeShards(d, whole, [&](int i, Trace& t) {
            if (i == 1) t.sampleIndex[0] = whole.sampleIndex[3];
        });
        expectRefused(paths, d.file("m.safetensors"), "1/4", "sample 106");
    }
    {   // Profiled without --shard.
        ShardDir d;
        const auto single = d.file("single.safetensors");
        writeTrace(whole, single);
        expectRefused({single, good[1]}, d.file("m.safetensors"), "single.safetensors", "not a shard");
    }
    {   // Truncated on the way from the cluster.
        ShardDir d;
        auto paths = writeShards(d, whole);
        fs::resize_file(paths[2], fs::file_size(paths[2]) / 2);
        expectRefused(paths, d.file("m.safetensors"), "shard2.safetensors", "beyond");
    }
    expectRefused(good, good[0], good[0], "is one of the shards");
    EXPECT_TRUE(fs::exists(good[0]));
    expectRefused({}, out, "merge", "no shard files");
}

TEST(ShardMerge, TimingsFromDifferentDeviceTypesOnlyWhenAskedAndThenSaidSo) {
    ShardDir dir;
    const Trace whole = wholeProfile(95);
    const auto paths = writeShards(dir, whole, [](int i, Trace& t) {
        if (i == 3) t.metadata["device_type"] = "cuda:0";
    });
    const auto out = dir.file("merged.safetensors");
    expectRefused(paths, out, "3/4", "--mixed-devices");
    MergeOptions mixed;
    mixed.mixedDevices = true;
    EXPECT_TRUE(mergeShards(paths, out, mixed).mixedDevices);
    const Trace m = readTrace(out);
    EXPECT_EQ(m.metadata.at("mixed_devices"), "true");
    EXPECT_NE(m.metadata.at("device_type").find("cuda:0"), std::string::npos);
    EXPECT_EQ(m.probs, whole.probs);
}

TEST(SplitsMerge, ShardsOfASplitProfileMergeIntoTheSingleRunsFigures) {
    ShardDir dir;
    // 40 samples, 2 candidates; encoded sizes 1..40 and 41..80 in sample order.
    SplitsMeasurement whole;
    whole.splitBlock = {1, 3};
    whole.rawBytes = {4096, 1024};
    whole.numSamples = 40;
    for (int c = 0; c < 2; ++c)
        for (int i = 0; i < 40; ++i) whole.encodedBytes.push_back(40 * c + (i * 7) % 40 + 1);
    whole.correctAfter = {30, 31};
    whole.agreeing = {38, 40};
    whole.correctWithout = 32;
    whole.encodeMsSum = {4.0, 2.0};
    whole.decodeMsSum = {2.0, 1.0};
    whole.metadata = {{"model", "resnet-spinn"}, {"weights_hash", "h"}, {"dataset", "fashion-mnist"},
                      {"split", "val"}, {"split_seed", "0"}, {"codec_mode", "per-tensor"}, {"batch", "10"},
                      {"device_type", "cpu: Test CPU, 1 thread"}};
    // p95 of 1..40 is the 38th smallest (rank ceil(0.95 * 40) = 38): 38; the mean 20.5.
    const auto sum = summarise(whole);
    EXPECT_DOUBLE_EQ(sum.meanBytes[0], 20.5);
    EXPECT_DOUBLE_EQ(sum.p95Bytes[0], 38);
    EXPECT_DOUBLE_EQ(sum.p95Bytes[1], 78);
    EXPECT_DOUBLE_EQ(sum.accuracyAfter[1], 31.0 / 40);

    std::vector<std::string> paths;
    const int64_t correct[][2] = {{12, 11}, {18, 20}}, agree[][2] = {{19, 20}, {19, 20}};
    for (int s = 0; s < 2; ++s) {
        const auto r = shardRange(40, 10, {s, 2});
        SplitsMeasurement m = whole;
        m.numSamples = r.count;
        m.encodedBytes.clear();
        for (int c = 0; c < 2; ++c)
            for (int64_t i = r.first; i < r.first + r.count; ++i) m.encodedBytes.push_back(whole.encodedBytes[static_cast<std::size_t>(c * 40 + i)]);
        m.correctAfter = {correct[s][0], correct[s][1]};
        m.agreeing = {agree[s][0], agree[s][1]};
        m.correctWithout = 16;
        m.encodeMsSum = {2.0, 1.0};
        m.decodeMsSum = {1.0, 0.5};
        m.metadata["host"] = "node" + std::to_string(s);
        setShardMetadata(m.metadata, {s, 2}, r, 40);
        paths.push_back(dir.file("sp" + std::to_string(s) + ".safetensors"));
        writeSplitsFile(m, paths.back());
    }
    const auto out = dir.file("merged.safetensors");
    EXPECT_EQ(mergeShards({paths[1], paths[0]}, out).kind, "split profile");
    const auto merged = readSplitsFile(out);
    EXPECT_EQ(merged.encodedBytes, whole.encodedBytes);
    EXPECT_EQ(merged.correctAfter, whole.correctAfter);
    EXPECT_EQ(merged.agreeing, whole.agreeing);
    EXPECT_EQ(merged.correctWithout, whole.correctWithout);
    const auto ms = summarise(merged);
    EXPECT_EQ(ms.meanBytes, sum.meanBytes);
    EXPECT_EQ(ms.p95Bytes, sum.p95Bytes);
    EXPECT_DOUBLE_EQ(ms.encodeMs[0], 0.1);  // (2 + 2) ms over 40 samples
    // A trace shard among split-profile shards is refused by kind.
    const Trace t = cut(wholeProfile(95), {0, 4}, 1.0f);
    const auto tracePath = dir.file("trace0.safetensors");
    writeTrace(t, tracePath);
    expectRefused({paths[0], tracePath}, dir.file("m2.safetensors"), "trace0.safetensors", "a trace among");
    // Split profiles of another codec mode are not shards of this one.
    auto other = readSplitsFile(paths[1]);
    other.metadata["codec_mode"] = "lossless";
    writeSplitsFile(other, paths[1]);
    expectRefused(paths, dir.file("m3.safetensors"), "sp1.safetensors", "codec_mode");
}
