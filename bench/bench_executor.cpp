// Images per second of the plain full forward pass against the early-exit
// executor on the same Fashion-MNIST test images, at the global confidence
// threshold whose accuracy stays within 0.5 points of the final exit.
// Prints both rates, the measured speed-up, the FLOP-based ideal speed-up
// and their ratio (goal: at least 0.8).
//
// usage: bench_executor [--model msdnet|resnet-spinn|vgg-fine] [--images N] [--batch N] [benchmark flags]
// Threads: $EXITSCOPE_THREADS, default 1 (the figures in the README use 1).
#include "core/common/allocator.h"
#include "core/common/error.h"
#include "core/data/registry.h"
#include "core/executor/executor.h"
#include "core/model/checkpoint.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"
#include "core/policy/confidence.h"
#include "core/trace/trace.h"

#include "bench/bench_util.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace es = exitscope::core;

namespace {

struct Setup {
    std::shared_ptr<es::MultiExitNet> net;
    std::vector<torch::Tensor> batches;
    std::vector<float> thresholds;
    int64_t images = 0;
    double idealSpeedup = 0;
    double fullImagesPerSecond = 0;
    double earlyImagesPerSecond = 0;
};

Setup g;

void runBatches(benchmark::State& state, bool early, double& rate) {
    es::EarlyExitExecutor executor(g.net, g.thresholds);
    double seconds = 0;
    int64_t done = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& x : g.batches) {
            if (early) {
                auto r = executor.run(x);
                benchmark::DoNotOptimize(r.data());
            } else {
                auto p = executor.runFull(x);
                benchmark::DoNotOptimize(p.data_ptr());
            }
        }
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        done += g.images;
    }
    rate = static_cast<double>(done) / seconds;
    state.counters["images_per_s"] = rate;
}

void BM_FullForward(benchmark::State& state) { runBatches(state, false, g.fullImagesPerSecond); }
void BM_EarlyExitExecutor(benchmark::State& state) { runBatches(state, true, g.earlyImagesPerSecond); }

} // namespace

int main(int argc, char** argv) {
    // As the CLI and the app do ($EXITSCOPE_MALLOC_DEFAULTS=1 measures without).
    es::keepFreedMemoryForReuse();
    try {
        const std::string model = exitscope::bench::takeOption(argc, argv, "--model", "msdnet");
        const int64_t images = std::stoll(exitscope::bench::takeOption(argc, argv, "--images", "2000"));
        const int64_t batch = std::stoll(exitscope::bench::takeOption(argc, argv, "--batch", "250"));
        const char* threadsEnv = std::getenv("EXITSCOPE_THREADS");
        const int threads = es::applyThreadCount(threadsEnv ? 0 : 1);
        const std::string dir = std::string(EXITSCOPE_SOURCE_DIR) + "/assets/models/" + model + "-fashion-mnist";
        g.net = es::loadCheckpoint(dir + ".pt", model);
        const auto val = es::readTrace(dir + "-val.safetensors");
        const auto test = es::readTrace(dir + "-test.safetensors");

        // Lowest threshold on the validation trace whose accuracy is within 0.5 points of the final exit.
        const double finalAcc = es::perExitAccuracy(val).back();
        const auto grid = es::uniformThresholdGrid(1001);
        const auto sweep = es::sweepGlobalThresholds(es::computeScores(val, es::ConfidenceCriterion::MaxSoftmax), grid);
        float chosen = 1.0f;
        for (std::size_t i = 0; i < grid.size(); ++i) {
            if (sweep.accuracy[i] >= finalAcc - 0.005) {
                chosen = grid[i];
                break;
            }
        }
        g.thresholds.assign(static_cast<std::size_t>(val.numExits - 1), chosen);

        const es::Dataset data = es::loadDataset("fashion-mnist");
        g.images = std::min<int64_t>(images, test.numSamples);
        for (int64_t s = 0; s < g.images; s += batch) {
            std::vector<int64_t> idx;
            for (int64_t n = s; n < std::min(g.images, s + batch); ++n) idx.push_back(test.sampleIndex[static_cast<std::size_t>(n)]);
            g.batches.push_back(es::imagesToTensor(data.testImages, idx, g.net->spec().normalisation));
        }
        // FLOP-based ideal: the plain network runs the backbone and the final head only;
        // the executor pays exit_macs of the exit each benchmarked image takes.
        const auto testOutcome = es::applyConfidenceThresholds(test, g.thresholds);
        double fullMacs = static_cast<double>(test.headMacs.back());
        for (auto m : test.blockMacs) fullMacs += static_cast<double>(m);
        double earlyMacs = 0;
        for (int64_t n = 0; n < g.images; ++n)
            earlyMacs += static_cast<double>(test.exitMacs[static_cast<std::size_t>(testOutcome.exitTaken[static_cast<std::size_t>(n)])]);
        g.idealSpeedup = fullMacs / (earlyMacs / static_cast<double>(g.images));
        std::printf("model %s, %lld test images in batches of %lld, %d LibTorch thread(s)\n", model.c_str(),
                    static_cast<long long>(g.images), static_cast<long long>(batch), threads);
        std::printf("threshold %.3f (chosen on the validation trace): test accuracy %.2f%% vs final exit %.2f%%\n", chosen,
                    100 * es::outcomeAccuracy(test, testOutcome), 100 * es::perExitAccuracy(test).back());
    } catch (const es::Error& e) {
        std::fprintf(stderr, "bench_executor: %s\n(the bundled assets come from scripts/train-assets)\n", e.what());
        return 1;
    }

    benchmark::Initialize(&argc, argv);
    benchmark::RegisterBenchmark("BM_FullForward", BM_FullForward)->Unit(benchmark::kMillisecond)->MinTime(2.0);
    benchmark::RegisterBenchmark("BM_EarlyExitExecutor", BM_EarlyExitExecutor)->Unit(benchmark::kMillisecond)->MinTime(2.0);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();

    const double measured = g.earlyImagesPerSecond / g.fullImagesPerSecond;
    std::printf("\nfull forward:         %10.1f images/s\n", g.fullImagesPerSecond);
    std::printf("early-exit executor:  %10.1f images/s\n", g.earlyImagesPerSecond);
    std::printf("measured speed-up:    %10.3f\n", measured);
    std::printf("FLOP ideal speed-up:  %10.3f\n", g.idealSpeedup);
    std::printf("measured / ideal:     %10.3f  (goal >= 0.8: %s)\n", measured / g.idealSpeedup,
                measured / g.idealSpeedup >= 0.8 ? "met" : "NOT met");
    return 0;
}
