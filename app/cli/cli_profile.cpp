#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "core/common/error.h"
#include "core/config/tuned_config.h"
#include "core/data/corruption.h"
#include "core/data/registry.h"
#include "core/executor/executor.h"
#include "app/cli/cli_model.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"
#include "core/policy/confidence.h"
#include "core/profile/profiler.h"
#include "core/profile/shard.h"
#include "core/trace/trace.h"

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <map>
#include <optional>

namespace exitscope::app {

int runProfile(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "profile");
    const std::string out = args.require("out");
    const int threads = core::applyThreadCount(static_cast<int>(args.getInt("threads", 0, 0, 256)));
    auto net = loadModelFromArgs(args);
    std::optional<core::Corruption> corruption;
    if (args.has("corrupt"))
        corruption = core::parseCorruption(args.get("corrupt"),
                                           static_cast<uint64_t>(args.getInt("corrupt-seed", 0, 0, 1'000'000'000)));
    core::Dataset data = loadDataForModel(args, net->spec());
    core::ProfileOptions popts;
    popts.split = core::parseSplitKind(args.get("split", "test"));
    if (corruption) {
        // Every image of the split, each seeded by its own index: any shard sees the same corrupted image.
        core::ImageSet& images = popts.split == core::SplitKind::Test ? data.testImages : data.trainImages;
        core::corruptImages(images, data.indicesOf(popts.split), *corruption);
    }
    popts.maxSamples = args.getInt("max-samples", -1, 1, 1'000'000'000);
    popts.timingSamples = args.getInt("timing-samples", 100, 1, 100000);
    popts.batchSize = args.getInt("batch", 256, 1, 65536);
    popts.device = args.get("device", "cpu");
    std::optional<core::Shard> shard;
    int64_t total = 0;
    core::SampleRange range;
    if (args.has("shard")) {
        shard = core::parseShard(args.get("shard"));
        total = static_cast<int64_t>(data.indicesOf(popts.split).size());
        if (popts.maxSamples > 0) total = std::min(total, popts.maxSamples);
        range = core::shardRange(total, popts.batchSize, *shard);
        popts.first = range.first;
        popts.count = range.count;
    }
    std::fprintf(stderr, "profile: %s on %s/%s, %d threads", net->spec().name.c_str(), data.name.c_str(),
                 core::toString(popts.split).c_str(), threads);
    if (shard)
        std::fprintf(stderr, ", shard %s: samples %lld..%lld of %lld", core::toString(*shard).c_str(),
                     static_cast<long long>(range.first), static_cast<long long>(range.first + range.count - 1),
                     static_cast<long long>(total));
    std::fprintf(stderr, "\n");
    auto trace = core::profileModel(*net, data, popts, [](const core::Progress& p) { printProgress(p.fraction, p.message); });
    if (shard) core::setShardMetadata(trace.metadata, *shard, range, total);
    if (corruption) {
        trace.metadata["corruption"] = core::toString(*corruption);
        trace.metadata["corruption_seed"] = std::to_string(corruption->seed);
    }
    core::writeTrace(trace, out);
    const auto acc = core::perExitAccuracy(trace);
    std::printf("wrote %s: %lld samples, %lld exits\n", out.c_str(), static_cast<long long>(trace.numSamples),
                static_cast<long long>(trace.numExits));
    std::printf("%-5s %12s %9s %9s\n", "exit", "MACs", "ms", "acc %");
    for (int64_t k = 0; k < trace.numExits; ++k)
        std::printf("%-5lld %12lld %9.4f %9.2f\n", static_cast<long long>(k),
                    static_cast<long long>(trace.exitMacs[static_cast<std::size_t>(k)]),
                    trace.exitMs[static_cast<std::size_t>(k)], acc[static_cast<std::size_t>(k)] * 100);
    return 0;
}

int runExecute(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "run");
    core::applyThreadCount(static_cast<int>(args.getInt("threads", 0, 0, 256)));
    const torch::Device device = core::parseDevice(args.get("device", "cpu"));
    // Numbers are checked before any file is read, so a typo fails fast.
    const auto split = core::parseSplitKind(args.get("split", "test"));
    const auto single = static_cast<float>(args.getDouble("threshold", 0.9, 0.0, 1.0));
    std::vector<float> thresholds;
    for (double t : args.getDoubles("thresholds")) thresholds.push_back(static_cast<float>(t));
    auto net = loadModelFromArgs(args);
    const core::Dataset data = loadDataForModel(args, net->spec());
    std::optional<core::Trace> trace;
    if (args.has("trace")) trace = core::readTrace(args.get("trace"));
    core::PolicyConfig policy;
    if (args.has("config")) {
        const auto config = core::loadConfig(args.get("config"));
        const auto& spec = net->spec();
        core::checkConfigMatchesModel(config, spec.name, spec.weightsHash, net->numExits(), spec.numClasses(),
                                      args.get("config"));
        policy = config.policy;
    } else {
        if (!args.has("thresholds")) thresholds.assign(static_cast<std::size_t>(net->numExits() - 1), single);
        core::checkThresholds(thresholds, net->numExits());
        if (static_cast<int64_t>(thresholds.size()) == net->numExits()) thresholds.pop_back();
        policy.confidence.thresholds = thresholds;
    }
    core::EarlyExitExecutor executor(net, policy, device, trace ? trace->exitMs : std::vector<float>{});
    const core::ImageSet& images = data.imagesOf(split);
    core::checkInputCompatible(images, net->spec());
    std::vector<int64_t> indices = data.indicesOf(split);
    const auto maxSamples = args.getInt("max-samples", -1, 1, 1'000'000'000);
    if (maxSamples > 0 && maxSamples < static_cast<int64_t>(indices.size())) indices.resize(static_cast<std::size_t>(maxSamples));
    const auto batch = static_cast<std::size_t>(args.getInt("batch", 256, 1, 65536));

    // The survivors of each batch are pooled across batches (runStream), so
    // the deep blocks run on large batches; only the executor is timed.
    const auto numBatches = static_cast<int64_t>((indices.size() + batch - 1) / batch);
    if (numBatches == 0) throw core::Error("the " + args.get("split", "test") + " split has no images to run");
    double seconds = 0;
    std::chrono::steady_clock::time_point resumed;
    const auto batchAt = [&](int64_t i) {
        if (i > 0) seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - resumed).count();
        const std::size_t start = static_cast<std::size_t>(i) * batch;
        std::vector<int64_t> idx(indices.begin() + static_cast<std::ptrdiff_t>(start),
                                 indices.begin() + static_cast<std::ptrdiff_t>(std::min(indices.size(), start + batch)));
        auto x = core::imagesToTensor(images, idx, net->spec().normalisation);
        resumed = std::chrono::steady_clock::now();
        return x;
    };
    const auto results = executor.runStream(numBatches, batchAt, [&](int64_t done) {
        printProgress(static_cast<double>(done) / static_cast<double>(numBatches), "executing");
    });
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - resumed).count();
    std::vector<int64_t> histogram(static_cast<std::size_t>(net->numExits()), 0);
    int64_t correct = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        ++histogram[static_cast<std::size_t>(results[i].exitTaken)];
        correct += results[i].prediction == images.labels[static_cast<std::size_t>(indices[i])];
    }
    std::printf("executed %zu samples in %.3f s (%.1f images/s): accuracy %.2f%%\nexit histogram:", results.size(),
                seconds, static_cast<double>(results.size()) / seconds,
                100.0 * static_cast<double>(correct) / static_cast<double>(results.size()));
    for (auto h : histogram) std::printf(" %lld", static_cast<long long>(h));
    std::printf("\n");

    if (!trace) return 0;
    if (trace->metadata["weights_hash"] != net->spec().weightsHash || trace->numExits != net->numExits())
        throw core::Error(args.get("trace") + ": trace was profiled from other weights than " + args.get("weights"));
    const auto outcome = core::applyPolicy(*trace, policy);
    std::map<int64_t, std::size_t> row;
    for (std::size_t n = 0; n < trace->sampleIndex.size(); ++n) row[trace->sampleIndex[n]] = n;
    int64_t compared = 0, agree = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        auto it = row.find(indices[i]);
        if (it == row.end()) continue;
        ++compared;
        agree += outcome.exitTaken[it->second] == results[i].exitTaken && outcome.prediction[it->second] == results[i].prediction;
    }
    std::printf("agreement with %s: %lld of %lld samples take the same exit with the same prediction\n",
                args.get("trace").c_str(), static_cast<long long>(agree), static_cast<long long>(compared));
    return agree == compared && compared > 0 ? 0 : 1;
}

} // namespace exitscope::app
