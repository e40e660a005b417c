// SPINN's scheduler re-plans on every slider move and bandwidth change.
// Goal (issue 4): one re-plan over all split points x 100 thresholds under
// 1 ms. Measured on each bundled test trace:
//   precompute        scores, the 100-threshold sweep and the per-(exit,
//                     split) tables: once per trace, not per re-plan;
//   full re-plan      new device, server and link (every latency term
//                     recomputed), then every design evaluated and ranked;
//   bandwidth re-plan only the link terms recomputed, then the plan;
//   load re-plan      a new device load (compute terms), then the plan.
// Each figure is the median of the per-iteration times, which a busy machine
// disturbs less than the mean.
//
// usage: bench_schedule [benchmark flags]

#include "core/common/error.h"
#include "core/trace/trace.h"
#include "simulator/schedule/scheduler.h"

#include "bench/bench_util.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace es = exitscope::simulator;
namespace ec = exitscope::core;

struct Setup {
    std::string model;
    ec::Trace trace;
    std::vector<es::SplitPoint> splits;
    std::unique_ptr<es::Scheduler> scheduler;
    es::Goal goal;
};
std::vector<Setup> g_setups;
es::Platform g_device, g_server;
const es::Link kLink{10.0, 20.0, 2.0, 4.0};
std::map<std::string, double> g_medianUs;  // "model/figure" -> median microseconds

template <typename Body>
void timed(benchmark::State& state, const std::string& name, Body body) {
    g_medianUs[name] = exitscope::bench::medianMicros(state, body);
}

void BM_Precompute(benchmark::State& state, Setup* s) {
    timed(state, s->model + "/precompute", [s] {
        es::Scheduler fresh(s->trace, s->splits);
        benchmark::DoNotOptimize(fresh.profiles().data());
    });
}

void BM_FullReplan(benchmark::State& state, Setup* s) {
    int i = 0;
    timed(state, s->model + "/full re-plan", [&] {
        // Alternating conditions, so every iteration really changes every term.
        es::Platform device = g_device;
        device.relativeSpeed *= (++i % 2) ? 1.0 : 1.5;
        s->scheduler->setConditions(device, g_server, kLink);
        const es::Plan p = s->scheduler->plan(s->goal);
        benchmark::DoNotOptimize(p.best.meanMs);
    });
}

void BM_BandwidthReplan(benchmark::State& state, Setup* s) {
    s->scheduler->setConditions(g_device, g_server, kLink);
    int i = 0;
    timed(state, s->model + "/bandwidth re-plan", [&] {
        s->scheduler->setBandwidth((++i % 2) ? 2.0 : 10.0);
        const es::Plan p = s->scheduler->plan(s->goal);
        benchmark::DoNotOptimize(p.best.meanMs);
    });
}

void BM_LoadReplan(benchmark::State& state, Setup* s) {
    s->scheduler->setConditions(g_device, g_server, kLink);
    int i = 0;
    timed(state, s->model + "/load re-plan", [&] {
        s->scheduler->setDeviceLoad((++i % 2) ? 0.5 : 0.0);
        const es::Plan p = s->scheduler->plan(s->goal);
        benchmark::DoNotOptimize(p.best.meanMs);
    });
}

void printDesign(const Setup& s, const char* name, const es::DesignFigures& d) {
    const auto& split = s.scheduler->model().splits()[d.split];
    std::printf("  %-52s %-14s %-22s acc %.2f%%  mean %7.2f ms  p95 %7.2f ms  %7.0f B  on device %3.0f%%\n", name,
                es::splitLabel(split.blocksOnDevice, s.trace.numBlocks).c_str(),
                s.scheduler->profiles()[d.profile].label.c_str(), 100 * d.accuracy, d.meanMs, d.p95Ms, d.meanBytes,
                100 * d.fractionOnDevice);
}

void printSummary() {
    std::printf("\nconditions: device %s, server %s, link %.0f Mbit/s, RTT %.0f ms\n", g_device.name.c_str(),
                g_server.name.c_str(), kLink.bandwidthMbps, kLink.rttMs);
    for (auto& s : g_setups) {
        s.scheduler->setConditions(g_device, g_server, kLink);
        const es::Plan p = s.scheduler->plan(s.goal);
        std::printf("\n%s: %lld blocks, %zu split points x %zu exit profiles = %zu designs; goal: %s\n",
                    s.model.c_str(), static_cast<long long>(s.trace.numBlocks), s.splits.size(),
                    s.scheduler->profiles().size(), p.designs.size(), es::describeGoal(s.goal).c_str());
        if (p.feasible)
            printDesign(s, "scheduler's choice", p.best);
        else
            std::printf("  %s\n", p.explanation.c_str());
        for (const auto& b : p.baselines) printDesign(s, b.name.c_str(), b.figures);
    }
    std::printf("\n%-40s %12s  %s\n", "figure", "median us", "goal");
    for (const auto& s : g_setups)
        for (const char* f : {"precompute", "full re-plan", "bandwidth re-plan", "load re-plan"}) {
            const auto it = g_medianUs.find(s.model + "/" + f);
            if (it == g_medianUs.end()) continue;
            const bool replan = std::string(f) != "precompute";
            std::printf("%-40s %12.1f  %s\n", (s.model + " " + f).c_str(), it->second,
                        replan ? (it->second < 1000.0 ? "< 1 ms: met" : "< 1 ms: NOT met") : "(once per trace)");
        }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        g_device = es::loadPlatformSpec("phone-class");
        g_server = es::loadPlatformSpec("gpu-server");
        for (const char* model : {"msdnet", "resnet-spinn", "vgg-fine"}) {
            Setup s;
            s.model = model;
            s.trace = ec::readTrace(std::string(EXITSCOPE_SOURCE_DIR) + "/assets/models/" + model +
                                    "-fashion-mnist-test.safetensors");
            s.splits = es::defaultSplitPoints(s.trace);
            s.scheduler = std::make_unique<es::Scheduler>(s.trace, s.splits);
            // Within one point of the network without early exits.
            const auto& profiles = s.scheduler->profiles();
            s.goal = es::Goal::lowestLatency(profiles[s.scheduler->finalExitProfileIndex()].accuracy - 0.01);
            g_setups.push_back(std::move(s));
        }
    } catch (const ec::Error& e) {
        std::fprintf(stderr, "bench_schedule: %s\n", e.what());
        return 1;
    }
    benchmark::Initialize(&argc, argv);
    for (auto& s : g_setups) {
        benchmark::RegisterBenchmark(("BM_Precompute/" + s.model).c_str(), BM_Precompute, &s)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("BM_FullReplan/" + s.model).c_str(), BM_FullReplan, &s)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("BM_BandwidthReplan/" + s.model).c_str(), BM_BandwidthReplan, &s)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("BM_LoadReplan/" + s.model).c_str(), BM_LoadReplan, &s)
            ->Unit(benchmark::kMicrosecond);
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    printSummary();
    return 0;
}
