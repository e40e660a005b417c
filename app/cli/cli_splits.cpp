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
#include "core/trace/safetensors.h"
#include "simulator/codec/codec.h"

#include <algorithm>
#include <cmath>
#include <chrono>
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
    core::applyThreadCount(static_cast<int>(args.getInt("threads", 1, 0, 256)));
    auto net = loadModelFromArgs(args);
    const auto data = loadDataForModel(args, net->spec());
    const auto& images = data.imagesOf(split);
    core::checkInputCompatible(images, net->spec());
    std::vector<int64_t> indices = data.indicesOf(split);
    if (static_cast<int64_t>(indices.size()) > maxSamples) indices.resize(static_cast<std::size_t>(maxSamples));
    if (indices.empty()) throw core::Error(data.name + ": the split is empty");

    const int64_t B = net->numBlocks(), K = net->numExits();
    const auto costs = net->measureCosts();
    std::vector<int64_t> candidates;
    for (int64_t b = 0; b + 1 < B; ++b)
        if (costs.blocks[static_cast<std::size_t>(b)].relu) candidates.push_back(b);
    const auto S = candidates.size();
    std::vector<std::vector<double>> encoded(S);
    std::vector<double> encodeMs(S, 0), decodeMs(S, 0);
    std::vector<int64_t> correctDecoded(S, 0), agree(S, 0);
    int64_t correctOriginal = 0;

    c10::InferenceMode inference;
    net->eval();
    for (std::size_t start = 0; start < indices.size(); start += static_cast<std::size_t>(batch)) {
        std::vector<int64_t> idx(indices.begin() + static_cast<std::ptrdiff_t>(start),
                                 indices.begin() + static_cast<std::ptrdiff_t>(std::min(indices.size(), start + static_cast<std::size_t>(batch))));
        const auto labels = core::labelsToTensor(images, idx);
        const int64_t n = static_cast<int64_t>(idx.size());
        // The original run, keeping the state at every candidate.
        std::vector<core::State> states(static_cast<std::size_t>(B));
        core::State state = core::inputState(core::imagesToTensor(images, idx, net->spec().normalisation));
        for (int64_t b = 0; b < B; ++b) states[static_cast<std::size_t>(b)] = state = net->runBlock(b, state);
        const auto original = net->runExit(K - 1, state).argmax(1);
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
                encoded[c].push_back(static_cast<double>(payload.size()));
                t0 = std::chrono::steady_clock::now();
                auto decoded = simulator::decodeState(payload);
                decodeMs[c] += msSince(t0);
                auto restored = stateFromPlain(decoded);
                for (std::size_t j = 0; j < restored.size(); ++j) decodedPerTensor[j].push_back(restored[j]);
            }
            // The server's part of the network, on the dequantised state.
            core::State rest;
            for (auto& parts : decodedPerTensor) rest.push_back(torch::cat(parts, 0));
            for (int64_t bb = b + 1; bb < B; ++bb) rest = net->runBlock(bb, rest);
            const auto predicted = net->runExit(K - 1, rest).argmax(1);
            correctDecoded[c] += predicted.eq(labels).sum().item<int64_t>();
            agree[c] += predicted.eq(original).sum().item<int64_t>();
        }
        printProgress(static_cast<double>(start + idx.size()) / static_cast<double>(indices.size()), "splits");
    }

    const double N = static_cast<double>(indices.size());
    std::vector<int64_t> splitBlock(candidates), rawBytes;
    std::vector<double> meanBytes, p95Bytes, encMs, decMs, accDecoded, agreement;
    std::printf("%-6s %10s %12s %12s %8s %9s %9s %10s %9s\n", "block", "fp32 B", "mean enc B", "p95 enc B", "ratio",
                "enc ms", "dec ms", "acc after", "agree");
    for (std::size_t c = 0; c < S; ++c) {
        auto sizes = encoded[c];
        std::sort(sizes.begin(), sizes.end());
        double sum = 0;
        for (double v : sizes) sum += v;
        const auto rank = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(sizes.size()))) - 1;
        rawBytes.push_back(costs.blocks[static_cast<std::size_t>(candidates[c])].outBytes);
        meanBytes.push_back(sum / N);
        p95Bytes.push_back(sizes[rank]);
        encMs.push_back(encodeMs[c] / N);
        decMs.push_back(decodeMs[c] / N);
        accDecoded.push_back(static_cast<double>(correctDecoded[c]) / N);
        agreement.push_back(static_cast<double>(agree[c]) / N);
        std::printf("%-6lld %10lld %12.0f %12.0f %7.2fx %9.4f %9.4f %9.2f%% %8.2f%%\n",
                    static_cast<long long>(candidates[c]), static_cast<long long>(rawBytes.back()), meanBytes.back(),
                    p95Bytes.back(), static_cast<double>(rawBytes.back()) / meanBytes.back(), encMs.back(), decMs.back(),
                    100 * accDecoded.back(), 100 * agreement.back());
    }
    const std::vector<double> accOriginal{static_cast<double>(correctOriginal) / N};
    std::printf("final-exit accuracy without transfer: %.2f%% (%lld samples)\n", 100 * accOriginal[0],
                static_cast<long long>(indices.size()));

    core::SafeTensorsWriter writer;
    const std::vector<int64_t> shape{static_cast<int64_t>(S)};
    writer.add("split_block", shape, splitBlock);
    writer.add("raw_bytes", shape, rawBytes);
    writer.add("encoded_bytes_mean", shape, meanBytes);
    writer.add("encoded_bytes_p95", shape, p95Bytes);
    writer.add("encode_ms", shape, encMs);
    writer.add("decode_ms", shape, decMs);
    writer.add("final_accuracy_after_transfer", shape, accDecoded);
    writer.add("final_prediction_agreement", shape, agreement);
    writer.add("final_accuracy_without_transfer", {1}, accOriginal);
    writer.setMetadata("format", "exitscope-splits");
    writer.setMetadata("model", net->spec().name);
    writer.setMetadata("weights_hash", net->spec().weightsHash);
    writer.setMetadata("dataset", data.name);
    writer.setMetadata("split", core::toString(split));
    writer.setMetadata("codec_mode", args.get("mode", "per-tensor"));
    writer.setMetadata("samples", std::to_string(indices.size()));
    writer.write(out);
    std::printf("wrote %s\n", out.c_str());
    return 0;
}

} // namespace exitscope::app
