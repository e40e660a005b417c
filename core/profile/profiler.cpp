#include "core/profile/profiler.h"

#include "core/common/error.h"
#include "core/data/registry.h"
#include "core/executor/executor.h"
#include "core/profile/shard.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"

#include <algorithm>
#include <chrono>

namespace exitscope::core {

namespace {

float median(std::vector<double> v) {
    if (v.empty()) return 0.0f;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return static_cast<float>(v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]));
}

/// Median per-sample milliseconds of every block and head at batch size 1.
void measureTimes(MultiExitNet& net, const ImageSet& images, const std::vector<int64_t>& indices,
                  const ProfileOptions& options, torch::Device device, Trace& trace, const CancelFlag* cancel) {
    using Clock = std::chrono::steady_clock;
    // On a GPU the kernels run asynchronously: wait for them before reading the clock.
    const auto now = [&] {
        if (device.is_cuda()) torch::cuda::synchronize();
        return Clock::now();
    };
    const auto B = static_cast<std::size_t>(net.numBlocks());
    const auto K = static_cast<std::size_t>(net.numExits());
    std::vector<std::vector<double>> blockTimes(B), headTimes(K);
    const int64_t total = std::min<int64_t>(static_cast<int64_t>(indices.size()),
                                            options.warmupSamples + options.timingSamples);
    for (int64_t i = 0; i < total; ++i) {
        throwIfCancelled(cancel);
        auto x = imagesToTensor(images, {indices[static_cast<std::size_t>(i)]}, net.spec().normalisation).to(device);
        State state = inputState(x);
        std::size_t k = 0;
        const bool record = i >= options.warmupSamples;
        for (std::size_t b = 0; b < B; ++b) {
            auto t0 = now();
            state = net.runBlock(static_cast<int64_t>(b), state);
            auto t1 = now();
            if (record) blockTimes[b].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            while (k < K && net.exitBlock(static_cast<int64_t>(k)) == static_cast<int64_t>(b)) {
                auto h0 = now();
                auto probs = torch::softmax(net.runExit(static_cast<int64_t>(k), state), 1);
                auto h1 = now();
                if (record) headTimes[k].push_back(std::chrono::duration<double, std::milli>(h1 - h0).count());
                ++k;
            }
        }
    }
    trace.blockMs.clear();
    trace.headMs.clear();
    for (auto& t : blockTimes) trace.blockMs.push_back(median(t));
    for (auto& t : headTimes) trace.headMs.push_back(median(t));
    trace.exitMs.clear();
    for (std::size_t k = 0; k < K; ++k) {
        double ms = 0;
        for (int64_t b = 0; b <= net.exitBlock(static_cast<int64_t>(k)); ++b) ms += trace.blockMs[static_cast<std::size_t>(b)];
        for (std::size_t j = 0; j <= k; ++j) ms += trace.headMs[j];
        trace.exitMs.push_back(static_cast<float>(ms));
    }
}

} // namespace

Trace profileModel(MultiExitNet& net, const Dataset& data, const ProfileOptions& options,
                   const ProgressFn& progress, const CancelFlag* cancel) {
    if (options.batchSize < 1 || options.batchSize > 65536) throw Error("profile: batch size must be in 1..65536");
    if (options.timingSamples < 1 || options.timingSamples > 100000) throw Error("profile: timing samples must be in 1..100000");
    const ImageSet& images = data.imagesOf(options.split);
    checkInputCompatible(images, net.spec());
    std::vector<int64_t> indices = data.indicesOf(options.split);
    if (options.maxSamples >= 0 && options.maxSamples < static_cast<int64_t>(indices.size()))
        indices.resize(static_cast<std::size_t>(options.maxSamples));
    if (options.first < 0 || options.first > static_cast<int64_t>(indices.size()))
        throw Error("profile: samples from position " + std::to_string(options.first) + " asked of " +
                    std::to_string(indices.size()));
    if (options.first > 0 || options.count >= 0) {
        const auto end = options.count < 0 ? indices.size()
                                           : std::min(indices.size(), static_cast<std::size_t>(options.first + options.count));
        indices = std::vector<int64_t>(indices.begin() + static_cast<std::ptrdiff_t>(options.first),
                                       indices.begin() + static_cast<std::ptrdiff_t>(end));
    }
    if (indices.empty()) throw Error(data.name + ": the " + toString(options.split) + " split is empty");

    const torch::Device device = parseDevice(options.device);
    net.eval();
    const ModelCosts costs = net.measureCosts();
    net.to(device);
    c10::InferenceMode inference;

    Trace trace;
    trace.numSamples = static_cast<int64_t>(indices.size());
    trace.numExits = net.numExits();
    trace.numClasses = net.spec().numClasses();
    trace.numBlocks = net.numBlocks();
    const auto N = static_cast<std::size_t>(trace.numSamples);
    const auto K = static_cast<std::size_t>(trace.numExits);
    const auto C = static_cast<std::size_t>(trace.numClasses);

    for (std::size_t k = 0; k < K; ++k) {
        trace.exitMacs.push_back(costs.cumulativeExitMacs(k));
        trace.exitParams.push_back(costs.cumulativeExitParams(k));
        trace.exitBlock.push_back(costs.exits[k].afterBlock);
        trace.headMacs.push_back(costs.exits[k].macs);
        trace.headParams.push_back(costs.exits[k].params);
    }
    for (const auto& b : costs.blocks) {
        trace.blockMacs.push_back(b.macs);
        trace.blockParams.push_back(b.params);
        trace.blockOutBytes.push_back(b.outBytes);
        trace.blockRelu.push_back(b.relu ? 1 : 0);
    }

    // Gate input widths from a one-sample dry run, so gate_inputs can be padded to the widest.
    {
        State state = inputState(torch::zeros({1, net.spec().channels, net.spec().height, net.spec().width}, device));
        std::size_t k = 0;
        for (int64_t b = 0; b < net.numBlocks(); ++b) {
            state = net.runBlock(b, state);
            while (k < K && net.exitBlock(static_cast<int64_t>(k)) == b)
                trace.gateDims.push_back(net.gateFeatures(static_cast<int64_t>(k++), state).size(1));
        }
        trace.gateDim = *std::max_element(trace.gateDims.begin(), trace.gateDims.end());
    }
    const auto D = static_cast<std::size_t>(trace.gateDim);
    trace.probs.assign(N * K * C, 0.0f);
    trace.gateInputs.assign(N * K * D, 0.0f);
    trace.labels.resize(N);
    trace.sampleIndex.resize(N);

    const double timingShare = 0.15;  // rough share of the run spent on batch-1 timing, for the progress bar
    for (std::size_t start = 0; start < N; start += static_cast<std::size_t>(options.batchSize)) {
        throwIfCancelled(cancel);
        const std::size_t end = std::min(N, start + static_cast<std::size_t>(options.batchSize));
        std::vector<int64_t> idx(indices.begin() + static_cast<std::ptrdiff_t>(start),
                                 indices.begin() + static_cast<std::ptrdiff_t>(end));
        const int64_t n = static_cast<int64_t>(idx.size());
        State state = inputState(imagesToTensor(images, idx, net.spec().normalisation).to(device));
        std::size_t k = 0;
        for (int64_t b = 0; b < net.numBlocks(); ++b) {
            state = net.runBlock(b, state);
            while (k < K && net.exitBlock(static_cast<int64_t>(k)) == b) {
                auto p = torch::softmax(net.runExit(static_cast<int64_t>(k), state), 1).to(torch::kCPU).contiguous();
                auto g = net.gateFeatures(static_cast<int64_t>(k), state).to(torch::kCPU, torch::kFloat32).contiguous();
                const float* pp = p.data_ptr<float>();
                const float* gp = g.data_ptr<float>();
                const auto gd = static_cast<std::size_t>(g.size(1));
                for (int64_t i = 0; i < n; ++i) {
                    const std::size_t row = (start + static_cast<std::size_t>(i)) * K + k;
                    std::copy(pp + i * static_cast<int64_t>(C), pp + (i + 1) * static_cast<int64_t>(C), trace.probs.begin() + static_cast<std::ptrdiff_t>(row * C));
                    std::copy(gp + i * static_cast<int64_t>(gd), gp + (i + 1) * static_cast<int64_t>(gd), trace.gateInputs.begin() + static_cast<std::ptrdiff_t>(row * D));
                }
                ++k;
            }
        }
        for (std::size_t i = 0; i < idx.size(); ++i) {
            trace.labels[start + i] = images.labels.at(static_cast<std::size_t>(idx[i]));
            trace.sampleIndex[start + i] = idx[i];
        }
        if (progress)
            progress({(1.0 - timingShare) * static_cast<double>(end) / static_cast<double>(N),
                      "probabilities " + std::to_string(end) + "/" + std::to_string(N)});
    }

    if (progress) progress({1.0 - timingShare, "timing blocks at batch size 1"});
    measureTimes(net, images, indices, options, device, trace, cancel);
    if (progress) progress({1.0, "done"});

    const auto& spec = net.spec();
    trace.metadata["model"] = spec.name;
    trace.metadata["model_spec"] = spec.toJson().dump();
    trace.metadata["weights_hash"] = spec.weightsHash;
    trace.metadata["dataset"] = datasetReference(data.name);
    trace.metadata["split"] = toString(options.split);
    trace.metadata["split_seed"] = std::to_string(data.seed);
    trace.metadata["class_names"] = nlohmann::json(spec.classNames).dump();
    trace.metadata["device"] = device.str();
    trace.metadata["threads"] = std::to_string(torch::get_num_threads());
    trace.metadata["host"] = hostName();
    trace.metadata["device_type"] = deviceType(device.is_cuda() ? device.str() : "cpu", torch::get_num_threads());
    trace.metadata["batch"] = std::to_string(options.batchSize);
    trace.metadata["timing"] = "median of " + std::to_string(options.timingSamples) + " samples at batch size 1";
    trace.metadata["exitscope_version"] = EXITSCOPE_VERSION;
    trace.metadata["created"] = utcTimestamp();
    trace.validate("profile of " + spec.name);
    return trace;
}

} // namespace exitscope::core
