// SPINN's communication optimiser on real activations: encode and decode
// throughput (GB/s of fp32 input, one thread) and compression ratio of the
// codec in each mode on the states that cross the link at every split
// candidate (block boundaries after a ReLU) of the bundled models, next to a
// plain memcpy of the same bytes (the floor), all in one run.
// Goals (issue 4): encode >= 1 GB/s, decode >= 2 GB/s, ratio >= 4x against
// fp32, for the 8-bit modes; lossless is shown for reference. The summary's
// GB are 10^9 bytes; Google Benchmark's own counters print GiB (2^30).
//
// usage: bench_codec [--images N] [--models msdnet,resnet-spinn,vgg-fine] [benchmark flags]
#include "core/common/error.h"
#include "core/data/registry.h"
#include "core/model/checkpoint.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"
#include "simulator/codec/codec.h"

#include "bench/bench_util.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

namespace es = exitscope::core;
namespace sim = exitscope::simulator;

namespace {

struct Candidate {
    int64_t block = 0;
    std::vector<sim::TensorData> state;
    std::string shapes;
    uint64_t rawBytes = 0;
    double zeroFraction = 0;
};

struct ModelStates {
    std::string name;
    std::vector<Candidate> candidates;
    uint64_t rawBytes = 0;
};

struct Figures {
    double encodeGBs = 0, decodeGBs = 0;
    uint64_t rawBytes = 0, encodedBytes = 0;
};

const sim::CodecMode kModes[] = {sim::CodecMode::PerTensor8, sim::CodecMode::PerChannel8, sim::CodecMode::Lossless};
const char* modeName(sim::CodecMode m) {
    return m == sim::CodecMode::PerTensor8    ? "per-tensor-8"
           : m == sim::CodecMode::PerChannel8 ? "per-channel-8"
                                              : "lossless";
}

std::vector<ModelStates> g_models;
std::map<std::pair<std::size_t, sim::CodecMode>, Figures> g_figures;
std::map<std::size_t, double> g_memcpyGBs;

double gbPerSecond(uint64_t bytes, double seconds) { return static_cast<double>(bytes) / seconds / 1e9; }

template <typename Body>
double timeLoop(benchmark::State& state, uint64_t bytesPerIteration, Body body) {
    double seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        body();
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytesPerIteration));
    return gbPerSecond(bytesPerIteration * state.iterations(), seconds);
}

void BM_Memcpy(benchmark::State& state, std::size_t m) {
    const ModelStates& ms = g_models[m];
    std::vector<std::vector<float>> dest;
    for (const auto& c : ms.candidates)
        for (const auto& t : c.state) dest.emplace_back(t.values.size());
    g_memcpyGBs[m] = timeLoop(state, ms.rawBytes, [&] {
        std::size_t k = 0;
        for (const auto& c : ms.candidates)
            for (const auto& t : c.state) {
                std::memcpy(dest[k].data(), t.values.data(), 4 * t.values.size());
                benchmark::DoNotOptimize(dest[k++].data());
            }
        benchmark::ClobberMemory();
    });
}

void BM_Encode(benchmark::State& state, std::size_t m, sim::CodecMode mode) {
    const ModelStates& ms = g_models[m];
    uint64_t encoded = 0;
    g_figures[{m, mode}].encodeGBs = timeLoop(state, ms.rawBytes, [&] {
        encoded = 0;
        for (const auto& c : ms.candidates) {
            const auto payload = sim::encodeState(c.state, mode);
            benchmark::DoNotOptimize(payload.data());
            encoded += payload.size();
        }
    });
    g_figures[{m, mode}].rawBytes = ms.rawBytes;
    g_figures[{m, mode}].encodedBytes = encoded;
    state.counters["ratio"] = static_cast<double>(ms.rawBytes) / static_cast<double>(encoded);
}

void BM_Decode(benchmark::State& state, std::size_t m, sim::CodecMode mode) {
    const ModelStates& ms = g_models[m];
    std::vector<std::vector<uint8_t>> payloads;
    for (const auto& c : ms.candidates) payloads.push_back(sim::encodeState(c.state, mode));
    g_figures[{m, mode}].decodeGBs = timeLoop(state, ms.rawBytes, [&] {
        for (const auto& p : payloads) {
            const auto out = sim::decodeState(p);
            benchmark::DoNotOptimize(out.data());
        }
    });
}

// The states at every block boundary that follows a ReLU, for the first `images` test images.
ModelStates captureStates(const std::string& model, const es::Dataset& data, int64_t images) {
    const std::string path = std::string(EXITSCOPE_SOURCE_DIR) + "/assets/models/" + model + "-fashion-mnist.pt";
    auto net = es::loadCheckpoint(path, model);
    net->eval();
    c10::InferenceMode inference;
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < images; ++i) idx.push_back(i);
    es::State s = es::inputState(es::imagesToTensor(data.testImages, idx, net->spec().normalisation));
    ModelStates ms{model, {}, 0};
    for (int64_t b = 0; b < net->numBlocks(); ++b) {
        s = net->runBlock(b, s);
        if (!net->block(b).endsWithRelu()) continue;
        Candidate c;
        c.block = b;
        std::ostringstream shapes;
        uint64_t zeros = 0, elements = 0;
        for (const auto& tensor : s) {
            const torch::Tensor t = tensor.to(torch::kFloat32).contiguous();
            sim::TensorData d;
            d.shape = t.sizes().vec();
            d.values.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
            for (float v : d.values) zeros += v == 0.0f;
            elements += d.values.size();
            shapes << (c.state.empty() ? "" : " ") << t.sizes();
            c.state.push_back(std::move(d));
        }
        c.rawBytes = 4 * elements;
        c.zeroFraction = static_cast<double>(zeros) / static_cast<double>(std::max<uint64_t>(elements, 1));
        c.shapes = shapes.str();
        ms.rawBytes += c.rawBytes;
        ms.candidates.push_back(std::move(c));
    }
    return ms;
}

const char* mark(bool met) { return met ? "met" : "NOT met"; }

} // namespace

int main(int argc, char** argv) {
    try {
        const int64_t images = std::stoll(exitscope::bench::takeOption(argc, argv, "--images", "256"));
        std::string models = exitscope::bench::takeOption(argc, argv, "--models", "msdnet,resnet-spinn,vgg-fine");
        const es::Dataset data = es::loadDataset("fashion-mnist");
        std::istringstream list(models);
        for (std::string model; std::getline(list, model, ',');) g_models.push_back(captureStates(model, data, images));
        es::applyThreadCount(1);

        // Per candidate: what crosses the link and how well each mode compresses it.
        std::printf("%lld Fashion-MNIST test images per state; ratio = fp32 bytes / payload bytes\n\n",
                    static_cast<long long>(images));
        std::printf("%-13s %5s %-52s %9s %6s %8s %8s %8s\n", "model", "block", "state shapes", "fp32 MB", "zeros",
                    "ratio pt", "ratio pc", "ratio ll");
        for (const auto& ms : g_models)
            for (const auto& c : ms.candidates) {
                double ratio[3];
                for (int k = 0; k < 3; ++k)
                    ratio[k] = static_cast<double>(c.rawBytes) /
                               static_cast<double>(sim::encodeState(c.state, kModes[k]).size());
                std::printf("%-13s %5lld %-52s %9.2f %5.1f%% %8.2f %8.2f %8.2f\n", ms.name.c_str(),
                            static_cast<long long>(c.block), c.shapes.c_str(), static_cast<double>(c.rawBytes) / 1e6,
                            100 * c.zeroFraction, ratio[0], ratio[1], ratio[2]);
            }
        std::printf("\n");
    } catch (const es::Error& e) {
        std::fprintf(stderr, "bench_codec: %s\n(the bundled assets come from scripts/train-assets)\n", e.what());
        return 1;
    }

    benchmark::Initialize(&argc, argv);
    for (std::size_t m = 0; m < g_models.size(); ++m) {
        const std::string& name = g_models[m].name;
        benchmark::RegisterBenchmark(("BM_Memcpy/" + name).c_str(), BM_Memcpy, m)->Unit(benchmark::kMillisecond);
        for (sim::CodecMode mode : kModes) {
            const std::string suffix = "/" + name + "/" + modeName(mode);
            benchmark::RegisterBenchmark(("BM_Encode" + suffix).c_str(), BM_Encode, m, mode)
                ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(("BM_Decode" + suffix).c_str(), BM_Decode, m, mode)
                ->Unit(benchmark::kMillisecond);
        }
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();

    std::printf("\nsummary (one thread; GB/s of fp32 state; goals: encode >= 1 GB/s, decode >= 2 GB/s, ratio >= 4x)\n");
    std::printf("%-13s %-14s %9s %9s %9s %7s  %-8s %-8s %-8s\n", "model", "mode", "memcpy", "encode", "decode", "ratio",
                "encode", "decode", "ratio");
    for (std::size_t m = 0; m < g_models.size(); ++m)
        for (sim::CodecMode mode : kModes) {
            const auto it = g_figures.find({m, mode});
            if (it == g_figures.end() || it->second.encodedBytes == 0) continue;
            const Figures& f = it->second;
            const double ratio = static_cast<double>(f.rawBytes) / static_cast<double>(f.encodedBytes);
            const bool goals = mode != sim::CodecMode::Lossless;
            std::printf("%-13s %-14s %9.2f %9.2f %9.2f %6.2fx  %-8s %-8s %-8s\n", g_models[m].name.c_str(),
                        modeName(mode), g_memcpyGBs[m], f.encodeGBs, f.decodeGBs, ratio,
                        goals ? mark(f.encodeGBs >= 1.0) : "-", goals ? mark(f.decodeGBs >= 2.0) : "-",
                        goals ? mark(ratio >= 4.0) : "-");
        }
    return 0;
}
