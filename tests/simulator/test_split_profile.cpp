#include "core/common/error.h"
#include "core/trace/safetensors.h"
#include "simulator/schedule/split_profile.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace es = exitscope::core;
namespace sim = exitscope::simulator;
namespace fs = std::filesystem;

namespace {

// Three blocks, all after a ReLU; exits after blocks 0 and 2.
es::Trace threeBlockTrace() {
    es::Trace t;
    t.numSamples = 1;
    t.numExits = 2;
    t.numClasses = 2;
    t.numBlocks = 3;
    t.probs = {0.9f, 0.1f, 0.2f, 0.8f};
    t.labels = {0};
    t.sampleIndex = {0};
    t.exitMacs = {100, 400};
    t.exitParams = {10, 40};
    t.exitMs = {1.0f, 4.0f};
    t.exitBlock = {0, 2};
    t.blockMacs = {100, 100, 100};
    t.blockParams = {10, 10, 10};
    t.blockMs = {1.0f, 1.0f, 1.0f};
    t.blockOutBytes = {4000, 2000, 1000};
    t.blockRelu = {1, 1, 1};
    t.headMacs = {0, 100};
    t.headParams = {0, 10};
    t.headMs = {0.0f, 1.0f};
    t.metadata = {{"weights_hash", "feed"}, {"model_spec", R"({"input_shape": [1, 28, 28]})"}};
    return t;
}

std::string writeSplits(const std::string& name, const std::string& hash, std::vector<int64_t> blocks,
                        std::vector<double> bytes) {
    const auto path = (fs::temp_directory_path() / ("exitscope_splits_" + std::to_string(::getpid()) + name)).string();
    const std::vector<double> encode(blocks.size(), 0.25), decode(blocks.size(), 0.125);
    const std::vector<int64_t> shape{static_cast<int64_t>(blocks.size())};
    es::SafeTensorsWriter w;
    w.add("split_block", shape, blocks);
    w.add("encoded_bytes_mean", shape, bytes);
    w.add("encode_ms", shape, encode);
    w.add("decode_ms", shape, decode);
    w.setMetadata("format", "exitscope-splits");
    w.setMetadata("weights_hash", hash);
    w.write(path);
    return path;
}

} // namespace

TEST(SplitProfile, MeasuredSizesAndTimesReplaceTheEstimate) {
    const auto trace = threeBlockTrace();
    const auto estimate = sim::defaultSplitPoints(trace);
    const auto path = writeSplits("ok", "feed", {0, 1}, {321.0, 123.0});
    const auto points = sim::measuredSplitPoints(trace, path);
    ASSERT_EQ(points.size(), estimate.size());
    for (std::size_t i = 0; i < points.size(); ++i) {
        const auto b = points[i].blocksOnDevice;
        if (b == 1 || b == 2) {
            EXPECT_DOUBLE_EQ(points[i].bytesPerSample, b == 1 ? 321.0 : 123.0);
            EXPECT_DOUBLE_EQ(points[i].encodeMs, 0.25);
            EXPECT_DOUBLE_EQ(points[i].decodeMs, 0.125);
        } else {
            // Server only, and the block not measured, keep the estimate.
            EXPECT_DOUBLE_EQ(points[i].bytesPerSample, estimate[i].bytesPerSample);
            EXPECT_DOUBLE_EQ(points[i].encodeMs, 0.0);
        }
    }
    fs::remove(path);
}

TEST(SplitProfile, OtherWeightsNonCandidatesAndBadValuesAreErrors) {
    const auto trace = threeBlockTrace();
    auto expectError = [&](const std::string& path, const std::string& needle) {
        try {
            sim::measuredSplitPoints(trace, path);
            ADD_FAILURE() << path;
        } catch (const es::Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        }
        fs::remove(path);
    };
    expectError(writeSplits("hash", "beef", {0}, {1.0}), "beef");
    expectError(writeSplits("last", "feed", {2}, {1.0}), "block 2 is not a split candidate");
    expectError(writeSplits("neg", "feed", {0}, {-5.0}), "negative");
    EXPECT_THROW(sim::measuredSplitPoints(trace, "/nonexistent/splits.safetensors"), es::Error);
}

TEST(SplitProfile, BundledProfilesFitTheirTraces) {
    for (const std::string m : {"msdnet", "resnet-spinn", "vgg-fine"}) {
        const std::string dir = std::string(EXITSCOPE_SOURCE_DIR) + "/assets/models/" + m + "-fashion-mnist";
        if (!fs::exists(dir + "-splits.safetensors")) GTEST_SKIP() << "bundled split profiles missing";
        const auto trace = es::readTrace(dir + "-val.safetensors");
        const auto points = sim::measuredSplitPoints(trace, dir + "-splits.safetensors");
        for (const auto& p : points) {
            if (p.blocksOnDevice <= 0 || p.blocksOnDevice >= trace.numBlocks) continue;
            // 8-bit + LZ4 payloads are smaller than the fp32 state; on small states (vgg-fine's
            // last ones, 576 values) the payload's fixed header makes them larger than fp32 / 4.
            const double fp32 = static_cast<double>(trace.blockOutBytes[static_cast<std::size_t>(p.blocksOnDevice - 1)]);
            EXPECT_LT(p.bytesPerSample, fp32 / 2) << m << " split " << p.blocksOnDevice;
            EXPECT_GT(p.bytesPerSample, 0.0);
            EXPECT_GT(p.encodeMs, 0.0);
        }
    }
}
