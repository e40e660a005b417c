// Writes a synthetic validation and test trace of any size, for load tests
// (scripts/load-test): N samples, K exits, C classes. Each sample has a
// difficulty; deeper exits are more confident and more often right, as in a
// trained multi-exit network. Per-block costs grow with depth; gate inputs
// are noisy copies of the exit's confidence. Deterministic for a seed.
//
// usage: make_synthetic_trace N K C OUT_PREFIX [SEED]
//        writes OUT_PREFIX-val.safetensors (N / 2 samples) and OUT_PREFIX-test.safetensors (N samples)
#include "core/common/error.h"
#include "core/trace/trace.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace {

using exitscope::core::Trace;

Trace makeTrace(int64_t N, int64_t K, int64_t C, uint64_t seed, const std::string& split) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::normal_distribution<double> noise(0.0, 0.6);
    Trace t;
    t.numSamples = N;
    t.numExits = K;
    t.numClasses = C;
    t.numBlocks = K;
    t.gateDim = 8;
    t.probs.resize(static_cast<std::size_t>(N * K * C));
    t.gateInputs.resize(static_cast<std::size_t>(N * K * 8));
    t.gateDims.assign(static_cast<std::size_t>(K), 8);
    for (int64_t n = 0; n < N; ++n) {
        const int64_t label = static_cast<int64_t>(rng() % static_cast<uint64_t>(C));
        t.labels.push_back(label);
        t.sampleIndex.push_back(n);
        const double difficulty = 3.0 * unit(rng);
        for (int64_t k = 0; k < K; ++k) {
            // Logit margin of the true class rises with depth, falls with difficulty.
            const double margin = 0.5 + 4.0 * static_cast<double>(k + 1) / static_cast<double>(K) - difficulty + noise(rng);
            const int64_t top = margin > 0 ? label : static_cast<int64_t>(rng() % static_cast<uint64_t>(C));
            const double topLogit = std::fabs(margin) + 1.0;
            float* p = t.probs.data() + (n * K + k) * C;
            double sum = 0;
            for (int64_t c = 0; c < C; ++c) sum += p[c] = static_cast<float>(std::exp(c == top ? topLogit : 0.3 * unit(rng)));
            float best = 0;
            for (int64_t c = 0; c < C; ++c) best = std::max(best, p[c] = static_cast<float>(p[c] / sum));
            for (int d = 0; d < 8; ++d)
                t.gateInputs[static_cast<std::size_t>((n * K + k) * 8 + d)] = static_cast<float>(best + 0.1 * noise(rng));
        }
    }
    int64_t macs = 0, params = 0;
    float ms = 0;
    for (int64_t b = 0; b < K; ++b) {
        t.blockMacs.push_back(1'000'000 + 200'000 * b);
        t.blockParams.push_back(10'000 + 1'000 * b);
        t.blockMs.push_back(0.2f + 0.02f * static_cast<float>(b));
        t.blockOutBytes.push_back(4 * 16 * 14 * 14);
        t.blockRelu.push_back(1);
        t.headMacs.push_back(20'000);
        t.headParams.push_back(2'000);
        t.headMs.push_back(0.02f);
        t.exitBlock.push_back(b);
        macs += t.blockMacs.back() + t.headMacs.back();
        params += t.blockParams.back() + t.headParams.back();
        ms += t.blockMs.back() + t.headMs.back();
        t.exitMacs.push_back(macs);
        t.exitParams.push_back(params);
        t.exitMs.push_back(ms);
    }
    std::string classes;
    for (int64_t c = 0; c < C; ++c) classes += (c ? ",\"c" : "\"c") + std::to_string(c) + "\"";
    t.metadata["model"] = "synthetic-" + std::to_string(K) + "x" + std::to_string(C);
    t.metadata["weights_hash"] = "synthetic" + std::to_string(K) + "_" + std::to_string(C);
    t.metadata["dataset"] = "synthetic";
    t.metadata["split"] = split;
    t.metadata["class_names"] = "[" + classes + "]";
    t.metadata["model_spec"] = "{\"name\":\"synthetic\",\"input_shape\":[1,28,28]}";
    return t;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: make_synthetic_trace N K C OUT_PREFIX [SEED]\n");
        return 2;
    }
    const int64_t N = std::atoll(argv[1]), K = std::atoll(argv[2]), C = std::atoll(argv[3]);
    const std::string prefix = argv[4];
    const uint64_t seed = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 0;
    if (N < 2 || K < 1 || K > 64 || C < 2 || C > 100000) {
        std::fprintf(stderr, "make_synthetic_trace: need N >= 2, 1 <= K <= 64, 2 <= C <= 100000\n");
        return 2;
    }
    try {
        exitscope::core::writeTrace(makeTrace(N / 2, K, C, seed + 1, "val"), prefix + "-val.safetensors");
        exitscope::core::writeTrace(makeTrace(N, K, C, seed, "test"), prefix + "-test.safetensors");
    } catch (const exitscope::core::Error& e) {
        std::fprintf(stderr, "make_synthetic_trace: %s\n", e.what());
        return 1;
    }
    std::printf("wrote %s-val.safetensors and %s-test.safetensors\n", prefix.c_str(), prefix.c_str());
    return 0;
}
