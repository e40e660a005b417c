// The early-exit executor against the loop a user would write instead, in one
// run (issue 15): for each model, the plain full forward pass, a plain
// LibTorch early-exit loop (block by block, softmax, threshold, index_select
// compaction: the same rule as the executor, none of its code) and
// EarlyExitExecutor, on the same Fashion-MNIST test images, the same
// threshold and the same thread count. For the imported TorchScript model
// the plain loop calls torch::jit::Module directly, and Debian's
// python3-torch runs bench/python_loop.py on the same file (once with
// glibc's malloc defaults, once with the tunables the executor sets), as
// child processes timed pass by pass in the same rounds. The executor runs
// two ways: batch by batch (run) and with the survivors pooled across
// batches (runStream, what `exitscope-cli run` uses).
//
// Prints images/s, the executor's ratio to each loop, the measured speed-up
// over the full pass against the FLOP-ideal one and against a time ideal
// (each block and head at its measured full-batch cost), and minor page
// faults per 10,000 images. Goals: executor / plain loop >= 1.0, measured / ideal >= 0.8.
//
// usage: bench_vs_loop [--models msdnet,resnet-spinn,vgg-fine,mobilenet] [--images N] [--batch N]
//                      [--torchscript FILE] [--threshold T] [--python PATH|none] [--min-time S]
//                      [benchmark flags]
// --min-time: seconds of rounds per model (default 8; each round times the
//   three variants once, in rotating order, and rates are medians of rounds).
// --torchscript: the model "mobilenet" runs (default: the build's
//   bench/mobilenet_exits.pt, written by bench/export_mobilenet_exits.py when missing).
// --threshold: the imported model's global max-softmax threshold (default 0.9);
//   the zoo models use the lowest threshold whose validation accuracy stays
//   within 0.5 points of the final exit (as bench_executor).
// Threads: $EXITSCOPE_THREADS, default 1 (the README's figures use 1).
#include "core/common/allocator.h"
#include "core/common/error.h"
#include "core/data/registry.h"
#include "core/config/tuned_config.h"
#include "core/executor/executor.h"
#include "core/export/deploy.h"
#include "core/model/checkpoint.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"
#include "core/model/torchscript_net.h"
#include "core/policy/confidence.h"
#include "core/trace/trace.h"

#include "bench/bench_util.h"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <sys/resource.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>

namespace es = exitscope::core;

namespace {

using ExitsOf = std::function<std::vector<int64_t>(const torch::Tensor&)>;

struct Rate {
    double imagesPerSecond = 0;
    double faultsPer10k = 0;
};

/// bench/python_loop.py --serve in a child process: one pass per request,
/// so that it is timed in the same rounds as the C++ variants.
struct PythonWorker {
    std::string label;
    pid_t pid = -1;
    FILE* toChild = nullptr;
    FILE* fromChild = nullptr;
    nlohmann::json first;  ///< its first pass: rate, exit histogram, versions
    bool ok = false;

    bool start(const std::string& command) {
        int in[2], out[2];
        // Close-on-exec: a later worker must not hold this one's pipe open.
        if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return false;
        pid = fork();
        if (pid == 0) {
            dup2(in[0], 0);  // dup2 clears close-on-exec on 0 and 1 only
            dup2(out[1], 1);
            execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        toChild = fdopen(in[1], "w");
        fromChild = fdopen(out[0], "r");
        const auto line = readLine();
        first = nlohmann::json::parse(line, nullptr, false);
        ok = first.is_object() && first.contains("first_pass_images_per_s");
        return ok;
    }
    std::string readLine() {
        std::string line;
        char buf[4096];
        while (fromChild && std::fgets(buf, sizeof buf, fromChild)) {
            line += buf;
            if (!line.empty() && line.back() == '\n') break;
        }
        return line;
    }
    /// One pass: its seconds (measured by Python) and minor page faults; {-1, 0} on failure.
    std::pair<double, long> pass() {
        if (!ok) return {-1, 0};
        std::fputs("pass\n", toChild);
        std::fflush(toChild);
        const auto j = nlohmann::json::parse(readLine(), nullptr, false);
        if (!j.is_object() || !j.contains("seconds")) {
            ok = false;
            return {-1, 0};
        }
        return {j["seconds"].get<double>(), j["minor_faults"].get<long>()};
    }
    void stop() {
        if (toChild) {
            std::fputs("quit\n", toChild);
            std::fclose(toChild);
        }
        if (fromChild) std::fclose(fromChild);
        toChild = fromChild = nullptr;
        if (pid > 0) waitpid(pid, nullptr, 0);
        pid = -1;
    }
};

struct Case {
    std::string model;
    std::shared_ptr<es::MultiExitNet> net;
    std::unique_ptr<es::EarlyExitExecutor> executor;
    float threshold = 1;
    std::vector<torch::Tensor> batches;
    std::vector<torch::Tensor> rawBatches;  ///< the same images scaled to [0, 1], not normalised (the export's input)
    int64_t images = 0;
    ExitsOf plainLoop;
    std::function<void(const torch::Tensor&)> fullForward;
    std::vector<int64_t> executorHistogram, loopHistogram, exportHistogram;
    double idealSpeedup = 0, timeIdealSpeedup = 0;
    std::vector<double> blockUs, headUs;
    Rate full, loop, execBatch, exec;
    double execOverLoop = 0;
    int64_t rounds = 0;
    std::shared_ptr<torch::jit::Module> exported;  ///< exitscope-cli export's file of the same policy (zoo models)
    Rate exportRate;
    std::vector<std::unique_ptr<PythonWorker>> pythons;  ///< default malloc, tuned malloc
    std::vector<Rate> pythonRates;
};

std::vector<Case> g_cases;

long minorFaults() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

/// Drift on a shared machine (20% between runs here) is larger than the
/// differences measured, so the three variants are timed in rounds, one pass
/// over the images each in rotating order, and each variant's rate is its
/// median pass; the executor / loop ratio is the median of the rounds' ratios.
void timeRounds(benchmark::State& state, Case& c) {
    // Each variant runs one pass over the images and returns its seconds and minor page faults.
    using Pass = std::function<std::pair<double, long>()>;
    auto timed = [](std::function<void()> body) -> Pass {
        return [body] {
            const long f0 = minorFaults();
            const auto t0 = std::chrono::steady_clock::now();
            body();
            return std::make_pair(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                                  minorFaults() - f0);
        };
    };
    std::vector<Pass> passes{
        timed([&c] {
            for (const auto& x : c.batches) c.fullForward(x);
        }),
        timed([&c] {
            for (const auto& x : c.batches) benchmark::DoNotOptimize(c.plainLoop(x).data());
        }),
        timed([&c] {
            for (const auto& x : c.batches) benchmark::DoNotOptimize(c.executor->run(x).data());
        }),
        timed([&c] {
            auto r = c.executor->runStream(static_cast<int64_t>(c.batches.size()),
                                           [&c](int64_t i) { return c.batches[static_cast<std::size_t>(i)]; });
            benchmark::DoNotOptimize(r.data());
        })};
    if (c.exported)
        passes.push_back(timed([&c] {
            torch::NoGradGuard noGrad;
            for (const auto& x : c.rawBatches) benchmark::DoNotOptimize(c.exported->forward({x}).toTuple().get());
        }));
    for (auto& py : c.pythons) passes.push_back([w = py.get()] { return w->pass(); });
    const std::size_t V = passes.size();
    std::vector<std::vector<double>> seconds(V);
    std::vector<long> faults(V, 0);
    std::vector<double> ratios;
    int64_t round = 0;
    for (auto _ : state) {
        std::vector<double> t(V);
        for (std::size_t i = 0; i < V; ++i) {
            const auto v = (static_cast<std::size_t>(round) + i) % V;
            const auto [sec, f] = passes[v]();
            t[v] = sec;
            faults[v] += f;
            if (sec > 0) seconds[v].push_back(sec);
        }
        ratios.push_back(t[1] / t[3]);
        ++round;
    }
    auto median = [](std::vector<double> v) {
        if (v.empty()) return std::nan("");
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
        return v[v.size() / 2];
    };
    c.pythonRates.assign(c.pythons.size(), Rate{});
    std::vector<Rate*> rates{&c.full, &c.loop, &c.execBatch, &c.exec};
    if (c.exported) rates.push_back(&c.exportRate);
    for (auto& r : c.pythonRates) rates.push_back(&r);
    for (std::size_t v = 0; v < V; ++v) {
        rates[v]->imagesPerSecond = static_cast<double>(c.images) / median(seconds[v]);
        rates[v]->faultsPer10k = static_cast<double>(faults[v]) * 1e4 / static_cast<double>(c.images * round);
    }
    c.execOverLoop = median(ratios);
    c.rounds = round;
    state.counters["full_per_s"] = c.full.imagesPerSecond;
    state.counters["loop_per_s"] = c.loop.imagesPerSecond;
    state.counters["executor_per_s"] = c.exec.imagesPerSecond;
    state.counters["exec_over_loop"] = c.execOverLoop;
}

/// One compaction step of the plain loops: records who left at exit k and
/// returns the positions (in the current batch) of those who stay.
torch::Tensor leaveAt(const torch::Tensor& logits, int64_t k, bool last, float threshold, torch::Tensor& active,
                      std::vector<int64_t>& exitTaken) {
    auto [conf, best] = torch::softmax(logits, 1).max(1);
    auto leave = last ? torch::ones_like(conf, torch::kBool) : conf.ge(threshold);
    auto gone = leave.nonzero().squeeze(1);
    auto goneActive = active.index_select(0, gone);
    const int64_t* g = goneActive.data_ptr<int64_t>();
    for (int64_t i = 0; i < goneActive.numel(); ++i) exitTaken[static_cast<std::size_t>(g[i])] = k;
    return leave.logical_not().nonzero().squeeze(1);
}

/// The loop a LibTorch user writes over the zoo model's blocks and heads.
ExitsOf zooLoop(std::shared_ptr<es::MultiExitNet> net, float threshold) {
    return [net, threshold](const torch::Tensor& x) {
        c10::InferenceMode guard;
        const int64_t n = x.size(0), K = net->numExits();
        std::vector<int64_t> exitTaken(static_cast<std::size_t>(n), -1);
        auto active = torch::arange(n, torch::kInt64);
        es::State state{x};
        int64_t k = 0;
        for (int64_t b = 0; b < net->numBlocks(); ++b) {
            state = net->runBlock(b, state);
            while (k < K && net->exitBlock(k) == b) {
                auto keep = leaveAt(net->runExit(k, state), k, k == K - 1, threshold, active, exitTaken);
                ++k;
                if (keep.numel() == 0) return exitTaken;
                if (keep.numel() < active.numel()) {
                    active = active.index_select(0, keep);
                    for (auto& t : state) t = t.index_select(0, keep);
                }
            }
        }
        return exitTaken;
    };
}

/// The same loop over a TorchScript file opened with torch::jit::load, with
/// no ExitScope code between the user and the module.
ExitsOf scriptLoop(const std::string& file, float threshold) {
    auto module = std::make_shared<torch::jit::Module>(torch::jit::load(file));
    module->eval();
    auto blocks = std::make_shared<std::vector<torch::jit::Module>>();
    auto heads = std::make_shared<std::vector<torch::jit::Module>>();
    for (const auto& m : module->attr("blocks").toModule().children()) blocks->push_back(m);
    for (const auto& m : module->attr("exits").toModule().children()) heads->push_back(m);
    const auto exitBlocks = module->attr("exit_blocks").toIntVector();
    return [module, blocks, heads, exitBlocks, threshold](const torch::Tensor& x) {
        c10::InferenceMode guard;
        const int64_t n = x.size(0), K = static_cast<int64_t>(heads->size());
        std::vector<int64_t> exitTaken(static_cast<std::size_t>(n), -1);
        auto active = torch::arange(n, torch::kInt64);
        c10::List<at::Tensor> state;
        state.push_back(x);
        int64_t k = 0;
        for (int64_t b = 0; b < static_cast<int64_t>(blocks->size()); ++b) {
            state = (*blocks)[static_cast<std::size_t>(b)].forward({state}).toTensorList();
            while (k < K && exitBlocks[static_cast<std::size_t>(k)] == b) {
                auto logits = (*heads)[static_cast<std::size_t>(k)].forward({state}).toTensor();
                auto keep = leaveAt(logits, k, k == K - 1, threshold, active, exitTaken);
                ++k;
                if (keep.numel() == 0) return exitTaken;
                if (keep.numel() < active.numel()) {
                    active = active.index_select(0, keep);
                    c10::List<at::Tensor> kept;
                    for (const at::Tensor& t : state) kept.push_back(t.index_select(0, keep));
                    state = kept;
                }
            }
        }
        return exitTaken;
    };
}

std::vector<int64_t> histogramOf(const std::vector<int64_t>& exits, int64_t K) {
    std::vector<int64_t> h(static_cast<std::size_t>(K), 0);
    for (auto e : exits)
        if (e >= 0 && e < K) ++h[static_cast<std::size_t>(e)];
    return h;
}

std::string join(const std::vector<int64_t>& v) {
    std::string s;
    for (auto x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
    return s;
}

/// Lowest global threshold whose validation accuracy stays within 0.5 points of the final exit.
float zooThreshold(const es::Trace& val) {
    const double finalAcc = es::perExitAccuracy(val).back();
    const auto grid = es::uniformThresholdGrid(1001);
    const auto sweep = es::sweepGlobalThresholds(es::computeScores(val, es::ConfidenceCriterion::MaxSoftmax), grid);
    for (std::size_t i = 0; i < grid.size(); ++i)
        if (sweep.accuracy[i] >= finalAcc - 0.005) return grid[i];
    return 1.0f;
}

/// The first `n` Fashion-MNIST test images shaped for `spec`: zero padded to
/// its size, the grey channel replicated, normalised (as bench/python_loop.py).
torch::Tensor imagesFor(const es::ImageSet& images, int64_t n, const es::ModelSpec& spec) {
    auto grey = torch::from_blob(const_cast<uint8_t*>(images.pixels.data()), {n, images.channels, images.height, images.width},
                                 torch::kUInt8);
    const int64_t C = spec.channels, H = spec.height, W = spec.width;
    const int64_t dh = H - images.height, dw = W - images.width;
    auto x = torch::constant_pad_nd(grey, {dw / 2, dw - dw / 2, dh / 2, dh - dh / 2}).expand({n, C, H, W}).to(torch::kFloat32) / 255.0;
    const auto& norm = spec.normalisation;
    if (!norm.mean.empty())
        x = (x - torch::tensor(norm.mean).view({1, -1, 1, 1})) / torch::tensor(norm.std).view({1, -1, 1, 1});
    return x.contiguous();
}

double idealSpeedupOf(es::MultiExitNet& net, const std::vector<int64_t>& histogram) {
    const auto costs = net.measureCosts();
    const double fullMacs = static_cast<double>(costs.backboneMacs() + costs.exits.back().macs);
    double macs = 0, n = 0;
    for (std::size_t k = 0; k < histogram.size(); ++k) {
        macs += static_cast<double>(histogram[k]) * static_cast<double>(costs.cumulativeExitMacs(k));
        n += static_cast<double>(histogram[k]);
    }
    return fullMacs / (macs / n);
}

std::unique_ptr<PythonWorker> startPython(const std::string& python, const std::string& file, const Case& c,
                                          int64_t batch, int threads, bool tuned) {
    std::ostringstream cmd;
    if (tuned)  // the same thresholds keepFreedMemoryForReuse sets, through glibc's tunables
        cmd << "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824 ";
    cmd << "exec " << python << " " << EXITSCOPE_SOURCE_DIR << "/bench/python_loop.py --serve --model '" << file
        << "' --images " << c.images << " --batch " << batch << " --threshold " << c.threshold << " --threads " << threads;
    auto w = std::make_unique<PythonWorker>();
    w->label = tuned ? "tuned" : "default";
    if (!w->start(cmd.str())) std::fprintf(stderr, "bench_vs_loop: %s did not start\n", cmd.str().c_str());
    return w;
}

/// Microseconds per sample of every block and head at the full batch (the
/// first batch, 5 runs after one warm-up), and, with `print`, a table that
/// also times each block at the executor's share of the batch.
void timePieces(Case& c, bool print) {
    c10::InferenceMode guard;
    auto& net = *c.net;
    const int64_t K = net.numExits();
    std::vector<int64_t> reach(static_cast<std::size_t>(K), 0);  // samples that reach exit k
    int64_t left = 0;
    for (int64_t k = 0; k < K; ++k) {
        reach[static_cast<std::size_t>(k)] = c.images - left;
        left += c.executorHistogram[static_cast<std::size_t>(k)];
    }
    auto timeIt = [](const std::function<void()>& f) {
        f();
        const auto t0 = std::chrono::steady_clock::now();
        for (int r = 0; r < 5; ++r) f();
        return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 5;
    };
    const auto costs = print ? net.measureCosts() : es::ModelCosts{};
    if (print)
        std::printf("%s: MACs and us per sample of each block at the full batch and at the executor's share of it\n",
                    c.model.c_str());
    es::State state{c.batches.front()};
    const auto n = static_cast<double>(state.front().size(0));
    c.blockUs.clear();
    c.headUs.assign(static_cast<std::size_t>(K), 0.0);
    int64_t k = 0;
    for (int64_t b = 0; b < net.numBlocks(); ++b) {
        while (k < K && net.exitBlock(k) < b) ++k;
        c.blockUs.push_back(timeIt([&] { net.runBlock(b, state); }) / n);
        if (print) {
            const double share = static_cast<double>(reach[static_cast<std::size_t>(std::min(k, K - 1))]) / c.images;
            const int64_t m = std::max<int64_t>(1, static_cast<int64_t>(share * n));
            es::State small;
            for (const auto& t : state) small.push_back(t.slice(0, 0, m).contiguous());
            std::printf("  block %2lld %10lld MACs %9.2f us (x%-4lld) %9.2f us (x%lld)\n", static_cast<long long>(b),
                        static_cast<long long>(costs.blocks[static_cast<std::size_t>(b)].macs), c.blockUs.back(),
                        static_cast<long long>(n), timeIt([&] { net.runBlock(b, small); }) / static_cast<double>(m),
                        static_cast<long long>(m));
        }
        state = net.runBlock(b, state);
        for (int64_t h = 0; h < K; ++h) {
            if (net.exitBlock(h) != b) continue;
            c.headUs[static_cast<std::size_t>(h)] = timeIt([&] { net.runExit(h, state); }) / n;
            if (print)
                std::printf("  head  %2lld %10lld MACs %9.2f us\n", static_cast<long long>(h),
                            static_cast<long long>(costs.exits[static_cast<std::size_t>(h)].macs),
                            c.headUs[static_cast<std::size_t>(h)]);
        }
    }
}

/// Full-pass time over the mean time of the exits taken, each exit's time the
/// sum of the measured pieces before it (blocks up to its block, every head up to it).
double timeIdealOf(const Case& c) {
    const int64_t K = c.net->numExits();
    double full = c.headUs.back(), mean = 0, n = 0;
    for (double t : c.blockUs) full += t;
    for (int64_t k = 0; k < K; ++k) {
        double t = 0;
        for (int64_t b = 0; b <= c.net->exitBlock(k); ++b) t += c.blockUs[static_cast<std::size_t>(b)];
        for (int64_t h = 0; h <= k; ++h) t += c.headUs[static_cast<std::size_t>(h)];
        mean += t * static_cast<double>(c.executorHistogram[static_cast<std::size_t>(k)]);
        n += static_cast<double>(c.executorHistogram[static_cast<std::size_t>(k)]);
    }
    return full / (mean / n);
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

} // namespace

int main(int argc, char** argv) {
    es::keepFreedMemoryForReuse();  // as the CLI and the app ($EXITSCOPE_MALLOC_DEFAULTS=1 measures without)
    const bool mallocDefaults = std::getenv("EXITSCOPE_MALLOC_DEFAULTS") != nullptr;
    const std::string modelList = exitscope::bench::takeOption(argc, argv, "--models", "msdnet,resnet-spinn,vgg-fine,mobilenet");
    const int64_t images = std::stoll(exitscope::bench::takeOption(argc, argv, "--images", "2000"));
    const int64_t batch = std::stoll(exitscope::bench::takeOption(argc, argv, "--batch", "250"));
    std::string script = exitscope::bench::takeOption(argc, argv, "--torchscript", "");
    const float scriptThreshold = std::stof(exitscope::bench::takeOption(argc, argv, "--threshold", "0.9"));
    const std::string python = exitscope::bench::takeOption(argc, argv, "--python", "/usr/bin/python3");
    const bool perBlock = exitscope::bench::takeFlag(argc, argv, "--per-block");
    const double minTime = std::stod(exitscope::bench::takeOption(argc, argv, "--min-time", "8"));
    const char* threadsEnv = std::getenv("EXITSCOPE_THREADS");
    const int threads = es::applyThreadCount(threadsEnv ? 0 : 1);
    try {
        const es::Dataset data = es::loadDataset("fashion-mnist");
        for (const auto& model : split(modelList)) {
            Case c;
            c.model = model;
            if (model == "mobilenet") {
                if (script.empty()) {
                    script = std::string(EXITSCOPE_BINARY_DIR) + "/bench/mobilenet_exits.pt";
                    if (!std::filesystem::exists(script)) {
                        const std::string cmd = python + " " + EXITSCOPE_SOURCE_DIR + "/bench/export_mobilenet_exits.py --out '" + script + "'";
                        std::printf("%s\n", cmd.c_str());
                        if (std::system(cmd.c_str()) != 0) throw es::Error("could not write " + script);
                    }
                }
                c.net = es::loadTorchScriptModel(script);
                c.threshold = scriptThreshold;
                c.plainLoop = scriptLoop(script, c.threshold);
            } else {
                const std::string dir = std::string(EXITSCOPE_SOURCE_DIR) + "/assets/models/" + model + "-fashion-mnist";
                c.net = es::loadCheckpoint(dir + ".pt", model);
                c.threshold = zooThreshold(es::readTrace(dir + "-val.safetensors"));
                c.plainLoop = zooLoop(c.net, c.threshold);
                // The deployable export (issue 16) of the same policy, run through torch::jit::load.
                es::PolicyConfig policy;
                policy.confidence.thresholds = {c.threshold};
                const std::string file = std::string(EXITSCOPE_BINARY_DIR) + "/bench/" + model + "-ee.pt";
                es::exportDeployable(*c.net, es::makeTunedConfig(policy, es::readTrace(dir + "-val.safetensors")), "", file);
                c.exported = std::make_shared<torch::jit::Module>(torch::jit::load(file));
                c.exported->eval();
            }
            const int64_t K = c.net->numExits();
            c.executor = std::make_unique<es::EarlyExitExecutor>(c.net, std::vector<float>(static_cast<std::size_t>(K - 1), c.threshold));
            c.images = std::min<int64_t>(images, static_cast<int64_t>(data.testImages.size()));
            const auto all = imagesFor(data.testImages, c.images, c.net->spec());
            for (int64_t s = 0; s < c.images; s += batch) c.batches.push_back(all.slice(0, s, std::min(c.images, s + batch)).contiguous());
            if (c.exported) {
                es::ModelSpec raw = c.net->spec();
                raw.normalisation = {};
                const auto unnormalised = imagesFor(data.testImages, c.images, raw);
                for (int64_t s = 0; s < c.images; s += batch)
                    c.rawBatches.push_back(unnormalised.slice(0, s, std::min(c.images, s + batch)).contiguous());
                std::vector<int64_t> exportExits;
                torch::NoGradGuard noGrad;
                for (const auto& x : c.rawBatches) {
                    auto e = c.exported->forward({x}).toTuple()->elements()[1].toTensor();
                    for (int64_t i = 0; i < e.size(0); ++i) exportExits.push_back(e[i].item<int64_t>());
                }
                c.exportHistogram = histogramOf(exportExits, c.net->numExits());
            }
            auto* exec = c.executor.get();
            c.fullForward = [exec](const torch::Tensor& x) { benchmark::DoNotOptimize(exec->runFull(x).data_ptr()); };

            // The two loops must agree sample for sample before their speed means anything.
            std::vector<int64_t> execExits, loopExits;
            for (const auto& x : c.batches) {
                for (const auto& s : c.executor->run(x)) execExits.push_back(s.exitTaken);
                for (auto e : c.plainLoop(x)) loopExits.push_back(e);
            }
            std::vector<int64_t> streamExits;
            for (const auto& r : c.executor->runStream(static_cast<int64_t>(c.batches.size()),
                                                       [&c](int64_t i) { return c.batches[static_cast<std::size_t>(i)]; }))
                streamExits.push_back(r.exitTaken);
            int64_t streamDiffer = 0;
            for (std::size_t i = 0; i < execExits.size(); ++i) streamDiffer += execExits[i] != streamExits[i];
            if (streamDiffer > 0)
                std::printf("%s: %lld sample(s) take another exit when the survivors are pooled across batches\n",
                            model.c_str(), static_cast<long long>(streamDiffer));
            c.executorHistogram = histogramOf(execExits, K);
            c.loopHistogram = histogramOf(loopExits, K);
            int64_t differ = 0;
            for (std::size_t i = 0; i < execExits.size(); ++i) differ += execExits[i] != loopExits[i];
            std::printf("%s: threshold %.3f, exits executor [%s], plain loop [%s], %lld sample(s) differ\n", model.c_str(),
                        c.threshold, join(c.executorHistogram).c_str(), join(c.loopHistogram).c_str(),
                        static_cast<long long>(differ));
            c.idealSpeedup = idealSpeedupOf(*c.net, c.executorHistogram);
            if (model == "mobilenet" && python != "none") {
                c.pythons.push_back(startPython(python, script, c, batch, threads, false));
                c.pythons.push_back(startPython(python, script, c, batch, threads, true));
            }
            g_cases.push_back(std::move(c));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_vs_loop: %s\n(the bundled assets come from scripts/train-assets)\n", e.what());
        return 1;
    }
    std::printf("%lld Fashion-MNIST test images in batches of %lld, %d LibTorch thread(s), malloc %s\n",
                static_cast<long long>(images), static_cast<long long>(batch), threads,
                mallocDefaults ? "glibc defaults" : "tuned (keepFreedMemoryForReuse)");

    // Where the time goes: each block and head timed at the full batch. Per
    // MAC, early high-resolution blocks cost up to 3x the late ones here, so
    // the FLOP ideal overstates what skipping the late blocks can save; the
    // time ideal (the same exits, each piece at its measured full-batch cost)
    // shows what an executor with no overhead at all would reach.
    for (auto& c : g_cases) {
        timePieces(c, perBlock);
        c.timeIdealSpeedup = timeIdealOf(c);
    }
    benchmark::Initialize(&argc, argv);
    for (auto& c : g_cases) {
        Case* p = &c;
        benchmark::RegisterBenchmark((c.model + "/full+loop+executor").c_str(), [p](benchmark::State& s) { timeRounds(s, *p); })
            ->Unit(benchmark::kMillisecond)->MinTime(minTime);
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    for (auto& c : g_cases)
        for (auto& py : c.pythons) py->stop();

    std::printf("\n(exec/b: the executor batch by batch; executor: runStream, survivors pooled across batches)\n");
    std::printf("%-13s %8s %8s %8s %9s %9s %8s %10s %9s %10s %9s %11s %11s\n", "model", "full/s", "loop/s", "exec/b/s",
                "executor/s", "exec/loop", "speed-up", "FLOP ideal", "meas/FLOP", "time ideal", "meas/time", "faults loop",
                "faults exec");
    bool met = true;
    for (const auto& c : g_cases) {
        const double ratio = c.execOverLoop;
        const double speedup = c.exec.imagesPerSecond / c.full.imagesPerSecond;
        met = met && ratio >= 1.0 && speedup / c.idealSpeedup >= 0.8;
        std::printf("%-13s %8.1f %8.1f %8.1f %9.1f %9.3f %8.3f %10.3f %9.3f %10.3f %9.3f %11.0f %11.0f\n", c.model.c_str(),
                    c.full.imagesPerSecond, c.loop.imagesPerSecond, c.execBatch.imagesPerSecond, c.exec.imagesPerSecond, ratio, speedup, c.idealSpeedup,
                    speedup / c.idealSpeedup, c.timeIdealSpeedup, speedup / c.timeIdealSpeedup, c.loop.faultsPer10k,
                    c.exec.faultsPer10k);
        if (c.exported)
            std::printf("  export (torch::jit::load, same rounds): %.1f images/s; export / executor %.3f; speed-up over full %.3f "
                        "(%.3f of the FLOP ideal); exits [%s]%s\n",
                        c.exportRate.imagesPerSecond, c.exportRate.imagesPerSecond / c.exec.imagesPerSecond,
                        c.exportRate.imagesPerSecond / c.full.imagesPerSecond,
                        c.exportRate.imagesPerSecond / c.full.imagesPerSecond / c.idealSpeedup, join(c.exportHistogram).c_str(),
                        c.exportHistogram == c.executorHistogram ? " (as the executor)" : " (NOT as the executor)");
        for (std::size_t i = 0; i < c.pythons.size(); ++i) {
            const auto& py = *c.pythons[i];
            if (!py.first.is_object() || !py.first.contains("torch")) continue;
            const double rate = c.pythonRates[i].imagesPerSecond;
            std::printf("  python3-torch %s loop, %s malloc, same rounds: %.1f images/s (first pass %.1f); "
                        "executor / python %.3f; faults %.0f per 10k; exits [%s]\n",
                        py.first["torch"].get<std::string>().c_str(), py.label.c_str(), rate,
                        py.first["first_pass_images_per_s"].get<double>(), c.exec.imagesPerSecond / rate,
                        c.pythonRates[i].faultsPer10k, join(py.first["histogram"].get<std::vector<int64_t>>()).c_str());
        }
    }
    std::printf("(medians of %lld to %lld rounds per model)\n", static_cast<long long>(g_cases.empty() ? 0 : g_cases.front().rounds), static_cast<long long>(g_cases.empty() ? 0 : g_cases.back().rounds));
    std::printf("goals (executor / plain loop >= 1.0, measured / FLOP ideal >= 0.8): %s\n", met ? "met" : "NOT met");
    return 0;
}
