// exitscope-cli export: a deployable TorchScript file that really exits (core/export/deploy.h).
#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "app/cli/cli_model.h"
#include "core/common/error.h"
#include "core/config/tuned_config.h"
#include "core/export/deploy.h"
#include "core/model/multi_exit_net.h"

#include <cstdio>

namespace exitscope::app {

int runExport(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "export");
    const std::string out = args.require("out");
    const auto config = core::loadConfig(args.require("config"));
    const long long splitAfter = args.has("split-after") ? args.getInt("split-after", -1, 0, 1 << 20) : -1;
    auto net = loadModelFromArgs(args);
    const auto& spec = net->spec();
    core::checkConfigMatchesModel(config, spec.name, spec.weightsHash, net->numExits(), spec.numClasses(), args.get("config"));
    const bool imported = spec.name.rfind("torchscript:", 0) == 0;
    core::exportDeployable(*net, config, imported ? args.get("weights") : std::string(), out, splitAfter);
    std::printf("wrote %s: %s policy, %lld exits, %lld classes; forward(x) takes images [n, %lld, %lld, %lld] "
                "scaled to [0, 1] and returns (prediction, exit index, score) (docs/deploy.md)\n",
                out.c_str(), core::policyKindName(config.policy.kind).c_str(), static_cast<long long>(net->numExits()),
                static_cast<long long>(net->spec().numClasses()), static_cast<long long>(net->spec().channels),
                static_cast<long long>(net->spec().height), static_cast<long long>(net->spec().width));
    if (splitAfter >= 0) {
        const auto halves = core::splitPartPaths(out);
        std::printf("wrote %s (blocks 0..%lld on the device; returns the samples that left and the others' state as "
                    "uint8 with a scale and zero point per tensor) and %s (finishes them)\n",
                    halves.first.c_str(), splitAfter, halves.second.c_str());
    }
    return 0;
}

} // namespace exitscope::app
