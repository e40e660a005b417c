#include "app/cli/cli_commands.h"
#include "core/common/allocator.h"
#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/progress.h"

#include <cstdio>
#include <iostream>
#include <unistd.h>

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

void writeTextOutput(const std::string& path, const std::string& text) {
    if (path == "-") {
        std::cout << text;
    } else {
        core::writeFileAtomically(path, [&text](std::ostream& out) { out << text; });
    }
}

namespace {
// A progress bar on a terminal leaves its line open until it reaches 100%.
bool g_progressLineOpen = false;
}

bool progressLineOpen() { return g_progressLineOpen; }

void printProgress(double fraction, const std::string& message, bool always) {
    static const bool tty = ::isatty(STDERR_FILENO) != 0;
    const int width = 30;
    const int filled = static_cast<int>(fraction * width + 0.5);
    if (tty) {
        std::fprintf(stderr, "\r[%-*s] %3d%% %s\033[K", width, std::string(static_cast<std::size_t>(std::max(0, filled)), '#').c_str(),
                     static_cast<int>(fraction * 100 + 0.5), message.c_str());
        g_progressLineOpen = !(fraction >= 1.0 || always);
        if (!g_progressLineOpen) std::fputc('\n', stderr);
    } else if (always) {
        std::fprintf(stderr, "%3d%% %s\n", static_cast<int>(fraction * 100 + 0.5), message.c_str());
    }
    std::fflush(stderr);
}

} // namespace exitscope::app

int main(int argc, char** argv) {
    using namespace exitscope;
    core::keepFreedMemoryForReuse();
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        std::cout << kUsage;
        return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    try {
        if (command == "train") return app::runTrain(args);
        if (command == "profile") return app::runProfile(args);
        if (command == "run") return app::runExecute(args);
        if (command == "info") return app::runInfo(args);
        if (command == "eval") return app::runEval(args);
        if (command == "tune") return app::runTune(args);
        if (command == "sweep") return app::runSweep(args);
        if (command == "calibrate") return app::runCalibrate(args);
        if (command == "profile-splits") return app::runProfileSplits(args);
        if (command == "simulate") return app::runSimulate(args);
        if (command == "split-run") return app::runSplitRun(args);
        if (command == "inspect") return app::runInspect(args);
        if (command == "split-serve") return app::runSplitServe(args);
        if (command == "elastic") return app::runElastic(args);
        std::cerr << "exitscope-cli: unknown command '" << command << "'\n\n" << kUsage;
        return 2;
    } catch (const core::Error& e) {
        // One line: a new line only ends a progress bar still open on the terminal.
        std::cerr << (app::progressLineOpen() ? "\n" : "") << "exitscope-cli " << command << ": error: " << e.what() << "\n";
        return 1;
    } catch (const core::Cancelled&) {
        std::cerr << (app::progressLineOpen() ? "\n" : "") << "exitscope-cli " << command << ": cancelled\n";
        return 130;
    } catch (const std::exception& e) {
        std::cerr << (app::progressLineOpen() ? "\n" : "") << "exitscope-cli " << command << ": internal error: " << e.what()
                  << "\n";
        return 3;
    }
}
