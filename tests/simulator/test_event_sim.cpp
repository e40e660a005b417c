#include "core/common/error.h"
#include "core/trace/trace.h"
#include "simulator/simulate/event_sim.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <string>

using exitscope::core::Error;
using exitscope::core::Trace;
using namespace exitscope::simulator;

namespace {

// The scheduler tests' hand trace: blocks of 2, 4, 8 ms, exits after each
// with heads of 1, 1, 0.5 ms; 20 samples of four kinds (see test_schedule).
// Every sample's confidence at exit 0 is >= 0.6, so a threshold <= 0.6 sends
// all of them out at exit 0.
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

template <typename Body>
std::string errorOf(Body body) {
    try {
        body();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string csvOf(const SimResult& r) {
    std::ostringstream s;
    writeRequestsCsv(s, r);
    return s.str();
}

constexpr double kTol = 1e-9;

}  // namespace

TEST(EventSim, DeviceQueueByHand) {
    // A 10x device and a 0.01 Mbit/s link: device only, every sample at exit
    // 0 for (2 + 1) / 10 = 0.3 ms. Arrivals every 0.1 ms pile up on the device:
    // starts 0, 0.3, 0.6, so waits 0, 0.2, 0.4 and latencies 0.3, 0.5, 0.7.
    const Trace t = handTrace();
    Scheduler s(t, defaultSplitPoints(t));
    s.setConditions(Platform::withRelativeSpeed("fast", 10.0), Platform::withRelativeSpeed("server", 10.0),
                    Link{0.01, 10.0, 0.0, 4.0});
    SimConfig c;
    c.periodMs = 0.1;
    c.numRequests = 3;
    const SimResult r = simulate(s, t, BandwidthSchedule::constant(0.01), c);
    ASSERT_EQ(r.requests.size(), 3u);
    const double latency[3] = {0.3, 0.5, 0.7}, wait[3] = {0.0, 0.2, 0.4};
    for (int i = 0; i < 3; ++i) {
        const auto& q = r.requests[static_cast<std::size_t>(i)];
        EXPECT_EQ(q.split, "device only");
        EXPECT_EQ(q.exit, 0);
        EXPECT_NEAR(q.arrivalMs, 0.1 * i, kTol);
        EXPECT_NEAR(q.deviceMs, 0.3, kTol);
        EXPECT_EQ(q.linkMs, 0.0);
        EXPECT_EQ(q.bytes, 0.0);
        EXPECT_NEAR(q.queueingMs, wait[i], kTol);
        EXPECT_NEAR(q.latencyMs, latency[i], kTol);
    }
    EXPECT_NEAR(r.summary.meanMs, 0.5, kTol);
    EXPECT_NEAR(r.summary.medianMs, 0.5, kTol);
    EXPECT_NEAR(r.summary.p95Ms, 0.7, kTol);
    // Samples 0, 1, 2 are kinds A, B, C: only A is right at exit 0.
    EXPECT_NEAR(r.summary.accuracy, 1.0 / 3.0, kTol);
    EXPECT_NEAR(r.summary.throughputPerS, 3.0 / 0.9 * 1000.0, 1e-6);  // last completion at 0.9 ms
}

TEST(EventSim, LinkQueueByHand) {
    // A 0.01x device, a 100x server, 8 Mbit/s (1000 B/ms), 10 ms RTT: server
    // only, each request sends 784 B (0.784 ms on the link), the server runs
    // exit 0 in 3 / 100 = 0.03 ms and the 4 B reply takes 0.004 ms.
    // Arrivals every 0.5 ms wait 0, 0.284 and 0.568 ms for the link.
    const Trace t = handTrace();
    Scheduler s(t, defaultSplitPoints(t));
    s.setConditions(Platform::withRelativeSpeed("slow", 0.01), Platform::withRelativeSpeed("server", 100.0),
                    Link{8.0, 10.0, 0.0, 4.0});
    SimConfig c;
    c.periodMs = 0.5;
    c.numRequests = 3;
    const SimResult r = simulate(s, t, BandwidthSchedule::constant(8.0), c);
    const double wait[3] = {0.0, 0.284, 0.568};
    for (int i = 0; i < 3; ++i) {
        const auto& q = r.requests[static_cast<std::size_t>(i)];
        EXPECT_EQ(q.split, "server only");
        EXPECT_EQ(q.exit, 0);
        EXPECT_EQ(q.bytes, 784.0);
        EXPECT_NEAR(q.deviceMs, 0.0, kTol);
        EXPECT_NEAR(q.linkMs, 0.784 + 10.0 + 0.004, kTol);
        EXPECT_NEAR(q.serverMs, 0.03, kTol);
        EXPECT_NEAR(q.queueingMs, wait[i], kTol);
        EXPECT_NEAR(q.latencyMs, 10.818 + wait[i], kTol);
    }
}

TEST(EventSim, ConservesRequests) {
    const Trace t = handTrace();
    Scheduler s(t, defaultSplitPoints(t));
    s.setConditions(Platform::withRelativeSpeed("device", 1.0), Platform::withRelativeSpeed("server", 4.0),
                    Link{8.0, 10.0, 5.0, 4.0});
    RandomWalkParams w;
    w.startMbps = 8.0;
    w.minMbps = 0.05;
    w.maxMbps = 50.0;
    w.stepS = 0.5;
    w.durationS = 10.0;
    w.volatility = 1.0;
    SimConfig c;
    c.arrivals = ArrivalKind::Poisson;
    c.ratePerS = 200.0;
    c.numRequests = 500;
    c.seed = 7;
    c.replanIntervalMs = 250.0;
    const SimResult r = simulate(s, t, BandwidthSchedule::randomWalk(w, 3), c);
    ASSERT_EQ(r.requests.size(), 500u);
    EXPECT_EQ(r.summary.count, 500);
    std::set<int64_t> ids;
    double previousArrival = 0.0;
    for (const auto& q : r.requests) {
        ids.insert(q.id);
        EXPECT_GE(q.arrivalMs, previousArrival);
        previousArrival = q.arrivalMs;
        EXPECT_TRUE(std::isfinite(q.completionMs));
        EXPECT_GT(q.completionMs, q.arrivalMs);
        EXPECT_GE(q.queueingMs, 0.0);
        EXPECT_NEAR(q.latencyMs, q.deviceMs + q.linkMs + q.serverMs + q.queueingMs, 1e-6);
    }
    EXPECT_EQ(ids.size(), 500u);
    EXPECT_EQ(*ids.begin(), 0);
    EXPECT_EQ(*ids.rbegin(), 499);
    EXPECT_GT(r.summary.replans, 0);
}

TEST(EventSim, SameSeedSameOutputOtherSeedOtherArrivals) {
    const Trace t = handTrace();
    auto run = [&](uint64_t seed) {
        Scheduler s(t, defaultSplitPoints(t));
        s.setConditions(Platform::withRelativeSpeed("slow", 0.01), Platform::withRelativeSpeed("server", 100.0),
                        Link{8.0, 10.0, 4.0, 4.0});
        SimConfig c;
        c.arrivals = ArrivalKind::Poisson;
        c.ratePerS = 100.0;
        c.numRequests = 50;
        c.seed = seed;
        return simulate(s, t, BandwidthSchedule::constant(8.0), c);
    };
    const SimResult a = run(1), b = run(1), d = run(2);
    EXPECT_EQ(csvOf(a), csvOf(b));
    EXPECT_NE(a.requests[0].arrivalMs, d.requests[0].arrivalMs);
    EXPECT_NE(csvOf(a), csvOf(d));
}

TEST(EventSim, ReplansToDeviceWhenBandwidthDrops) {
    // At 1e4 Mbit/s server only costs about 0.13 ms against 3 ms on the
    // device; after the drop to 0.01 Mbit/s at 1 s, 784 B would take 627 ms,
    // so the re-plan at the step moves everything to the device.
    const Trace t = handTrace();
    Scheduler s(t, defaultSplitPoints(t));
    s.setConditions(Platform::withRelativeSpeed("device", 1.0), Platform::withRelativeSpeed("server", 100.0),
                    Link{1e4, 0.1, 0.0, 4.0});
    SimConfig c;
    c.periodMs = 100.0;
    c.numRequests = 20;
    c.replanIntervalMs = std::numeric_limits<double>::infinity();  // only on bandwidth steps
    const auto bw = BandwidthSchedule::fromSteps({{0.0, 1e4}, {1.0, 0.01}});
    const SimResult r = simulate(s, t, bw, c);
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(r.requests[static_cast<std::size_t>(i)].split, i < 10 ? "server only" : "device only") << i;
    EXPECT_EQ(r.summary.replans, 1);
    EXPECT_EQ(r.summary.designChanges, 1);
    EXPECT_NEAR(r.requests[15].latencyMs, 3.0, kTol);
}

TEST(EventSim, UsesTheExitsAnAddedProfileKeptPerSample) {
    // An oracle that runs only the head of the exit it takes (not a cascade):
    // kinds 0..3 leave at 0, 1, 2 and 0. It is as accurate as the best
    // threshold (75%) but skips the heads before its exit, so it is faster
    // and highestAccuracy picks it; the simulation must then use its exits.
    const Trace t = handTrace();
    Scheduler s(t, defaultSplitPoints(t));
    s.setConditions(Platform::withRelativeSpeed("device", 1.0), Platform::withRelativeSpeed("server", 1.0),
                    Link{0.01, 10.0, 0.0, 4.0});
    ExitProfile oracle;
    oracle.label = "oracle, own head only";
    oracle.cascade = false;
    oracle.numSamples = 20;
    oracle.histogram = {10, 5, 5};
    oracle.accuracy = 0.75;
    for (int n = 0; n < 20; ++n) oracle.sampleExits.push_back(std::vector<int64_t>{0, 1, 2, 0}[n % 4]);
    const auto index = s.addProfile(oracle);
    SimConfig c;
    c.periodMs = 100.0;
    c.numRequests = 8;
    c.goal = Goal::highestAccuracy(1e6);
    const SimResult r = simulate(s, t, BandwidthSchedule::constant(0.01), c);
    for (int i = 0; i < 8; ++i) {
        const auto& q = r.requests[static_cast<std::size_t>(i)];
        EXPECT_EQ(q.profile, index) << i;
        EXPECT_EQ(q.exit, std::vector<int64_t>({0, 1, 2, 0})[static_cast<std::size_t>(i % 4)]) << i;
    }
    // Exit 2 alone on the device: blocks 2 + 4 + 8 ms and its own 0.5 ms head.
    EXPECT_NEAR(r.requests[2].latencyMs, 14.5, kTol);
}

TEST(EventSim, BadParametersAreErrors) {
    const Trace t = handTrace();
    Scheduler s(t, defaultSplitPoints(t));
    const auto bw = BandwidthSchedule::constant(8.0);
    SimConfig c;
    c.periodMs = 0.0;
    EXPECT_NE(errorOf([&] { simulate(s, t, bw, c); }).find("period 0 ms"), std::string::npos);
    c = SimConfig{};
    c.arrivals = ArrivalKind::Poisson;
    c.ratePerS = -1.0;
    EXPECT_NE(errorOf([&] { simulate(s, t, bw, c); }).find("rate -1"), std::string::npos);
    c = SimConfig{};
    c.numRequests = 0;
    EXPECT_NE(errorOf([&] { simulate(s, t, bw, c); }).find("request count 0"), std::string::npos);
    c = SimConfig{};
    c.replanIntervalMs = 0.0;
    EXPECT_NE(errorOf([&] { simulate(s, t, bw, c); }).find("re-plan interval"), std::string::npos);
    c = SimConfig{};
    c.goal = Goal::lowestLatency(0.9);  // no design beats 75%
    EXPECT_NE(errorOf([&] { simulate(s, t, bw, c); }).find("infeasible at t = 0"), std::string::npos);
}

// A stream must finish: one whose span holds more re-planning ticks than
// kMaxReplans (a vanishing rate, a huge period, a tiny re-plan interval)
// is refused before anything runs, naming the values; one just inside runs.
TEST(EventSim, StreamsThatWouldNotFinishAreRefused) {
    const Trace t = handTrace();
    Scheduler s(t, defaultSplitPoints(t));
    const auto bw = BandwidthSchedule::constant(8.0);
    SimConfig c;
    c.numRequests = 40;
    c.arrivals = ArrivalKind::Poisson;
    c.ratePerS = 1e-300;
    const std::string rate = errorOf([&] { simulate(s, t, bw, c); });
    EXPECT_NE(rate.find("at 1e-300 per s"), std::string::npos) << rate;
    EXPECT_NE(rate.find("at most 1000000"), std::string::npos) << rate;
    c = SimConfig{};
    c.numRequests = 40;
    c.periodMs = 1e300;
    EXPECT_NE(errorOf([&] { simulate(s, t, bw, c); }).find("every 1e+300 ms"), std::string::npos);
    c = SimConfig{};
    c.numRequests = 40;
    c.replanIntervalMs = 1e-9;
    EXPECT_NE(errorOf([&] { simulate(s, t, bw, c); }).find("re-plan interval"), std::string::npos);
    // Planned once: any span finishes.
    c.replanIntervalMs = std::numeric_limits<double>::infinity();
    c.periodMs = 1e300;
    c.goal = Goal::highestThroughput();
    EXPECT_EQ(simulate(s, t, bw, c).summary.replans, 0);
    // 11 requests every 100 ms span 1,000 ms: re-planned every 0.0009 ms
    // that is 1.1e6 ticks, refused; every 1 ms, 1,000 ticks, run.
    c = SimConfig{};
    c.numRequests = 11;
    c.periodMs = 100.0;
    c.replanIntervalMs = 0.0009;
    c.goal = Goal::highestThroughput();
    EXPECT_NE(errorOf([&] { simulate(s, t, bw, c); }).find("about 1.11e+06 re-plans at one every 9e-04 ms"), std::string::npos);
    c.replanIntervalMs = 1.0;
    EXPECT_EQ(simulate(s, t, bw, c).summary.count, 11);
}
