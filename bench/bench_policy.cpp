// Exit policies must re-evaluate a whole trace while a slider moves. Each
// figure is printed next to a plain sequential read of the trace's probs
// array, the memory-bandwidth floor, measured in the same run.
// Goals (issue 3): one confidence evaluation within 4x of the floor and
// under 200 us; a 200-threshold sweep under 10 ms; the budgeted fit under 5 ms.
//
// usage: bench_policy [--synthetic] [benchmark flags]
// Reads assets/models/msdnet-fashion-mnist-test.safetensors when present,
// otherwise (or with --synthetic) builds a realistic 10,000 x 7 x 10 trace.
// Each figure is the median of the per-iteration times, which a busy machine
// disturbs less than the mean.

#include "core/common/error.h"
#include "core/policy/budgeted.h"
#include "core/policy/budgeted_fitter.h"
#include "core/policy/confidence.h"
#include "core/trace/trace.h"

#include "bench/bench_util.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

namespace es = exitscope::core;

// Shaped like a real profile: 10,000 images, 7 exits, 10 classes; each exit
// is more accurate and more confident than the one before, and each image has
// its own difficulty, so the exits' confidences are correlated.
es::Trace makeRealisticTrace() {
    const int64_t N = 10000, K = 7, C = 10;
    std::mt19937 rng(42);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    es::Trace t;
    t.numSamples = N;
    t.numExits = K;
    t.numClasses = C;
    t.numBlocks = K;
    t.probs.reserve(static_cast<std::size_t>(N * K * C));
    for (int64_t n = 0; n < N; ++n) {
        const auto label = static_cast<int64_t>(rng() % C);
        t.labels.push_back(label);
        t.sampleIndex.push_back(n);
        const float ease = noise(rng);
        for (int64_t k = 0; k < K; ++k) {
            float z[C];
            double sum = 0;
            for (int64_t c = 0; c < C; ++c) {
                z[c] = 1.2f * noise(rng) + (c == label ? 0.5f + 0.7f * static_cast<float>(k) + 1.5f * ease : 0.0f);
                sum += std::exp(static_cast<double>(z[c]));
            }
            for (int64_t c = 0; c < C; ++c) t.probs.push_back(static_cast<float>(std::exp(double(z[c])) / sum));
        }
    }
    for (int64_t k = 0; k < K; ++k) {
        t.exitMacs.push_back(6000000 * (k + 1));
        t.exitMs.push_back(0.3f * static_cast<float>(k + 1));
    }
    return t;
}

struct Setup {
    es::Trace trace;
    std::string source;
    es::ConfidenceScores scores;
    std::vector<float> thresholds;  // K-1 values
    std::vector<float> grid;        // 200 global thresholds
};
Setup g;
std::map<std::string, double> g_medianUs;  // figure name -> median microseconds

// Times `body` once per iteration and keeps the median.
template <typename Body>
void timed(benchmark::State& state, const std::string& name, Body body) {
    g_medianUs[name] = exitscope::bench::medianMicros(state, body);
}

void BM_ReadProbsFloor(benchmark::State& state) {
    timed(state, "floor", [] {
        // Sixteen independent sums: one running sum would measure the adder's
        // latency, not the memory, and flatter every ratio below.
        const float* p = g.trace.probs.data();
        const std::size_t n = g.trace.probs.size();
        float acc[16] = {};
        std::size_t i = 0;
        for (; i + 16 <= n; i += 16)
            for (int j = 0; j < 16; ++j) acc[j] += p[i + j];
        for (; i < n; ++i) acc[0] += p[i];
        float sum = 0;
        for (float a : acc) sum += a;
        benchmark::DoNotOptimize(sum);
    });
}

void BM_EvaluateFromScores(benchmark::State& state) {
    timed(state, "evaluate (scores)", [] {
        auto out = es::evaluate(g.scores, g.thresholds);
        benchmark::DoNotOptimize(out.exitTaken.data());
    });
}

void BM_SummarizeFromScores(benchmark::State& state) {
    timed(state, "summary (scores)", [] {
        auto s = es::summarize(g.scores, g.thresholds);
        benchmark::DoNotOptimize(s.accuracy);
    });
}

void BM_EvaluateFromTrace(benchmark::State& state) {
    const es::ConfidencePolicy policy{es::ConfidenceCriterion::MaxSoftmax, g.thresholds, {}};
    timed(state, "evaluate (trace)", [&] {
        auto out = es::evaluate(g.trace, policy);
        benchmark::DoNotOptimize(out.exitTaken.data());
    });
}

void BM_ComputeScoresMaxSoftmax(benchmark::State& state) {
    timed(state, "scores max-softmax", [] {
        auto s = es::computeScores(g.trace, es::ConfidenceCriterion::MaxSoftmax);
        benchmark::DoNotOptimize(s.scores.data());
    });
}

void BM_ComputeScoresEntropy(benchmark::State& state) {
    timed(state, "scores entropy", [] {
        auto s = es::computeScores(g.trace, es::ConfidenceCriterion::Entropy);
        benchmark::DoNotOptimize(s.scores.data());
    });
}

void BM_Sweep200(benchmark::State& state) {
    timed(state, "sweep 200", [] {
        auto sw = es::sweepGlobalThresholds(g.scores, g.grid);
        benchmark::DoNotOptimize(sw.accuracy.data());
    });
}

// What the sweep replaces: one summary per grid point.
void BM_Sweep200ByRescans(benchmark::State& state) {
    timed(state, "sweep 200 by re-scans", [] {
        double total = 0;
        for (float t : g.grid) total += es::summarize(g.scores, {t}).accuracy;
        benchmark::DoNotOptimize(total);
    });
}

// MSDNet budgeted batch: solve q and fit every theta_k on the trace, at a
// budget halfway between the first and the last exit's cost.
void BM_BudgetedFit(benchmark::State& state) {
    const double budget = 0.5 * static_cast<double>(g.trace.exitMacs.front() + g.trace.exitMacs.back());
    timed(state, "budgeted fit", [budget] {
        auto fit = es::fitBudgetedBatch(g.trace, budget);
        benchmark::DoNotOptimize(fit.thresholds.data());
    });
}

// What a budget slider step costs in the app: the fit from cached
// confidences (the reference, a selection per exit) against the fitter that
// sorted each exit's confidences once. Budgets step across the range so that
// no two iterations fit the same one.
void BM_BudgetedFitFromConfidences(benchmark::State& state) {
    const auto& macs = g.trace.exitMacs;
    int i = 0;
    timed(state, "budgeted fit (confidences)", [&] {
        const double budget = macs.front() + (macs.back() - macs.front()) * (0.5 + i++ % 200) / 201.0;
        auto fit = es::fitBudgetedBatch(g.scores.scores, g.trace.numSamples, macs, budget);
        benchmark::DoNotOptimize(fit.thresholds.data());
    });
}

void BM_BudgetedFitter(benchmark::State& state) {
    const auto& macs = g.trace.exitMacs;
    const es::BudgetedBatchFitter fitter(g.scores.scores, g.trace.numSamples, macs);
    int i = 0;
    timed(state, "budgeted fitter", [&] {
        const double budget = macs.front() + (macs.back() - macs.front()) * (0.5 + i++ % 200) / 201.0;
        auto fit = fitter.fit(budget);
        benchmark::DoNotOptimize(fit.thresholds.data());
    });
}

void BM_BudgetedFitterSetup(benchmark::State& state) {
    timed(state, "budgeted fitter setup", [] {
        es::BudgetedBatchFitter fitter(g.scores.scores, g.trace.numSamples, g.trace.exitMacs);
        benchmark::DoNotOptimize(&fitter);
    });
}

struct Row {
    const char* name;
    const char* what;
    double goalUs;    // 0: no time goal
    double maxRatio;  // 0: no ratio goal
};

void printSummary() {
    const double floorUs = g_medianUs["floor"];
    const Row rows[] = {
        {"floor", "sequential read of probs (floor)", 0, 0},
        {"evaluate (scores)", "1 evaluation, precomputed scores", 200, 4},
        {"summary (scores)", "1 summary (acc, MACs, histogram)", 200, 4},
        {"evaluate (trace)", "1 evaluation, raw trace", 200, 4},
        {"scores max-softmax", "precompute scores, max softmax", 0, 0},
        {"scores entropy", "precompute scores, entropy", 0, 0},
        {"sweep 200", "200-threshold sweep (scores)", 10000, 0},
        {"sweep 200 by re-scans", "200 summaries one by one", 0, 0},
        {"budgeted fit", "budgeted-batch fit", 5000, 0},
        {"budgeted fit (confidences)", "budgeted fit, cached confidences", 0, 0},
        {"budgeted fitter", "budgeted fit, sorted once (slider)", 0, 0},
        {"budgeted fitter setup", "sorting for the fitter (once)", 0, 0},
    };
    std::printf("\n%-36s %12s %10s  %s\n", "figure", "median us", "x floor", "goal");
    for (const Row& r : rows) {
        const auto it = g_medianUs.find(r.name);
        if (it == g_medianUs.end()) continue;
        const double us = it->second;
        std::string goal;
        if (r.goalUs > 0 || r.maxRatio > 0) {
            const bool met = (r.goalUs <= 0 || us < r.goalUs) && (r.maxRatio <= 0 || us <= r.maxRatio * floorUs);
            char text[96];
            if (r.maxRatio > 0)
                std::snprintf(text, sizeof text, "< %.0f us and <= %.0fx floor: %s", r.goalUs, r.maxRatio,
                              met ? "met" : "NOT met");
            else
                std::snprintf(text, sizeof text, "< %.0f us: %s", r.goalUs, met ? "met" : "NOT met");
            goal = text;
        }
        std::printf("%-36s %12.1f %10.2f  %s\n", r.what, us, us / floorUs, goal.c_str());
    }
    const auto sweep = g_medianUs.find("sweep 200"), rescans = g_medianUs.find("sweep 200 by re-scans");
    if (sweep != g_medianUs.end() && rescans != g_medianUs.end())
        std::printf("sweep speed-up over 200 re-scans: %.1fx\n", rescans->second / sweep->second);
    const auto fitOnce = g_medianUs.find("budgeted fit (confidences)"), fitter = g_medianUs.find("budgeted fitter");
    if (fitOnce != g_medianUs.end() && fitter != g_medianUs.end())
        std::printf("budgeted fit per slider step: fitter %.1fx faster than the selection per exit\n",
                    fitOnce->second / fitter->second);
}

} // namespace

int main(int argc, char** argv) {
    bool synthetic = false;
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--synthetic") == 0) {
            synthetic = true;
            for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
            --argc;
            break;
        }
    try {
        const std::string asset =
            std::string(EXITSCOPE_SOURCE_DIR) + "/assets/models/msdnet-fashion-mnist-test.safetensors";
        if (!synthetic && std::filesystem::exists(asset)) {
            g.trace = es::readTrace(asset);
            g.source = asset;
        } else {
            g.trace = makeRealisticTrace();
            g.source = "synthetic (in memory)";
        }
        g.scores = es::computeScores(g.trace, es::ConfidenceCriterion::MaxSoftmax);
        g.thresholds.assign(static_cast<std::size_t>(g.trace.numExits - 1), 0.8f);
        g.grid = es::uniformThresholdGrid(200);
    } catch (const es::Error& e) {
        std::fprintf(stderr, "bench_policy: %s\n", e.what());
        return 1;
    }
    const auto hist = es::summarize(g.scores, g.thresholds).exitHistogram;
    std::printf("trace: %s, N=%lld K=%lld C=%lld, probs %.2f MiB\n", g.source.c_str(),
                static_cast<long long>(g.trace.numSamples), static_cast<long long>(g.trace.numExits),
                static_cast<long long>(g.trace.numClasses),
                static_cast<double>(g.trace.probs.size() * sizeof(float)) / (1 << 20));
    std::printf("policy: max softmax >= 0.8 at every exit; exit histogram:");
    for (auto h : hist) std::printf(" %lld", static_cast<long long>(h));
    std::printf("\n");

    benchmark::Initialize(&argc, argv);
    benchmark::RegisterBenchmark("BM_ReadProbsFloor", BM_ReadProbsFloor)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_EvaluateFromScores", BM_EvaluateFromScores)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_SummarizeFromScores", BM_SummarizeFromScores)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_EvaluateFromTrace", BM_EvaluateFromTrace)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_ComputeScoresMaxSoftmax", BM_ComputeScoresMaxSoftmax)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_ComputeScoresEntropy", BM_ComputeScoresEntropy)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_Sweep200", BM_Sweep200)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_Sweep200ByRescans", BM_Sweep200ByRescans)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_BudgetedFit", BM_BudgetedFit)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_BudgetedFitFromConfidences", BM_BudgetedFitFromConfidences)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_BudgetedFitter", BM_BudgetedFitter)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_BudgetedFitterSetup", BM_BudgetedFitterSetup)->Unit(benchmark::kMicrosecond);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    printSummary();
    return 0;
}
