#include "app/cli/cli_help.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace exitscope::app {

namespace {

const char* const kThreads = "$EXITSCOPE_THREADS, else one per core";

OptionHelp req(std::string name, std::string value, std::string help) {
    return {std::move(name), std::move(value), "", std::move(help), true};
}
OptionHelp opt(std::string name, std::string value, std::string fallback, std::string help) {
    return {std::move(name), std::move(value), std::move(fallback), std::move(help), false};
}
OptionHelp flag(std::string name, std::string help) { return {std::move(name), "", "", std::move(help), false}; }

std::vector<OptionHelp> join(std::vector<OptionHelp> a, const std::vector<OptionHelp>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// --mean/--std of imported models (app/cli/cli_model.h).
std::vector<OptionHelp> modelOptions() {
    return {opt("mean", "m1,m2,..", "the model's own", "per-channel mean of an imported TorchScript model's normalisation"),
            opt("std", "s1,s2,..", "the model's own", "per-channel standard deviation; give both or neither")};
}

// The data-set options every command that reads --data shares.
std::vector<OptionHelp> dataOptions() {
    return {req("data", "fashion-mnist|DIR", "the data set: Debian's Fashion-MNIST, or an image folder (one folder per class)"),
            opt("val", "N", "5,000 of 50,000+ training images, else 10%", "training images held out as the validation split"),
            opt("seed", "N", "0", "seed of the train/validation split")};
}

// Commands that run a model on --data: how its classes meet the model's.
std::vector<OptionHelp> classOptions() {
    return {flag("classes-by-order",
                 "take the data set's classes, in their order, as the model's although their names differ "
                 "(the same names in another order are always mapped by name)")};
}

// The policy options of eval, tune and sweep (app/cli/cli_policy_args.h).
std::vector<OptionHelp> policyOptions(bool withConfig) {
    std::vector<OptionHelp> o{
        opt("policy", "confidence|budgeted|gates|static|anytime", "confidence", "the exit policy"),
        opt("criterion", "max-softmax|entropy|margin", "max-softmax", "confidence policy: the score compared"),
        opt("threshold", "T", "0.9", "confidence policy: one threshold for every exit"),
        opt("thresholds", "t1,..,tK-1", "", "confidence policy: a threshold per early exit"),
        opt("budget", "B", "", "budgeted: average MACs per sample; anytime: MACs or ms per image (--unit)"),
        opt("alpha", "A", "0.5", "gates: weight of cost against accuracy in the gates' training loss"),
        opt("cost", "params|macs", "params", "gates: the cost the loss counts"),
        opt("exit", "K", "the last exit", "static policy: the exit every sample takes"),
        opt("unit", "macs|ms", "macs", "anytime budget's unit (ms needs the trace's measured exit times)"),
        opt("val-trace", "TRACE", "the -val trace next to a -test trace",
            "trace budgeted, gates and --calibrate fit on"),
    };
    if (withConfig) o.push_back(opt("config", "TUNED.json", "", "a tuned configuration instead of the policy options"));
    return o;
}

std::vector<CommandHelp> makeCommands() {
    std::vector<CommandHelp> c;
    c.push_back({"train", "", "train a zoo model (or only its exits) and write a checkpoint",
                 "Trains msdnet, resnet-spinn or vgg-fine on --data; every exit's loss counts (--exit-weights).\n"
                 "With --freeze-backbone, only the exit heads of --weights are trained.",
                 join({opt("model", "msdnet|resnet-spinn|vgg-fine", "", "the zoo model to build (required unless --freeze-backbone)"),
                       req("out", "FILE", "checkpoint to write")},
                      join(dataOptions(),
                           {opt("epochs", "N", "10", "passes over the training images"),
                            opt("batch", "N", "128", "images per training step"),
                            opt("lr", "X", "0.002", "Adam's learning rate"),
                            opt("exit-weights", "w1,w2,..", "equal", "loss weight of each exit"),
                            opt("options", "JSON", "the zoo's defaults", "model options, e.g. '{\"blocks\":4}'"),
                            opt("weights", "FILE", "", "the trained model whose backbone --freeze-backbone keeps"),
                            flag("freeze-backbone", "train only the exit heads of --weights"),
                            opt("max-train", "N", "all", "use at most N training images"),
                            flag("no-augment", "no random crops or flips"),
                            opt("threads", "N", kThreads, "LibTorch threads")}))});
    c.push_back({"profile", "", "run a model once over a data split and write its trace",
                 "Writes per sample and exit the class probabilities, gate inputs and label, and per block the\n"
                 "measured time, MACs, parameters and activation bytes (docs/trace-format.md).",
                 join({req("weights", "FILE", "checkpoint or TorchScript multi-exit model"),
                       req("out", "TRACE.safetensors", "trace to write")},
                      join(dataOptions(),
                           join({opt("split", "test|val", "test", "which split to profile"),
                                 opt("max-samples", "N", "all", "profile at most N samples"),
                                 opt("timing-samples", "N", "100", "samples timed block by block"),
                                 opt("batch", "N", "256", "images per forward pass"),
                                 opt("shard", "I/N", "", "profile only shard I of N (0-based; contiguous whole batches; "
                                     "exitscope-cli merge joins the shards)"),
                                 opt("device", "cpu|cuda[:N]", "cpu", "where the network runs (cuda needs a LibTorch with CUDA)"),
                                 opt("corrupt", "NAME:SEVERITY", "", "profile shifted data: gaussian-noise, blur, brightness, "
                                     "contrast, jpeg, pixelate or rotate at severity 1..5 (docs/shift.md)"),
                                 opt("corrupt-seed", "N", "0", "seed of the corruption's random parts (noise, rotation direction)"),
                                 opt("threads", "N", kThreads, "LibTorch threads")},
                                join(modelOptions(), classOptions()))))});
    c.push_back({"run", "", "run the real early-exit executor",
                 "Runs the network block by block and drops the samples that left at each exit; the samples\n"
                 "still running are pooled across batches, so deep blocks run on larger batches; with\n"
                 "--trace, checks sample by sample that it agrees with the trace-based policy.",
                 join({req("weights", "FILE", "checkpoint or TorchScript multi-exit model")},
                      join(dataOptions(),
                           join({opt("split", "test|val", "test", "which split to run"),
                                 opt("threshold", "X", "0.9", "max-softmax threshold for every exit"),
                                 opt("thresholds", "t1,..,tK-1", "", "a threshold per early exit"),
                                 opt("config", "TUNED.json", "", "a tuned config of any policy kind (exitscope-cli tune)"),
                                 opt("max-samples", "N", "all", "run at most N samples"),
                                 opt("batch", "N", "256", "images read and started per batch"),
                                 opt("trace", "TRACE", "", "a trace of the same weights to check against"),
                                 opt("device", "cpu|cuda", "cpu", "where LibTorch runs"),
                                 opt("threads", "N", kThreads, "LibTorch threads")},
                                join(modelOptions(), classOptions()))))});
    c.push_back({"export", "", "write a deployable TorchScript file that really exits",
                 "Writes one TorchScript file with the tuned policy inside: torch.jit.load (Python) and\n"
                 "torch::jit::load (C++) open it with no ExitScope code; forward(x) takes images [n, C, H, W]\n"
                 "scaled to [0, 1] and returns (prediction, exit index, score) per sample (docs/deploy.md).\n"
                 "--split-after B also writes NAME-device.pt (blocks 0..B and their exits; returns the samples\n"
                 "that left plus the others' state quantised to 8 bits) and NAME-server.pt (takes that state and\n"
                 "finishes), to run on two machines.",
                 join({req("weights", "FILE", "checkpoint or TorchScript multi-exit model"),
                       req("config", "TUNED.json", "a tuned config of these weights (exitscope-cli tune)"),
                       req("out", "FILE", "the TorchScript file to write"),
                       opt("split-after", "B", "none", "also write the device half (blocks 0..B) and the server half")},
                      modelOptions())});
    c.push_back({"profile-splits", "", "measure every split candidate on real activations",
                 "Encoded bytes, codec time and accuracy after transfer at every split candidate.",
                 join({req("weights", "FILE", "checkpoint or TorchScript multi-exit model"),
                       req("out", "SPLITS.safetensors", "split profile to write")},
                      join(dataOptions(),
                           join({opt("split", "test|val", "val", "which split to measure on"),
                                 opt("max-samples", "N", "1000", "measure on at most N samples"),
                                 opt("mode", "per-tensor|per-channel|lossless", "per-tensor", "the codec's quantisation"),
                                 opt("batch", "N", "100", "images per batch"),
                                 opt("shard", "I/N", "", "measure only shard I of N (0-based; contiguous whole batches; "
                                     "exitscope-cli merge joins the shards)"),
                                 opt("device", "cpu|cuda[:N]", "cpu", "where the network runs (the codec runs on the CPU)"),
                                 opt("threads", "N", "1", "LibTorch threads")},
                                join(modelOptions(), classOptions()))))});
    c.push_back({"explain", "", "what each exit an image reached looked at (Grad-CAM overlays as PNGs)",
                 "For image --index of the split, runs the real executor to find where it leaves, then writes\n"
                 "DIR/exitK.png for every exit it reached (Grad-CAM of that exit's top class on the feature map\n"
                 "its head reads, in JET colours over the image) and DIR/exits.png with them side by side.",
                 join({req("weights", "FILE", "checkpoint or TorchScript multi-exit model"),
                       opt("index", "I", "", "the image's position in the split, from 0 (required)"),
                       req("out", "DIR", "folder for the PNGs (made when missing)")},
                      join(dataOptions(),
                           join({opt("split", "test|val", "test", "which split --index counts in"),
                                 opt("threshold", "T", "0.9", "max-softmax threshold of every exit (where the image leaves)"),
                                 opt("config", "TUNED.json", "", "a tuned policy instead of --threshold"),
                                 flag("all-exits", "every exit, not only those the image reached"),
                                 opt("scale", "N", "8", "pixels per image pixel in the PNGs"),
                                 opt("threads", "N", kThreads, "LibTorch threads")},
                                join(modelOptions(), classOptions()))))});
    c.push_back({"merge", "SHARD...", "join the shards of a profile or split profile into one file",
                 "Checks that the shards (profile --shard I/N or profile-splits --shard I/N) belong together:\n"
                 "the same weights, data set, split, seed, sample count, batch and shard count, every shard\n"
                 "once, no gap or overlap. The merged file's tensors are a single-process run's; timings are\n"
                 "per machine (metadata 'shards' says which host measured which samples). Shards measured\n"
                 "on different device types are refused unless --mixed-devices.",
                 {req("out", "FILE.safetensors", "the merged trace or split profile to write"),
                  flag("mixed-devices", "merge timings measured on different device types (the file says so)")}});
    c.push_back({"split-run", "", "device and server halves as two processes over a shaped TCP link",
                 "Runs the device part here and the server part as a second process on 127.0.0.1 over a\n"
                 "shaped link, and compares the measured latency per case with the simulated median.",
                 join({req("weights", "FILE", "checkpoint or TorchScript multi-exit model"),
                       req("trace", "TEST_TRACE", "a test trace of the same weights")},
                      join(dataOptions(),
                           join({opt("splits", "SPLITS.safetensors", "the trace's own estimate",
                                     "measured split profile from profile-splits"),
                                 opt("split", "test|val", "test", "which split to run (must match the trace)"),
                                 opt("after", "b1,b2,..", "the first and the middle candidate",
                                     "blocks after which to split"),
                                 opt("bandwidths", "MBPS,..", "2,10,50", "link bandwidths to run"),
                                 opt("rtt", "MS", "10", "link round-trip time"),
                                 opt("threshold", "X", "0.99", "max-softmax threshold for every exit"),
                                 opt("max-samples", "N", "300", "images per case"),
                                 opt("warmup", "N", "10", "images run before timing"),
                                 opt("mode", "per-tensor|per-channel|lossless", "per-tensor", "the codec's quantisation"),
                                 opt("json", "FILE|-", "", "write the results as JSON")},
                                join(modelOptions(), classOptions()))))});
    c.push_back({"split-serve", "", "the server half of split-run",
                 "Started by split-run itself; listens on 127.0.0.1:--port.",
                 {req("weights", "FILE", "checkpoint or TorchScript multi-exit model"),
                  req("port", "PORT", "TCP port on 127.0.0.1"), opt("mbps", "MBPS", "10", "reply link bandwidth"),
                  opt("rtt", "MS", "0", "reply link round-trip time"),
                  opt("threshold", "X", "1", "max-softmax threshold of the server's exits"),
                  opt("threads", "N", "1", "LibTorch threads")},
                 true});
    c.push_back({"info", "FILE", "describe a checkpoint, a TorchScript model or a trace",
                 "A model: its input, classes, weights hash and per block and exit MACs and parameters.\n"
                 "A trace: its metadata, exits, accuracy per exit and costs. --model NAME: an untrained zoo\n"
                 "model's costs for Fashion-MNIST-shaped input.",
                 {opt("model", "msdnet|resnet-spinn|vgg-fine", "", "costs of an untrained zoo model instead of FILE")}});
    c.push_back({"inspect", "MODEL", "validate a model with a dry run and print its blocks, exits and costs",
                 "The app runs it in a child process before it first loads a file.",
                 join({opt("weights", "FILE", "MODEL", "the model file, instead of the first argument"),
                       flag("json", "print JSON instead of tables")},
                      modelOptions())});
    c.push_back({"eval", "", "accuracy, cost and exit histogram of a policy on a trace", "",
                 join({req("trace", "TRACE", "the trace to evaluate on")},
                      join(policyOptions(true),
                           {flag("calibrate", "confidence policy: per-exit temperatures fitted on the validation trace"),
                            flag("fit-on-test", "fit on --trace itself (figures are then optimistic)"),
                            flag("json", "print JSON"), opt("csv", "FILE|-", "", "per-sample outcomes as CSV")}))});
    c.push_back({"tune", "", "fit a policy on a validation trace and write a tuned configuration", "",
                 join({req("trace", "VAL", "validation trace to fit on"), req("out", "CONFIG.json", "configuration to write"),
                       opt("test-trace", "TEST", "", "also report the tuned policy on this trace"),
                       opt("target-accuracy", "A", "", "confidence: the cheapest threshold reaching accuracy A (0..1)"),
                       opt("points", "N", "1001", "confidence: thresholds tried")},
                      join(policyOptions(false),
                           {flag("calibrate", "confidence policy: fit per-exit temperatures first")}))});
    c.push_back({"calibrate", "", "per-exit temperature scaling and ECE before and after", "",
                 {req("trace", "VAL", "validation trace to fit on"),
                  opt("test-trace", "TEST", "", "report the reliability on this trace too"),
                  opt("bins", "M", "15", "confidence bins of the expected calibration error")}});
    c.push_back({"sweep", "", "accuracy-cost curve of a policy with its Pareto front",
                 "Anytime: accuracy against the budget.",
                 join({req("trace", "TRACE", "the trace to evaluate on"), opt("points", "N", "200", "points on the curve"),
                       opt("csv", "FILE|-", "-", "where the curve goes")},
                      join(policyOptions(false),
                           {flag("calibrate", "confidence policy: per-exit temperatures fitted on the validation trace"),
                            flag("fit-on-test", "fit on --trace itself (figures are then optimistic)")}))});
    c.push_back({"simulate", "", "a request stream through device, link and server queues, re-planned online",
                 "With --drift: a stream whose data shift (traces of profile --corrupt), through thresholds fitted\n"
                 "once on clean validation data, re-fitted online from the final exit's answers on a share of the\n"
                 "requests (--adapt), and an oracle fitted on the true labels of the data served (docs/shift.md).",
                 {req("trace", "TRACE", "the trace whose exits and costs the requests follow (--drift: the clean test trace)"),
                  opt("device", "PRESET|FILE", "required without --drift", "the device's platform profile"),
                  opt("server", "PRESET|FILE", "required without --drift", "the server's platform profile"),
                  opt("link", "MBPS[,RTT_MS]", "", "a constant link (give it or --link-csv)"),
                  opt("link-csv", "FILE", "", "a bandwidth schedule (time_ms,mbps[,rtt_ms])"),
                  opt("goal", "latency:ACC|accuracy:P95MS|throughput|cost:P95MS,ACC", "required without --drift",
                      "what the planner optimises"),
                  opt("requests", "N", "required; --drift: 10000", "requests to simulate"),
                  opt("period", "MS", "", "one request every MS (give it or --rate)"),
                  opt("rate", "PER_S", "", "Poisson arrivals at this rate"),
                  opt("seed", "S", "0", "seed of arrivals and jitter"),
                  opt("replan", "MS", "1000", "re-planning interval"), opt("rtt", "MS", "the link's", "round-trip time"),
                  opt("jitter", "MS", "0", "link latency jitter"),
                  opt("splits", "SPLITS.safetensors", "the trace's own estimate", "measured split profile"),
                  opt("config", "TUNED.json", "", "also plan with this tuned policy"),
                  opt("drift", "REQ:SEV,..", "", "severity of the data from each request on, e.g. 0:0,2000:3 (0 = clean)"),
                  opt("shifted", "T1,T2,..", "", "--drift: the test traces of one corruption at each severity used"),
                  opt("val-trace", "VAL", "", "--drift: the clean validation trace the thresholds are first fitted on"),
                  opt("adapt", "share=S,max-drop=D[,window=W][,refit=R]", "share=0.05,max-drop=0.01,window=200,refit=20",
                      "--drift: requests run to the end, accuracy-drop budget, their window and re-fit interval"),
                  opt("span", "N", "500", "--drift: requests per reported span"),
                  flag("spans", "--drift: also print every span (the JSON always has them)"),
                  flag("json", "print JSON"), opt("csv", "FILE", "", "per-request log as CSV")}});
    c.push_back({"elastic", "", "EINet plans under an unpredictable forced exit",
                 "Trains the CS-Predictor on the validation trace and compares online hybrid plans with static,\n"
                 "confidence and random-search plans. Deadlines are fractions of the time with every branch\n"
                 "run unless --unit ms.",
                 {req("trace", "TEST", "the test trace"),
                  req("deadline", "fixed:X|uniform:A,B|normal:MU,SIGMA|exponential:RATE|exponential:mean=M|csv:FILE",
                      "the forced-exit time's distribution"),
                  opt("val-trace", "VAL", "the -val trace next to TEST", "trace the predictor is trained on"),
                  opt("unit", "fraction|ms", "fraction", "the deadline's unit"),
                  opt("device", "PRESET|FILE", "the trace's measured times", "device whose block times count"),
                  opt("m", "N", "4", "branches the hybrid search enumerates"),
                  opt("random-plans", "N", "16", "plans of the random-search baseline"),
                  opt("times", "N", "20", "deadlines drawn per sample"), opt("seed", "S", "0", "seed"),
                  opt("hidden", "w1,w2,..", "32,32", "the predictor's hidden layer widths"),
                  opt("epochs", "N", "30", "the predictor's training epochs"),
                  opt("max-samples", "N", "all", "evaluate at most N samples"),
                  opt("threads", "N", "one per core, at most 4", "worker threads"),
                  flag("calibrate", "per-exit temperatures first"), flag("json", "print JSON"),
                  opt("out", "C.json", "", "write the elastic section of a configuration")}});
    return c;
}

} // namespace

const std::vector<CommandHelp>& commandHelps() {
    static const std::vector<CommandHelp> commands = makeCommands();
    return commands;
}

const CommandHelp* findCommandHelp(const std::string& name) {
    for (const auto& c : commandHelps())
        if (c.name == name) return &c;
    return nullptr;
}

std::string formatCommandHelp(const CommandHelp& command) {
    std::ostringstream os;
    os << "usage: exitscope-cli " << command.name;
    if (!command.positional.empty()) os << " " << command.positional;
    for (const auto& o : command.options)
        if (o.required) os << " --" << o.name << " " << o.value;
    std::string summary = command.summary;
    if (!summary.empty()) summary[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(summary[0])));
    os << " [options]\n\n" << summary << ".\n";
    if (!command.details.empty()) os << command.details << "\n";
    os << "\noptions:\n";
    std::size_t width = 0;
    for (const auto& o : command.options)
        width = std::max(width, o.name.size() + (o.value.empty() ? 0 : o.value.size() + 1));
    width = std::min<std::size_t>(width, 34);
    for (const auto& o : command.options) {
        std::string left = "--" + o.name + (o.value.empty() ? "" : " " + o.value);
        os << "  " << left;
        if (left.size() > width + 2)
            os << "\n  " << std::string(width + 2, ' ');
        else
            os << std::string(width + 2 - left.size(), ' ');
        os << "  " << o.help;
        if (o.required)
            os << " (required)";
        else if (!o.fallback.empty())
            os << " (default: " << o.fallback << ")";
        os << "\n";
    }
    os << "  --help" << std::string(width > 4 ? width - 4 : 0, ' ') << "  this text\n";
    return os.str();
}

std::string formatUsage() {
    std::ostringstream os;
    os << "exitscope-cli: train, profile and run multi-exit networks without the GUI.\n\n"
          "usage: exitscope-cli <command> [options]\n"
          "       exitscope-cli <command> --help   every option of a command, with its default\n\ncommands:\n";
    for (const auto& c : commandHelps()) {
        if (c.internal) continue;
        std::string left = c.name + (c.positional.empty() ? "" : " " + c.positional);
        os << "  " << left << std::string(left.size() < 16 ? 16 - left.size() : 1, ' ') << c.summary << "\n";
    }
    os << "\nModels: --weights takes an ExitScope checkpoint or a TorchScript multi-exit model (docs/torchscript.md).\n"
          "Policies that fit (budgeted, gates, --calibrate) take --val-trace, else the -val trace next to a -test\n"
          "trace; fitting on the evaluated trace itself needs --fit-on-test (its figures are then optimistic).\n"
          "Threads: LibTorch uses --threads N, else $EXITSCOPE_THREADS, else one per core.\n";
    return os.str();
}

bool asksForHelp(const std::vector<std::string>& args) {
    return std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
}

} // namespace exitscope::app
