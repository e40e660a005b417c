#include "core/common/error.h"
#include "core/trace/trace.h"
#include "simulator/schedule/latency_model.h"
#include "simulator/schedule/scheduler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>

using exitscope::core::Error;
using exitscope::core::Trace;
using namespace exitscope::simulator;

namespace {

// Three blocks of 2, 4 and 8 ms and 1, 2 and 4 million MACs (so that at
// 1 GFLOP/s the MAC-derived times equal the measured ones), exits after each
// block with heads of 1, 1 and 0.5 ms. Four kinds of sample, each five
// times (N = 20), all of class 0; "p" is the probability of class 0:
//   A: p = .95 at every exit          -> right everywhere, confidence .95
//   B: p = .3, .9, .9                 -> right from exit 1 (confidence .7, .9, .9)
//   C: p = .4, .35, .8                -> right only at exit 2 (confidence .6, .65, .8)
//   D: p = .2, .45, .3                -> never right (confidence .8, .55, .7)
// Per-exit accuracy 25%, 50%, 75%; no policy beats 75%.
Trace handTrace() {
    Trace t;
    t.numSamples = 20;
    t.numExits = 3;
    t.numClasses = 2;
    t.numBlocks = 3;
    const float p[4][3] = {{0.95f, 0.95f, 0.95f}, {0.3f, 0.9f, 0.9f}, {0.4f, 0.35f, 0.8f}, {0.2f, 0.45f, 0.3f}};
    for (int n = 0; n < 20; ++n) {
        t.labels.push_back(0);
        t.sampleIndex.push_back(n);
        for (int k = 0; k < 3; ++k) {
            t.probs.push_back(p[n % 4][k]);
            t.probs.push_back(1.0f - p[n % 4][k]);
        }
    }
    t.blockMs = {2.0f, 4.0f, 8.0f};
    t.blockMacs = {1'000'000, 2'000'000, 4'000'000};
    t.blockOutBytes = {4000, 2000, 800};
    t.blockRelu = {1, 1, 1};
    t.exitBlock = {0, 1, 2};
    t.headMs = {1.0f, 1.0f, 0.5f};
    t.headMacs = {500'000, 500'000, 250'000};
    t.exitMacs = {1'500'000, 4'000'000, 8'250'000};
    t.exitMs = {3.0f, 8.0f, 16.5f};
    t.metadata["model_spec"] = R"({"input_shape": [1, 28, 28]})";
    return t;
}

// Device as fast as the profiling machine, server 4x, 8 Mbit/s (1000 bytes
// per ms), 10 ms RTT, 4-byte reply (0.004 ms).
void handConditions(LatencyModel& m) {
    m.setConditions(Platform::withRelativeSpeed("device", 1.0), Platform::withRelativeSpeed("server", 4.0),
                    Link{8.0, 10.0, 0.0, 4.0});
}

ExitProfile histogramProfile(std::vector<int64_t> h, double accuracy, bool cascade = true) {
    ExitProfile p;
    p.label = "hand";
    p.cascade = cascade;
    p.accuracy = accuracy;
    p.numSamples = std::accumulate(h.begin(), h.end(), int64_t{0});
    p.histogram = std::move(h);
    return p;
}

template <typename Body>
std::string errorOf(Body body) {
    try {
        body();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

constexpr double kTol = 1e-9;

}  // namespace

TEST(SplitPoints, DefaultsAreReluBoundariesWithQuarterBytes) {
    Trace t = handTrace();
    const auto s = defaultSplitPoints(t);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(s[0].blocksOnDevice, 0);
    EXPECT_EQ(s[0].bytesPerSample, 784.0);   // 1 x 28 x 28 input, one byte a pixel
    EXPECT_EQ(s[1].bytesPerSample, 1000.0);  // 4000 fp32 bytes / 4
    EXPECT_EQ(s[2].bytesPerSample, 500.0);
    EXPECT_EQ(s[3].blocksOnDevice, 3);
    t.blockRelu = {0, 1, 1};  // no ReLU after block 0: no split there
    const auto f = defaultSplitPoints(t, 100.0);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[1].blocksOnDevice, 2);
    t.metadata.clear();
    EXPECT_NE(errorOf([&] { defaultSplitPoints(t); }).find("input_shape"), std::string::npos);
}

TEST(LatencyModel, HandComputedLatencyAtEverySplit) {
    LatencyModel m(handTrace(), defaultSplitPoints(handTrace()));
    handConditions(m);
    // Server only: 784 B -> 0.784 + 10 RTT + 0.004 reply = 10.788 link.
    EXPECT_NEAR(m.latencyMs(0, 0, true), 11.538, kTol);  // + (2 + 1) / 4
    EXPECT_NEAR(m.latencyMs(1, 0, true), 12.788, kTol);  // + (2 + 4 + 1 + 1) / 4
    EXPECT_NEAR(m.latencyMs(2, 0, true), 14.913, kTol);  // + (14 + 2.5) / 4
    // After block 0: exit 0 on the device (2 + 1); the rest send 1000 B (11.004).
    EXPECT_NEAR(m.latencyMs(0, 1, true), 3.0, kTol);
    EXPECT_NEAR(m.latencyMs(1, 1, true), 15.254, kTol);  // 3 + 11.004 + (4 + 1) / 4
    EXPECT_NEAR(m.latencyMs(2, 1, true), 17.379, kTol);  // 3 + 11.004 + (4 + 8 + 1 + 0.5) / 4
    // After block 1: exits 0 and 1 on the device; exit 2 sends 500 B (10.504).
    EXPECT_NEAR(m.latencyMs(1, 2, true), 8.0, kTol);     // 2 + 4 + 1 + 1
    EXPECT_NEAR(m.latencyMs(2, 2, true), 20.629, kTol);  // 8 + 10.504 + (8 + 0.5) / 4
    // Device only.
    EXPECT_NEAR(m.latencyMs(2, 3, true), 16.5, kTol);  // 14 + 2.5
    // Without the cascade only the exit's own head runs.
    EXPECT_NEAR(m.latencyMs(2, 3, false), 14.5, kTol);    // 14 + 0.5
    EXPECT_NEAR(m.latencyMs(2, 0, false), 14.413, kTol);  // 10.788 + 14.5 / 4
    EXPECT_NEAR(m.latencyMs(2, 1, false), 16.129, kTol);  // 2 + 11.004 + 12.5 / 4

    const SampleTimes t = m.sampleTimes(1, 1, true);
    EXPECT_FALSE(t.onDevice);
    EXPECT_NEAR(t.deviceMs, 3.0, kTol);
    EXPECT_NEAR(t.linkMs, 11.004, kTol);
    EXPECT_NEAR(t.serverMs, 1.25, kTol);
    EXPECT_EQ(t.bytes, 1000.0);
    EXPECT_EQ(t.deviceMacs, 1'500'000.0);  // block 0 + head 0
    EXPECT_EQ(t.serverMacs, 2'500'000.0);  // block 1 + head 1
}

TEST(LatencyModel, HandComputedDesignFigures) {
    LatencyModel m(handTrace(), defaultSplitPoints(handTrace()));
    handConditions(m);
    // Two samples leave at exit 0 (3 ms each, on the device), one at exit 1
    // (15.254 ms) and one at exit 2 (17.379 ms), split after block 0.
    const DesignFigures f = m.evaluate(histogramProfile({2, 1, 1}, 0.75), 1);
    EXPECT_EQ(f.accuracy, 0.75);
    EXPECT_NEAR(f.meanMs, (6.0 + 15.254 + 17.379) / 4, kTol);
    EXPECT_NEAR(f.p95Ms, 17.379, kTol);     // rank ceil(0.95 * 4) = 4: the slowest
    EXPECT_NEAR(f.meanBytes, 500.0, kTol);  // half the samples send 1000 B
    EXPECT_NEAR(f.fractionOnDevice, 0.5, kTol);
    EXPECT_NEAR(f.deviceMacs, 1.5e6, kTol);                 // block 0 + head 0 for everyone
    EXPECT_NEAR(f.serverMacs, (2.5e6 + 6.75e6) / 4, kTol);  // (block 1 + head 1), (blocks 1-2 + heads 1-2)
    EXPECT_NEAR(f.deviceStageMs, 3.0, kTol);
    EXPECT_NEAR(f.linkStageMs, 2 * 1.004 / 4, kTol);  // serialisation only, no RTT
    EXPECT_NEAR(f.serverStageMs, (1.25 + 3.375) / 4, kTol);
    EXPECT_NEAR(f.throughputPerS, 1000.0 / 3.0, 1e-6);  // the device is the bottleneck
}

TEST(LatencyModel, P95IsTheNearestRank) {
    LatencyModel m(handTrace(), defaultSplitPoints(handTrace()));
    handConditions(m);
    // Device only: 3, 8 and 16.5 ms. Of 20 samples the 19th slowest decides.
    EXPECT_NEAR(m.evaluate(histogramProfile({19, 0, 1}, 0.5), 3).p95Ms, 3.0, kTol);
    EXPECT_NEAR(m.evaluate(histogramProfile({18, 0, 2}, 0.5), 3).p95Ms, 16.5, kTol);
    EXPECT_NEAR(m.evaluate(histogramProfile({18, 1, 1}, 0.5), 3).p95Ms, 8.0, kTol);
}

TEST(LatencyModel, GflopsLoadAndBandwidthChanges) {
    auto splits = defaultSplitPoints(handTrace());
    splits[1].encodeMs = 1.0;
    splits[1].decodeMs = 2.0;
    LatencyModel m(handTrace(), splits);
    handConditions(m);
    // Codec: encode 1 ms on the device, decode 2 / 4 on the server.
    EXPECT_NEAR(m.latencyMs(1, 1, true), 15.254 + 1.0 + 0.5, kTol);
    // 2 GFLOP/s device: the trace's machine did 1 GFLOP/s, so everything halves, codec too.
    m.setConditions(Platform::withGflops("g", 2.0), Platform::withRelativeSpeed("server", 4.0),
                    Link{8.0, 10.0, 0.0, 4.0});
    EXPECT_NEAR(m.latencyMs(0, 3, true), 1.5, kTol);  // (2 + 1) / 2
    EXPECT_NEAR(m.latencyMs(1, 1, true), 1.5 + 0.5 + 11.004 + 1.25 + 0.5, kTol);
    // Device busy half the time: device work doubles.
    m.setDeviceLoad(0.5);
    EXPECT_NEAR(m.latencyMs(0, 3, true), 3.0, kTol);
    // 16 Mbit/s: 1000 B take 0.5 ms, the reply 0.002 ms.
    m.setBandwidth(16.0);
    EXPECT_NEAR(m.latencyMs(1, 1, true), 3.0 + 1.0 + 10.502 + 1.25 + 0.5, kTol);
    EXPECT_NE(errorOf([&] { m.setBandwidth(0.0); }).find("bandwidth"), std::string::npos);
    EXPECT_NE(errorOf([&] { m.setDeviceLoad(1.0); }).find("load"), std::string::npos);
}

TEST(LatencyModel, RejectsInconsistentInputs) {
    Trace t = handTrace();
    t.headMs = {1.0f, 1.0f};
    EXPECT_NE(errorOf([&] { (void)LatencyModel(t, defaultSplitPoints(handTrace())); }).find("head_ms"),
              std::string::npos);
    auto splits = defaultSplitPoints(handTrace());
    splits[2].bytesPerSample = -1.0;
    EXPECT_NE(errorOf([&] { (void)LatencyModel(handTrace(), splits); }).find("split point 2"), std::string::npos);
    splits[2].bytesPerSample = 500.0;
    std::swap(splits[1], splits[2]);
    EXPECT_NE(errorOf([&] { (void)LatencyModel(handTrace(), splits); }).find("increasing"), std::string::npos);
    EXPECT_NE(errorOf([&] {
                  checkExitProfile(histogramProfile({1, 2}, 0.5), 3);
              }).find("histogram"),
              std::string::npos);
}

TEST(ExitProfiles, ThresholdsAndPoliciesGiveHandCountedHistograms) {
    const Trace t = handTrace();
    const auto scores = exitscope::core::computeScores(t, exitscope::core::ConfidenceCriterion::MaxSoftmax);
    // 0.75: A and D leave at exit 0 (.95, .8), B at exit 1 (.9), C at exit 2.
    const auto p = thresholdProfiles(scores, {0.75f, 0.5f}).front();
    EXPECT_EQ(p.histogram, (std::vector<int64_t>{10, 5, 5}));
    EXPECT_DOUBLE_EQ(p.accuracy, 0.75);
    EXPECT_TRUE(p.cascade);
    const auto f = finalExitProfile(t);
    EXPECT_EQ(f.histogram, (std::vector<int64_t>{0, 0, 20}));
    EXPECT_DOUBLE_EQ(f.accuracy, 0.75);
    EXPECT_FALSE(f.cascade);
    exitscope::core::PolicyConfig fixed;
    fixed.kind = exitscope::core::PolicyKind::Static;
    fixed.staticExit = 1;
    const auto s = policyProfile(t, fixed, "static 1");
    EXPECT_EQ(s.histogram, (std::vector<int64_t>{0, 20, 0}));
    EXPECT_DOUBLE_EQ(s.accuracy, 0.5);
    EXPECT_FALSE(s.cascade);
}

TEST(Scheduler, PicksDeviceOnlyAtVeryLowBandwidthWithFastDevice) {
    Scheduler s(handTrace(), defaultSplitPoints(handTrace()));
    s.setConditions(Platform::withRelativeSpeed("fast", 10.0), Platform::withRelativeSpeed("server", 10.0),
                    Link{0.01, 10.0, 0.0, 4.0});  // 1000 B take 800 ms
    const Plan p = s.plan(Goal::lowestLatency(0.75));
    ASSERT_TRUE(p.feasible) << p.explanation;
    EXPECT_EQ(s.model().splits()[p.best.split].blocksOnDevice, 3);
    EXPECT_EQ(p.best.fractionOnDevice, 1.0);
    // 10 samples at exit 0 (0.3 ms), 5 at exit 1 (0.8), 5 at exit 2 (1.65).
    EXPECT_NEAR(p.best.meanMs, (10 * 0.3 + 5 * 0.8 + 5 * 1.65) / 20, kTol);
    // With no accuracy bound, every design keeping all samples on the device
    // ties; the tie goes to the one that says so: device only.
    const Plan any = s.plan(Goal::lowestLatency(0.0));
    EXPECT_EQ(s.model().splits()[any.best.split].blocksOnDevice, 3);
    EXPECT_NEAR(any.best.meanMs, 0.3, kTol);
}

TEST(Scheduler, PicksServerOnlyAtVeryHighBandwidthWithSlowDevice) {
    Scheduler s(handTrace(), defaultSplitPoints(handTrace()));
    s.setConditions(Platform::withRelativeSpeed("slow", 0.01), Platform::withRelativeSpeed("server", 100.0),
                    Link{1e4, 0.1, 0.0, 4.0});
    const Plan p = s.plan(Goal::lowestLatency(0.75));
    ASSERT_TRUE(p.feasible) << p.explanation;
    EXPECT_EQ(s.model().splits()[p.best.split].blocksOnDevice, 0);
    EXPECT_EQ(p.best.fractionOnDevice, 0.0);
    // Link: 784 B at 1e4 Mbit/s + 0.1 RTT + 4 B reply; then the cascade on the
    // server: 10 x 3, 5 x 8 and 5 x 16.5 ms of work at 100x.
    const double link = 784 * 8 / 1e7 + 0.1 + 4 * 8 / 1e7;
    EXPECT_NEAR(p.best.meanMs, link + (10 * 0.03 + 5 * 0.08 + 5 * 0.165) / 20, kTol);
}

TEST(Scheduler, InfeasibleAccuracyExplainedWithTheGap) {
    Scheduler s(handTrace(), defaultSplitPoints(handTrace()));
    const Plan p = s.plan(Goal::lowestLatency(0.9));
    EXPECT_FALSE(p.feasible);
    EXPECT_EQ(p.numFeasible, 0);
    EXPECT_TRUE(p.front.empty());
    EXPECT_NE(p.explanation.find("best accuracy 75% is 15 points below the 90% asked"), std::string::npos)
        << p.explanation;
}

TEST(Scheduler, InfeasibleLatencyExplainedWithTheGap) {
    Scheduler s(handTrace(), defaultSplitPoints(handTrace()));
    s.setConditions(Platform::withRelativeSpeed("device", 1.0), Platform::withRelativeSpeed("server", 4.0),
                    Link{8.0, 10.0, 0.0, 4.0});
    // The fastest anything gets: every sample at exit 0 on the device, 3 ms.
    const Plan p = s.plan(Goal::highestAccuracy(1.0));
    EXPECT_FALSE(p.feasible);
    EXPECT_NE(p.explanation.find("lowest 95th-percentile latency 3 ms is 2 ms over the 1 ms asked"), std::string::npos)
        << p.explanation;
}

TEST(Scheduler, JointlyInfeasibleBoundsExplained) {
    Scheduler s(handTrace(), defaultSplitPoints(handTrace()));
    s.setConditions(Platform::withRelativeSpeed("device", 1.0), Platform::withRelativeSpeed("server", 4.0),
                    Link{8.0, 10.0, 0.0, 4.0});
    // 75% alone is reachable, and so is a 10 ms p95 (3 ms), but 75% needs
    // sample C at exit 2, and exit 2 is at best 14.413 ms (server only,
    // final exit only: 10.788 + 14.5 / 4).
    const Plan p = s.plan(Goal::lowestServerCost(10.0, 0.75));
    EXPECT_FALSE(p.feasible);
    EXPECT_NE(p.explanation.find("among the designs with accuracy >= 75%, the lowest 95th-percentile latency "
                                 "14.41 ms is 4.41 ms over the 10 ms asked"),
              std::string::npos)
        << p.explanation;
}

TEST(Scheduler, BaselinesOnTheSameFigures) {
    SchedulerOptions o;
    o.fixedThreshold = 0.85f;  // A at exit 0, B at exit 1, C and D at exit 2: {5, 5, 10}
    Scheduler s(handTrace(), defaultSplitPoints(handTrace()), o);
    s.setConditions(Platform::withRelativeSpeed("device", 1.0), Platform::withRelativeSpeed("server", 4.0),
                    Link{8.0, 10.0, 0.0, 4.0});
    const Plan p = s.plan(Goal::lowestLatency(0.0));
    ASSERT_EQ(p.baselines.size(), 4u);
    EXPECT_NEAR(p.baselines[0].figures.meanMs, 14.5, kTol);    // device only, final head only
    EXPECT_NEAR(p.baselines[1].figures.meanMs, 14.413, kTol);  // server only
    // Without early exits the best split is server only (14.413 against 16.129, 18.629, 14.5).
    EXPECT_EQ(p.baselines[2].figures.split, 0u);
    EXPECT_NEAR(p.baselines[2].figures.meanMs, 14.413, kTol);
    // Threshold 0.85: device only gives (5 x 3 + 5 x 8 + 10 x 16.5) / 20 = 11,
    // better than after block 1 (13.0645), after block 0 (13.253), server only (13.538).
    EXPECT_EQ(p.baselines[3].figures.split, 3u);
    EXPECT_NEAR(p.baselines[3].figures.meanMs, 11.0, kTol);
    for (const auto& b : p.baselines) EXPECT_TRUE(b.feasible) << b.name;
    EXPECT_LE(p.best.meanMs, 11.0);
}

TEST(Scheduler, ParetoFrontRisesInBothAccuracyAndLatency) {
    Scheduler s(handTrace(), defaultSplitPoints(handTrace()));
    const Plan p = s.plan(Goal::lowestLatency(0.0));
    ASSERT_FALSE(p.front.empty());
    for (std::size_t i = 1; i < p.front.size(); ++i) {
        EXPECT_GT(p.front[i].meanMs, p.front[i - 1].meanMs);
        EXPECT_GT(p.front[i].accuracy, p.front[i - 1].accuracy);
    }
    // No design is both faster and more accurate than a front point.
    for (const auto& f : p.front)
        for (const auto& d : p.designs) EXPECT_FALSE(d.meanMs < f.meanMs && d.accuracy > f.accuracy);
    EXPECT_EQ(p.front.back().accuracy, 0.75);
    EXPECT_EQ(p.designs.size(), s.profiles().size() * 4);
}

TEST(Scheduler, ThroughputAndServerCostGoals) {
    Scheduler s(handTrace(), defaultSplitPoints(handTrace()));
    s.setConditions(Platform::withRelativeSpeed("device", 1.0), Platform::withRelativeSpeed("server", 4.0),
                    Link{8.0, 10.0, 0.0, 4.0});
    // At 75%, any device share costs at least block 0 + head 0 = 3 ms a
    // sample. Server only keeps the device idle; with A and D leaving at exit
    // 0, B at 1 and C at 2 ({10, 5, 5}, the fewest server MACs that reach
    // 75%) the server is busy (10 x 0.75 + 5 x 2 + 5 x 4.125) / 20 = 1.90625
    // ms a sample and the link 0.788: the server is the bottleneck.
    const Plan t = s.plan(Goal::highestThroughput(0.75));
    ASSERT_TRUE(t.feasible);
    EXPECT_EQ(t.best.split, 0u);
    EXPECT_NEAR(t.best.serverStageMs, 1.90625, kTol);
    EXPECT_NEAR(t.best.throughputPerS, 1000.0 / 1.90625, 1e-6);
    // Lowest server cost at 75% within 20 ms p95: device only, 0 server MACs.
    const Plan c = s.plan(Goal::lowestServerCost(20.0, 0.75));
    ASSERT_TRUE(c.feasible);
    EXPECT_EQ(c.best.serverMacs, 0.0);
    EXPECT_LE(c.best.p95Ms, 20.0);
    EXPECT_NE(errorOf([&] { s.plan(Goal::lowestLatency(92.0)); }).find("[0, 1]"), std::string::npos);
}

TEST(Scheduler, BundledTraceReplansAfterBandwidthChange) {
    const Trace t = exitscope::core::readTrace(std::string(EXITSCOPE_SOURCE_DIR) +
                                               "/assets/models/msdnet-fashion-mnist-val.safetensors");
    const auto splits = defaultSplitPoints(t);
    ASSERT_EQ(splits.size(), static_cast<std::size_t>(t.numBlocks + 1));  // every MSDNet block ends in a ReLU
    EXPECT_EQ(splits[1].bytesPerSample, static_cast<double>(t.blockOutBytes[0]) / 4);
    Scheduler s(t, splits);
    s.setConditions(loadPlatformSpec("phone-class"), loadPlatformSpec("gpu-server"), Link{10.0, 20.0, 0.0, 4.0});
    // Device only without early exits: every block and the last head, at half speed.
    double ms = t.headMs.back();
    for (float b : t.blockMs) ms += b;
    const Plan p = s.plan(Goal::lowestLatency(0.0));
    EXPECT_NEAR(p.baselines[0].figures.meanMs, ms / 0.5, 1e-9);
    // Less bandwidth can only make the best design slower or leave it.
    s.setBandwidth(0.1);
    const Plan slow = s.plan(Goal::lowestLatency(0.0));
    EXPECT_GE(slow.best.meanMs, p.best.meanMs);
    EXPECT_EQ(slow.designs.size(), p.designs.size());
}
