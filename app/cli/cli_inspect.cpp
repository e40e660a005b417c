// exitscope-cli inspect: loads a model file (checkpoint or TorchScript),
// validates it with a dry run and reports its structure and costs. The app
// runs it in a child process for a file it has not loaded before, so a
// loader crash on a hostile file cannot take the app down.
#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "app/cli/cli_model.h"
#include "core/common/error.h"
#include "core/model/multi_exit_net.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace exitscope::app {

int runInspect(const std::vector<std::string>& argv) {
    std::vector<std::string> rest(argv);
    std::string file;
    if (!rest.empty() && rest.front().rfind("--", 0) != 0) {
        file = rest.front();
        rest.erase(rest.begin());
    }
    if (file.empty()) throw core::Error("inspect: give a model file (checkpoint or TorchScript)");
    rest.insert(rest.begin(), {"--weights", file});
    const CliArgs args(rest, "inspect");
    auto net = loadModelFromArgs(args);
    const auto costs = net->measureCosts();
    const auto& s = net->spec();
    nlohmann::json j;
    j["file"] = file;
    j["spec"] = s.toJson();
    j["weights_hash"] = s.weightsHash;
    j["blocks"] = nlohmann::json::array();
    for (const auto& b : costs.blocks)
        j["blocks"].push_back({{"name", b.name}, {"macs", b.macs}, {"params", b.params}, {"out_bytes", b.outBytes}, {"relu", b.relu}});
    j["exits"] = nlohmann::json::array();
    for (std::size_t k = 0; k < costs.exits.size(); ++k) {
        const auto& e = costs.exits[k];
        j["exits"].push_back({{"name", e.name},
                              {"after_block", e.afterBlock},
                              {"head_macs", e.macs},
                              {"head_params", e.params},
                              {"cumulative_macs", costs.cumulativeExitMacs(k)},
                              {"cumulative_params", costs.cumulativeExitParams(k)}});
    }
    if (args.has("json")) {
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("model %s (%s)\n  input %lldx%lldx%lld, %lld classes, weights hash %s\n", file.c_str(), s.name.c_str(),
                static_cast<long long>(s.channels), static_cast<long long>(s.height), static_cast<long long>(s.width),
                static_cast<long long>(s.numClasses()), s.weightsHash.c_str());
    std::printf("%-8s %12s %10s %12s %5s\n", "block", "MACs", "params", "out bytes", "relu");
    for (const auto& b : costs.blocks)
        std::printf("%-8s %12lld %10lld %12lld %5s\n", b.name.c_str(), static_cast<long long>(b.macs),
                    static_cast<long long>(b.params), static_cast<long long>(b.outBytes), b.relu ? "yes" : "no");
    std::printf("%-8s %6s %12s %10s %14s\n", "exit", "after", "head MACs", "head par", "cum. MACs");
    for (std::size_t k = 0; k < costs.exits.size(); ++k) {
        const auto& e = costs.exits[k];
        std::printf("%-8s %6lld %12lld %10lld %14lld\n", e.name.c_str(), static_cast<long long>(e.afterBlock),
                    static_cast<long long>(e.macs), static_cast<long long>(e.params),
                    static_cast<long long>(costs.cumulativeExitMacs(k)));
    }
    std::printf("valid: every block and exit ran on a dry input with the expected shapes\n");
    return 0;
}

} // namespace exitscope::app
