#include "app/cli/cli_commands.h"
#include "core/common/error.h"
#include "core/model/model_loader.h"
#include "core/model/multi_exit_net.h"
#include "core/model/zoo.h"

#include <cstdio>

namespace exitscope::app {

namespace {

void printCosts(core::MultiExitNet& net) {
    const auto costs = net.measureCosts();
    std::printf("%-8s %12s %10s %12s %5s\n", "block", "MACs", "params", "out bytes", "relu");
    for (const auto& b : costs.blocks)
        std::printf("%-8s %12lld %10lld %12lld %5s\n", b.name.c_str(), static_cast<long long>(b.macs),
                    static_cast<long long>(b.params), static_cast<long long>(b.outBytes), b.relu ? "yes" : "no");
    std::printf("\n%-8s %6s %12s %10s %14s %12s %9s\n", "exit", "after", "head MACs", "head par", "cum. MACs",
                "cum. params", "backbone");
    for (std::size_t k = 0; k < costs.exits.size(); ++k) {
        const auto& e = costs.exits[k];
        std::printf("%-8s %6lld %12lld %10lld %14lld %12lld %8.1f%%\n", e.name.c_str(),
                    static_cast<long long>(e.afterBlock), static_cast<long long>(e.macs),
                    static_cast<long long>(e.params), static_cast<long long>(costs.cumulativeExitMacs(k)),
                    static_cast<long long>(costs.cumulativeExitParams(k)), costs.backboneFractionAtExit(k) * 100);
    }
}

} // namespace

int runInfo(const std::vector<std::string>& args) {
    if (args.size() == 2 && args[0] == "--model") {
        // Costs of an untrained zoo model for Fashion-MNIST-shaped input.
        core::ModelSpec spec;
        spec.name = args[1];
        spec.classNames = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
        auto net = core::buildModel(spec);
        printCosts(*net);
        return 0;
    }
    if (args.size() != 1) throw core::Error("info: give one checkpoint or trace file, or --model NAME");
    const std::string& path = args[0];
    auto net = core::loadModel(path);
    const auto& s = net->spec();
    std::printf("model %s\n  model: %s\n  options: %s\n  input: %lldx%lldx%lld, %lld classes\n  data set: %s\n"
                "  weights hash: %s\n\n",
                path.c_str(), s.name.c_str(), s.options.dump().c_str(), static_cast<long long>(s.channels),
                static_cast<long long>(s.height), static_cast<long long>(s.width),
                static_cast<long long>(s.numClasses()), s.dataset.c_str(), s.weightsHash.c_str());
    printCosts(*net);
    return 0;
}

} // namespace exitscope::app
