// exitscope-cli profile-splits: what crossing the link costs at every split
// candidate, measured on real activations. It needs the network (LibTorch)
// and the codec (simulator) together, so it lives here, above both.
#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "app/cli/cli_state.h"
#include "core/common/error.h"
#include "core/data/registry.h"
#include "app/cli/cli_model.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"
#include "core/executor/executor.h"
#include "core/profile/shard.h"
#include "core/profile/splits_file.h"
#include "simulator/codec/codec.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <optional>
#include <cstdio>

namespace exitscope::app {

namespace {

simulator::CodecMode parseMode(const std::string& text) {
    if (text == "per-tensor") return simulator::CodecMode::PerTensor8;
    if (text == "per-channel") return simulator::CodecMode::PerChannel8;
    if (text == "lossless") return simulator::CodecMode::Lossless;
    throw core::Error("--mode: '" + text + "' is not per-tensor, per-channel or lossless");
}

double msSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int runProfileSplits(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "profile-splits");
    const std::string out = args.require("out");
    const auto mode = parseMode(args.get("mode", "per-tensor"));
    const auto split = core::parseSplitKind(args.get("split", "val"));
    const auto maxSamples = args.getInt("max-samples", 1000, 1, 1'000'000'000);
    const auto batch = args.getInt("batch", 100, 1, 65536);
    const int threads = core::applyThreadCount(static_cast<int>(args.getInt("threads", 1, 0, 256)));
    const torch::Device device = core::parseDevice(args.get("device", "cpu"));
    std::optional<core::Shard> shard;
    if (args.has("shard")) shard = core::parseShard(args.get("shard"));
    auto net = loadModelFromArgs(args);
    const auto data = loadDataForModel(args, net->spec());
    const auto& images = data.imagesOf(split);
    core::checkInputCompatible(images, net->spec());
    std::vector<int64_t> indices = data.indicesOf(split);
    if (static_cast<int64_t>(indices.size()) > maxSamples) indices.resize(static_cast<std::size_t>(maxSamples));
    if (indices.empty()) throw core::Error(data.name + ": the split is empty");
    const auto total = static_cast<int64_t>(indices.size());
    core::SampleRange range{0, total};
    if (shard) {
        range = core::shardRange(total, batch, *shard);
        indices = std::vector<int64_t>(indices.begin() + static_cast<std::ptrdiff_t>(range.first),
                                       indices.begin() + static_cast<std::ptrdiff_t>(range.first + range.count));
        std::fprintf(stderr, "profile-splits: shard %s: samples %lld..%lld of %lld\n", core::toString(*shard).c_str(),
                     static_cast<long long>(range.first), static_cast<long long>(range.first + range.count - 1),
                     static_cast<long long>(total));
    }

    const int64_t B = net->numBlocks(), K = net->numExits();
    const auto costs = net->measureCosts();
    std::vector<int64_t> candidates;
    for (int64_t b = 0; b + 1 < B; ++b)
        if (costs.blocks[static_cast<std::size_t>(b)].relu) candidates.push_back(b);
    const auto S = candidates.size();
    std::vector<std::vector<int64_t>> encoded(S);
    std::vector<double> encodeMs(S, 0), decodeMs(S, 0);
    std::vector<int64_t> correctDecoded(S, 0), agree(S, 0);
    int64_t correctOriginal = 0;

    c10::InferenceMode inference;
    net->eval();
    net->to(device);
    for (std::size_t start = 0; start < indices.size(); start += static_cast<std::size_t>(batch)) {
        std::vector<int64_t> idx(indices.begin() + static_cast<std::ptrdiff_t>(start),
                                 indices.begin() + static_cast<std::ptrdiff_t>(std::min(indices.size(), start + static_cast<std::size_t>(batch))));
        const auto labels = core::labelsToTensor(images, idx);
        const int64_t n = static_cast<int64_t>(idx.size());
        // The original run, keeping the state at every candidate.
        std::vector<core::State> states(static_cast<std::size_t>(B));
        core::State state = core::inputState(core::imagesToTensor(images, idx, net->spec().normalisation).to(device));
        for (int64_t b = 0; b < B; ++b) states[static_cast<std::size_t>(b)] = state = net->runBlock(b, state);
        const auto original = net->runExit(K - 1, state).argmax(1).to(torch::kCPU);
        correctOriginal += original.eq(labels).sum().item<int64_t>();

        for (std::size_t c = 0; c < S; ++c) {
            const int64_t b = candidates[c];
            const auto& cut = states[static_cast<std::size_t>(b)];
            std::vector<std::vector<torch::Tensor>> decodedPerTensor(cut.size());
            for (int64_t i = 0; i < n; ++i) {
                const auto plain = sampleState(cut, i);
                auto t0 = std::chrono::steady_clock::now();
                const auto payload = simulator::encodeState(plain, mode);
                encodeMs[c] += msSince(t0);
                encoded[c].push_back(static_cast<int64_t>(payload.size()));
                t0 = std::chrono::steady_clock::now();
                auto decoded = simulator::decodeState(payload);
                decodeMs[c] += msSince(t0);
                auto restored = stateFromPlain(decoded);
                for (std::size_t j = 0; j < restored.size(); ++j) decodedPerTensor[j].push_back(restored[j]);
            }
            // The server's part of the network, on the dequantised state.
            core::State rest;
            for (auto& parts : decodedPerTensor) rest.push_back(torch::cat(parts, 0).to(device));
            for (int64_t bb = b + 1; bb < B; ++bb) rest = net->runBlock(bb, rest);
            const auto predicted = net->runExit(K - 1, rest).argmax(1).to(torch::kCPU);
            correctDecoded[c] += predicted.eq(labels).sum().item<int64_t>();
            agree[c] += predicted.eq(original).sum().item<int64_t>();
        }
        printProgress(static_cast<double>(start + idx.size()) / static_cast<double>(indices.size()), "splits");
    }

    core::SplitsMeasurement m;
    m.splitBlock = candidates;
    m.numSamples = static_cast<int64_t>(indices.size());
    for (std::size_t c = 0; c < S; ++c) {
        m.rawBytes.push_back(costs.blocks[static_cast<std::size_t>(candidates[c])].outBytes);
        m.encodedBytes.insert(m.encodedBytes.end(), encoded[c].begin(), encoded[c].end());
    }
    m.correctAfter = correctDecoded;
    m.agreeing = agree;
    m.correctWithout = correctOriginal;
    m.encodeMsSum = encodeMs;
    m.decodeMsSum = decodeMs;
    const auto sum = core::summarise(m);
    std::printf("%-6s %10s %12s %12s %8s %9s %9s %10s %9s\n", "block", "fp32 B", "mean enc B", "p95 enc B", "ratio",
                "enc ms", "dec ms", "acc after", "agree");
    for (std::size_t c = 0; c < S; ++c)
        std::printf("%-6lld %10lld %12.0f %12.0f %7.2fx %9.4f %9.4f %9.2f%% %8.2f%%\n",
                    static_cast<long long>(candidates[c]), static_cast<long long>(m.rawBytes[c]), sum.meanBytes[c],
                    sum.p95Bytes[c], static_cast<double>(m.rawBytes[c]) / sum.meanBytes[c], sum.encodeMs[c],
                    sum.decodeMs[c], 100 * sum.accuracyAfter[c], 100 * sum.agreement[c]);
    std::printf("final-exit accuracy without transfer: %.2f%% (%lld samples)\n", 100 * sum.accuracyWithout,
                static_cast<long long>(indices.size()));

    m.metadata["model"] = net->spec().name;
    m.metadata["weights_hash"] = net->spec().weightsHash;
    m.metadata["dataset"] = data.name;
    m.metadata["split"] = core::toString(split);
    m.metadata["split_seed"] = std::to_string(data.seed);
    m.metadata["codec_mode"] = args.get("mode", "per-tensor");
    m.metadata["batch"] = std::to_string(batch);
    m.metadata["host"] = core::hostName();
    m.metadata["device_type"] = core::deviceType(device.is_cuda() ? device.str() : "cpu", threads);
    m.metadata["created"] = core::utcTimestamp();
    if (shard) core::setShardMetadata(m.metadata, *shard, range, total);
    core::writeSplitsFile(m, out);
    std::printf("wrote %s\n", out.c_str());
    return 0;
}

} // namespace exitscope::app
