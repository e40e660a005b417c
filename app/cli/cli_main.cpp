#include "app/cli/cli_commands.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

const char* kUsage = R"(exitscope-cli: train, profile and run multi-exit networks without the GUI.

usage: exitscope-cli <command> [options]

commands:
  train    --model msdnet|resnet-spinn|vgg-fine --data fashion-mnist|DIR --out FILE
           [--epochs N] [--batch N] [--lr X] [--exit-weights w1,w2,..] [--freeze-backbone --weights FILE]
           [--val N] [--seed N] [--max-train N] [--no-augment] [--threads N]
  profile  --weights FILE --data fashion-mnist|DIR --split test|val --out TRACE.safetensors
           [--max-samples N] [--timing-samples N] [--batch N] [--val N] [--seed N] [--threads N]
  run      --weights FILE --data fashion-mnist|DIR [--split test] (--threshold X | --thresholds t1,..,tK-1 | --config C)
           [--max-samples N] [--batch N] [--trace TRACE] [--threads N] [--device cpu|cuda]
           runs the real early-exit executor; with --trace, checks it agrees sample by sample
  profile-splits --weights FILE --data fashion-mnist|DIR --out SPLITS.safetensors [--split val] [--max-samples 1000]
           [--mode per-tensor|per-channel|lossless] [--batch N]   encoded bytes, codec time and accuracy after
           transfer at every split candidate, on real activations
  info     FILE   (a checkpoint, a TorchScript model or a trace)
  inspect  MODEL [--json] [--mean m1,.. --std s1,..]   validates a checkpoint or TorchScript multi-exit model with a
           dry run and prints its blocks, exits, MACs and parameters (the app runs it before a first load)
  eval     --trace T (--config C | --policy P [policy options] | --policy oracle) [--val-trace V | --fit-on-test]
           [--json] [--csv FILE|-]
  tune     --trace VAL [--test-trace TEST] --policy confidence|budgeted|gates|static|anytime
           (--target-accuracy A | --budget B | --alpha X | --threshold T ...) --out CONFIG.json
  calibrate --trace VAL [--test-trace TEST] [--bins M]   per-exit temperatures and ECE before/after
  sweep    --trace T [--val-trace V | --fit-on-test] --policy confidence|budgeted|gates|static|anytime [--unit macs|ms] [--points N]
           [--csv FILE|-]   accuracy-cost curve with its Pareto front (anytime: accuracy against the budget)
  simulate --trace T --device PRESET|FILE --server PRESET|FILE (--link MBPS[,RTT_MS] | --link-csv FILE)
           --goal latency:ACC|accuracy:P95MS|throughput|cost:P95MS,ACC --requests N (--period MS | --rate PER_S)
           [--seed S] [--replan MS] [--rtt MS] [--jitter MS] [--splits SPLITS.safetensors] [--config TUNED.json]
           [--json] [--csv FILE]
           request stream through device, link and server queues with online re-planning
  split-run --weights FILE --data fashion-mnist|DIR --trace TEST_TRACE [--splits SPLITS.safetensors]
           [--after b1,b2] [--bandwidths 2,10,50] [--rtt MS] [--threshold 0.99] [--max-samples 300]
           [--mode per-tensor|per-channel|lossless] [--json FILE|-]   device and server parts as two processes on
           127.0.0.1 over a shaped TCP link; measured against simulated median latency per case
  elastic  --trace TEST --deadline fixed:X|uniform:A,B|normal:MU,SIGMA|exponential:RATE|exponential:mean=M|csv:FILE
           [--unit fraction|ms] [--val-trace VAL] [--device PRESET|FILE] [--m 4] [--random-plans 16] [--times 20]
           [--calibrate] [--seed S] [--hidden 32,32] [--epochs 30] [--max-samples N] [--threads N] [--json] [--out C.json]
           EINet under an unpredictable forced exit: CS-Predictor trained on VAL (default: the -val trace next to
           TEST), online hybrid plans against static, confidence and random-search plans; deadlines are fractions
           of the time with every branch run unless --unit ms

policy options:
  --policy confidence [--criterion max-softmax|entropy|margin] (--threshold T | --thresholds t1,..,tK-1) [--calibrate]
  --policy budgeted --budget MACS_PER_SAMPLE   (thresholds fitted on --val-trace, MSDNet budgeted batch)
  --policy gates --alpha A [--cost params|macs] (LEENet gates trained on --val-trace)
  Policies that fit (budgeted, gates, --calibrate) take --val-trace, else the -val trace next to a -test
  trace; fitting on the evaluated trace itself needs --fit-on-test (its figures are then optimistic).
  --policy static --exit K;  --policy anytime --budget B [--unit macs|ms]

Models: --weights takes an ExitScope checkpoint or a TorchScript multi-exit model (docs/torchscript.md);
--mean/--std override an imported model's normalisation.

Threads: LibTorch uses --threads N, else $EXITSCOPE_THREADS, else one per core.
)";

} // namespace

namespace exitscope::app {

namespace {

// Commands that run networks live in libexitscope_cli_nn.so: the program
// itself does not link LibTorch (about a second to load), so trace-only
// commands start at once.
const char* const kNetworkCommands[] = {"train", "profile", "run", "profile-splits", "split-run", "split-serve",
                                        "inspect", "info"};

using NetworkMain = int (*)(const char* command, int argc, const char* const* argv);

std::string pluginPath() {
    if (const char* configured = std::getenv("EXITSCOPE_CLI_NN_PLUGIN")) return configured;
    const char* name = "libexitscope_cli_nn.so";
    std::vector<std::string> candidates;
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        const std::string exe(self, static_cast<std::size_t>(n));
        const std::string dir = exe.substr(0, exe.rfind('/') + 1);
        candidates.push_back(dir + name);
        candidates.push_back(dir + "../lib/exitscope/" + name);
    }
    candidates.push_back(EXITSCOPE_CLI_NN_BUILD_PATH);
    for (const auto& c : candidates)
        if (::access(c.c_str(), R_OK) == 0) return c;
    return candidates.front();
}

int runNetworkCommand(const std::string& command, const std::vector<std::string>& args) {
    const std::string path = pluginPath();
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        std::cerr << "exitscope-cli " << command << ": error: " << path
                  << ": the network part of exitscope-cli does not load: " << ::dlerror() << "\n";
        return 1;
    }
    auto entry = reinterpret_cast<NetworkMain>(::dlsym(handle, "exitscope_cli_nn_main"));
    if (!entry) {
        std::cerr << "exitscope-cli " << command << ": error: " << path << ": not exitscope-cli's network part\n";
        return 1;
    }
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    // Never unloaded: LibTorch's static state lives until the process ends.
    return entry(command.c_str(), static_cast<int>(argv.size()), argv.data());
}

} // namespace

} // namespace exitscope::app

int main(int argc, char** argv) {
    using namespace exitscope;
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        std::cout << kUsage;
        return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    // info on a trace needs no network.
    if (command == "info" && app::isTraceInfo(args)) return app::runGuarded(command, [&] { return app::runTraceInfo(args); });
    for (const char* c : app::kNetworkCommands)
        if (command == c) return app::runNetworkCommand(command, args);
    return app::runGuarded(command, [&]() -> int {
        if (command == "eval") return app::runEval(args);
        if (command == "tune") return app::runTune(args);
        if (command == "sweep") return app::runSweep(args);
        if (command == "calibrate") return app::runCalibrate(args);
        if (command == "simulate") return app::runSimulate(args);
        if (command == "elastic") return app::runElastic(args);
        std::cerr << "exitscope-cli: unknown command '" << command << "'\n\n" << kUsage;
        return 2;
    });
}
