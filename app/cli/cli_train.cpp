#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "core/common/error.h"
#include "core/data/registry.h"
#include "core/model/checkpoint.h"
#include "core/model/multi_exit_net.h"
#include "core/model/zoo.h"
#include "core/train/trainer.h"

#include <cstdio>
#include <sstream>

namespace exitscope::app {

int runTrain(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "train");
    const std::string out = args.require("out");
    const int threads = core::applyThreadCount(static_cast<int>(args.getInt("threads", 0, 0, 256)));

    core::DatasetOptions dopts;
    // Without --val: 5,000 of 50,000 or more train images, else 10% (core::autoValidationSize).
    if (args.has("val")) dopts.numVal = args.getInt("val", 0, 0, 1'000'000'000);
    dopts.seed = static_cast<uint64_t>(args.getInt("seed", 0, 0, 1LL << 62));
    const core::Dataset data = core::loadDataset(args.require("data"), dopts);

    std::shared_ptr<core::MultiExitNet> net;
    if (args.has("freeze-backbone")) {
        net = core::loadCheckpoint(args.require("weights"));
    } else {
        core::ModelSpec spec;
        spec.name = args.require("model");
        spec.channels = data.trainImages.channels;
        spec.height = data.trainImages.height;
        spec.width = data.trainImages.width;
        spec.classNames = data.trainImages.classNames;
        if (args.has("options")) {
            try {
                spec.options = nlohmann::json::parse(args.get("options"));
            } catch (const nlohmann::json::exception& e) {
                throw core::Error(std::string("--options: not valid JSON: ") + e.what());
            }
            if (!spec.options.is_object()) throw core::Error("--options: must be a JSON object");
        }
        net = core::buildModel(spec);
    }

    core::TrainOptions topts;
    topts.epochs = args.getInt("epochs", 10, 1, 10000);
    topts.batchSize = args.getInt("batch", 128, 1, 65536);
    topts.learningRate = args.getDouble("lr", 2e-3, 1e-7, 10.0);
    topts.exitWeights = args.getDoubles("exit-weights");
    topts.freezeBackbone = args.has("freeze-backbone");
    topts.augment = !args.has("no-augment");
    topts.maxTrainSamples = args.getInt("max-train", -1, 1, 1'000'000'000);
    topts.seed = dopts.seed + 1;

    const auto costs = net->measureCosts();
    std::fprintf(stderr, "train: %s on %s (%zu train, %zu val), %lld exits, %.2f M MACs to the last exit, %d threads\n",
                 net->spec().name.c_str(), data.name.c_str(), data.trainIndices.size(), data.valIndices.size(),
                 static_cast<long long>(net->numExits()),
                 static_cast<double>(costs.cumulativeExitMacs(costs.exits.size() - 1)) / 1e6, threads);

    auto progress = [](const core::TrainProgress& p) {
        std::ostringstream msg;
        msg.precision(4);
        msg << "epoch " << p.epoch << "/" << p.epochs << " batch " << p.batch << "/" << p.batches << " loss " << p.loss;
        if (p.finishedEpoch) {
            msg << " | val acc per exit:";
            msg.precision(3);
            for (double a : p.finishedEpoch->valAccuracy) msg << " " << a * 100;
            msg << " | " << static_cast<int>(p.finishedEpoch->seconds) << " s";
        }
        const double frac = (static_cast<double>(p.epoch - 1) + static_cast<double>(p.batch) / static_cast<double>(p.batches)) /
                            static_cast<double>(p.epochs);
        if (p.finishedEpoch || p.batch % 20 == 0) printProgress(frac, msg.str(), p.finishedEpoch != nullptr);
    };
    const auto reports = core::trainModel(*net, data, topts, progress);
    core::saveCheckpoint(*net, out);
    std::printf("saved %s (weights hash %s)\n", out.c_str(), net->spec().weightsHash.c_str());
    std::printf("final validation accuracy per exit (%%):");
    for (double a : reports.back().valAccuracy) std::printf(" %.2f", a * 100);
    std::printf("\n");
    return 0;
}

} // namespace exitscope::app
