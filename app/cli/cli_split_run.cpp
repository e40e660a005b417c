// exitscope-cli split-run: the simulator measured against reality. The device
// part and the server part of a network run as two processes on 127.0.0.1;
// encoded states cross a TCP connection shaped by a token bucket to the
// link's bandwidth and delay; the measured median latency per case is set
// beside what the latency model predicts for the same images.
#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "app/cli/cli_state.h"
#include "core/common/error.h"
#include "core/data/registry.h"
#include "app/cli/cli_model.h"
#include "core/model/model_loader.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"
#include "core/policy/policy.h"
#include "core/trace/trace.h"
#include "simulator/codec/codec.h"
#include "simulator/loopback/shaped_link.h"
#include "simulator/schedule/latency_model.h"
#include "simulator/schedule/split_profile.h"

#include <nlohmann/json.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

extern char** environ;

namespace exitscope::app {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kMaxBody = 64ull << 20;
constexpr double kReceiveTimeoutMs = 60000;

double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

core::PolicyConfig thresholdPolicy(double threshold) {
    core::PolicyConfig policy;
    policy.kind = core::PolicyKind::Confidence;
    policy.confidence.thresholds = {static_cast<float>(threshold)};
    return policy;
}

/// What running part of the network did to one sample.
struct PartResult {
    bool exited = false;
    int64_t exit = -1;
    int64_t prediction = -1;
};

/// Runs blocks [from, to) on a batch-1 state and every exit head sitting
/// after one of them, leaving at the first exit the policy accepts (a
/// cascade; the final exit always answers).
PartResult runPart(core::MultiExitNet& net, core::State& state, int64_t from, int64_t to,
                   const core::PolicyConfig& policy) {
    const int64_t K = net.numExits();
    std::vector<float> scratch;
    for (int64_t b = from; b < to; ++b) {
        state = net.runBlock(b, state);
        for (int64_t k = 0; k < K; ++k) {
            if (net.exitBlock(k) != b) continue;
            auto probs = torch::softmax(net.runExit(k, state), 1).contiguous();
            const int64_t C = probs.size(1);
            scratch.resize(static_cast<std::size_t>(C));
            const float* p = probs.data_ptr<float>();
            if (core::decideAtExit(policy, k, K, p, C, nullptr, k, scratch.data()))
                return {true, k, static_cast<int64_t>(std::max_element(p, p + C) - p)};
        }
    }
    return {};
}

/// The server process: receives states after `blocksOnDevice` blocks, runs
/// the rest of the network and replies with the class and exit taken.
int serve(const CliArgs& args) {
    core::applyThreadCount(static_cast<int>(args.getInt("threads", 1, 0, 256)));
    auto net = core::loadModel(args.require("weights"));
    const auto port = static_cast<uint16_t>(args.getInt("port", 0, 1, 65535));
    const double mbps = args.getDouble("mbps", 10, 1e-6, 1e6);
    const double rtt = args.getDouble("rtt", 0, 0, 1e6);
    const auto policy = thresholdPolicy(args.getDouble("threshold", 1.0, 0.0, 1.0));
    const int64_t B = net->numBlocks();
    c10::InferenceMode inference;
    net->eval();
    // The shapes a state has at every block boundary, for the decoder's checks.
    std::vector<std::vector<std::vector<int64_t>>> shapes(static_cast<std::size_t>(B + 1));
    {
        const auto& spec = net->spec();
        core::State s{torch::zeros({1, spec.channels, spec.height, spec.width})};
        shapes[0] = stateShapes(s);
        for (int64_t b = 0; b < B; ++b) shapes[static_cast<std::size_t>(b + 1)] = stateShapes(s = net->runBlock(b, s));
    }
    simulator::ShapedSocket link(simulator::connectLoopback(port), mbps, rtt / 2, 0, kReceiveTimeoutMs);
    std::vector<uint8_t> body;
    for (;;) {
        const auto h = link.receive(body, kMaxBody);
        if (h.type == simulator::FrameHeader::Shutdown) return 0;
        if (h.type != simulator::FrameHeader::Request) throw core::Error("split-serve: unexpected frame type");
        const int64_t s = h.blocksOnDevice;
        if (s < 0 || s >= B) throw core::Error("split-serve: split after " + std::to_string(s) + " blocks is not in the model");
        auto state = stateFromPlain(simulator::decodeState(body, &shapes[static_cast<std::size_t>(s)]));
        const auto r = runPart(*net, state, s, B, policy);
        simulator::FrameHeader reply;
        reply.type = simulator::FrameHeader::Reply;
        reply.requestId = h.requestId;
        reply.value = static_cast<int32_t>(r.prediction);
        reply.exit = static_cast<int32_t>(r.exit);
        link.send(reply, {});
    }
}

/// The server as a child process of this program; killed and reaped when
/// the run ends early.
class ServerProcess {
public:
    explicit ServerProcess(const std::vector<std::string>& args) {
        std::vector<char*> argv;
        std::string self = "/proc/self/exe";
        argv.push_back(self.data());
        m_args = args;
        for (auto& a : m_args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawn(&m_pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) != 0)
            throw core::Error("split-run: cannot start the server process");
    }
    ~ServerProcess() {
        if (m_pid <= 0) return;
        ::kill(m_pid, SIGTERM);
        ::waitpid(m_pid, nullptr, 0);
    }
    /// Waits for a clean exit; Error when the server failed.
    void join() {
        int status = 0;
        ::waitpid(m_pid, &status, 0);
        m_pid = -1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw core::Error("split-run: the server process failed");
    }

private:
    pid_t m_pid = -1;
    std::vector<std::string> m_args;
};

double median(std::vector<double> v) {
    if (v.empty()) return std::nan("");
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
}

/// One measured case and its simulated counterpart.
struct CaseResult {
    int64_t blocksOnDevice = 0;
    double mbps = 0;
    int64_t samples = 0;
    double offloaded = 0;  // fraction sent to the server
    double bytesMean = 0;  // per offloaded sample, frame included
    double measuredMedian = 0, simulatedMedian = 0, measuredMean = 0, simulatedMean = 0;
    double measuredOffloadedMedian = 0, simulatedOffloadedMedian = 0;
    double accuracy = 0;
    int64_t exitsAgreeWithTrace = 0;
};

} // namespace

int runSplitServe(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "split-serve");
    return serve(args);
}

int runSplitRun(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "split-run");
    const std::string weights = args.require("weights");
    const double rtt = args.getDouble("rtt", 10, 0, 10000);
    const double threshold = args.getDouble("threshold", 0.99, 0, 1);
    const auto maxSamples = args.getInt("max-samples", 300, 1, 100000);
    const auto warmup = args.getInt("warmup", 10, 0, 10000);
    std::vector<double> bandwidths = args.has("bandwidths") ? args.getDoubles("bandwidths") : std::vector<double>{2, 10, 50};
    for (double b : bandwidths)
        if (!(b > 0 && b <= 1e5)) throw core::Error("--bandwidths: " + std::to_string(b) + " Mbit/s is not in (0, 100000]");
    const std::string modeText = args.get("mode", "per-tensor");
    const auto mode = modeText == "per-channel" ? simulator::CodecMode::PerChannel8
                      : modeText == "lossless"  ? simulator::CodecMode::Lossless
                      : modeText == "per-tensor"
                          ? simulator::CodecMode::PerTensor8
                          : throw core::Error("--mode: '" + modeText + "' is not per-tensor, per-channel or lossless");

    // Profiling and both processes use one LibTorch thread, as the trace's block times do.
    core::applyThreadCount(1);
    auto net = loadModelFromArgs(args);
    const auto trace = core::readTrace(args.require("trace"));
    if (trace.metadata.count("weights_hash") && trace.metadata.at("weights_hash") != net->spec().weightsHash)
        throw core::Error(args.require("trace") + ": made from other weights than " + weights);
    const int64_t B = net->numBlocks();
    auto splitPoints = args.has("splits") ? simulator::measuredSplitPoints(trace, args.require("splits"))
                                          : simulator::defaultSplitPoints(trace);
    // The frame header travels with every state and every reply; the model counts it.
    for (auto& sp : splitPoints)
        if (sp.blocksOnDevice < B) sp.bytesPerSample += static_cast<double>(simulator::kFrameHeaderBytes);

    std::vector<int64_t> cuts;
    if (args.has("after")) {
        for (double a : args.getDoubles("after")) {
            const auto s = static_cast<int64_t>(a) + 1;
            if (a != std::floor(a) || s < 0 || s >= B) throw core::Error("--after: block " + std::to_string(a) + " is not a split candidate");
            cuts.push_back(s);
        }
    } else {
        std::vector<int64_t> inner;
        for (const auto& sp : splitPoints)
            if (sp.blocksOnDevice > 0 && sp.blocksOnDevice < B) inner.push_back(sp.blocksOnDevice);
        if (inner.empty()) throw core::Error("split-run: the model has no split candidate between blocks");
        cuts = {inner.front(), inner[inner.size() / 2]};
        if (cuts[0] == cuts[1]) cuts.pop_back();
    }
    std::map<int64_t, std::size_t> splitIndex;
    for (std::size_t i = 0; i < splitPoints.size(); ++i) splitIndex[splitPoints[i].blocksOnDevice] = i;
    for (auto s : cuts)
        if (!splitIndex.count(s)) throw core::Error("--after: block " + std::to_string(s - 1) + " does not follow a ReLU (not a split candidate)");

    const auto data = loadDataForModel(args, net->spec());
    const auto split = core::parseSplitKind(args.get("split", "test"));
    const auto& images = data.imagesOf(split);
    if (trace.metadata.count("split") && trace.metadata.at("split") != core::toString(split))
        throw core::Error(args.require("trace") + ": profiled on the " + trace.metadata.at("split") +
                          " split, not on --split " + core::toString(split));
    core::checkInputCompatible(images, net->spec());
    std::vector<int64_t> indices = data.indicesOf(split);
    if (static_cast<int64_t>(indices.size()) > maxSamples + warmup)
        indices.resize(static_cast<std::size_t>(maxSamples + warmup));
    if (static_cast<int64_t>(indices.size()) <= warmup) throw core::Error("split-run: fewer images than the warm-up");
    // Trace rows by image index, to compare the exits taken with the trace's.
    std::map<int64_t, int64_t> traceRow;
    for (int64_t n = 0; n < trace.numSamples; ++n) traceRow[trace.sampleIndex[static_cast<std::size_t>(n)]] = n;
    const auto policy = thresholdPolicy(threshold);
    const auto traceOutcome = core::applyPolicy(trace, policy);
    const auto inputs = core::imagesToTensor(images, indices, net->spec().normalisation);
    const auto labels = core::labelsToTensor(images, indices);

    simulator::LatencyModel model(trace, splitPoints);
    c10::InferenceMode inference;
    net->eval();
    std::vector<CaseResult> results;
    for (const int64_t s : cuts) {
        for (const double mbps : bandwidths) {
            simulator::Link link;
            link.bandwidthMbps = mbps;
            link.rttMs = rtt;
            link.replyBytes = static_cast<double>(simulator::kFrameHeaderBytes);
            model.setLink(link);
            simulator::LoopbackListener listener;
            ServerProcess server({"split-serve", "--weights", weights, "--port", std::to_string(listener.port()),
                                  "--mbps", std::to_string(mbps), "--rtt", std::to_string(rtt), "--threshold",
                                  std::to_string(threshold), "--threads", "1"});
            simulator::ShapedSocket sock(listener.accept(kReceiveTimeoutMs), mbps, rtt / 2, 0, kReceiveTimeoutMs);
            CaseResult r;
            r.blocksOnDevice = s;
            r.mbps = mbps;
            std::vector<double> measured, simulated, measuredOff, simulatedOff, bytes;
            int64_t correct = 0;
            for (std::size_t i = 0; i < indices.size(); ++i) {
                const auto t0 = Clock::now();
                core::State state{inputs.narrow(0, static_cast<int64_t>(i), 1)};
                auto part = runPart(*net, state, 0, s, policy);
                bool offloaded = false;
                if (!part.exited) {
                    offloaded = true;
                    const auto payload = simulator::encodeState(sampleState(state, 0), mode);
                    simulator::FrameHeader h;
                    h.requestId = static_cast<uint32_t>(i);
                    h.blocksOnDevice = static_cast<uint32_t>(s);
                    bytes.push_back(static_cast<double>(sock.send(h, payload)));
                    std::vector<uint8_t> body;
                    const auto reply = sock.receive(body, 0);
                    if (reply.type != simulator::FrameHeader::Reply || reply.requestId != h.requestId)
                        throw core::Error("split-run: the server answered another request");
                    part.exit = reply.exit;
                    part.prediction = reply.value;
                }
                const double ms = msSince(t0);
                if (static_cast<int64_t>(i) < warmup) continue;
                const double sim = model.latencyMs(part.exit, splitIndex[s], true);
                measured.push_back(ms);
                simulated.push_back(sim);
                if (offloaded) {
                    measuredOff.push_back(ms);
                    simulatedOff.push_back(sim);
                }
                correct += part.prediction == labels[static_cast<int64_t>(i)].item<int64_t>();
                const auto row = traceRow.find(indices[i]);
                if (row != traceRow.end() && traceOutcome.exitTaken[static_cast<std::size_t>(row->second)] == part.exit)
                    ++r.exitsAgreeWithTrace;
            }
            sock.send({simulator::FrameHeader::Shutdown}, {});
            server.join();
            r.samples = static_cast<int64_t>(measured.size());
            r.offloaded = static_cast<double>(measuredOff.size()) / static_cast<double>(r.samples);
            r.bytesMean = mean(bytes);
            r.measuredMedian = median(measured);
            r.simulatedMedian = median(simulated);
            r.measuredMean = mean(measured);
            r.simulatedMean = mean(simulated);
            r.measuredOffloadedMedian = median(measuredOff);
            r.simulatedOffloadedMedian = median(simulatedOff);
            r.accuracy = static_cast<double>(correct) / static_cast<double>(r.samples);
            results.push_back(r);
            printProgress(static_cast<double>(results.size()) / static_cast<double>(cuts.size() * bandwidths.size()),
                          "split-run");
        }
    }

    if (args.has("json")) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : results)
            out.push_back({{"split", simulator::splitLabel(r.blocksOnDevice, B)},
                           {"blocks_on_device", r.blocksOnDevice},
                           {"mbps", r.mbps},
                           {"rtt_ms", rtt},
                           {"samples", r.samples},
                           {"offloaded_fraction", r.offloaded},
                           {"bytes_per_offload", r.bytesMean},
                           {"accuracy", r.accuracy},
                           {"exits_agree_with_trace", r.exitsAgreeWithTrace},
                           {"measured_median_ms", r.measuredMedian},
                           {"simulated_median_ms", r.simulatedMedian},
                           {"measured_mean_ms", r.measuredMean},
                           {"simulated_mean_ms", r.simulatedMean},
                           {"measured_offloaded_median_ms", r.measuredOffloadedMedian},
                           {"simulated_offloaded_median_ms", r.simulatedOffloadedMedian}});
        writeTextOutput(args.get("json"), out.dump(2) + "\n");
    }
    std::printf("threshold %.3f, RTT %.1f ms, codec %s, %lld images after %lld warm-up; one LibTorch thread per process\n",
                threshold, rtt, modeText.c_str(), static_cast<long long>(results.empty() ? 0 : results[0].samples),
                static_cast<long long>(warmup));
    std::printf("%-14s %8s %8s %9s %11s %11s %8s %13s %13s %8s\n", "split", "Mbit/s", "offload", "bytes", "measured ms",
                "simulated", "error", "offl. meas.", "offl. sim.", "error");
    // Early exits make latency bimodal (on the device or across the link);
    // when about half the requests leave early, the median of all requests
    // falls in the gap between the two modes and swings with a single
    // request, so the offloaded requests' median is reported as well.
    bool allWithin = true, offloadedWithin = true;
    for (const auto& r : results) {
        const double err = (r.measuredMedian - r.simulatedMedian) / r.simulatedMedian;
        const double errOff = (r.measuredOffloadedMedian - r.simulatedOffloadedMedian) / r.simulatedOffloadedMedian;
        allWithin = allWithin && std::fabs(err) <= 0.15;
        if (r.offloaded > 0) offloadedWithin = offloadedWithin && std::fabs(errOff) <= 0.15;
        std::printf("%-14s %8.1f %7.1f%% %9.0f %11.2f %11.2f %+7.1f%% %13.2f %13.2f %+7.1f%%%s\n",
                    simulator::splitLabel(r.blocksOnDevice, B).c_str(), r.mbps, 100 * r.offloaded, r.bytesMean,
                    r.measuredMedian, r.simulatedMedian, 100 * err, r.measuredOffloadedMedian,
                    r.simulatedOffloadedMedian, 100 * errOff,
                    std::fabs(r.offloaded - 0.5) < 0.1 ? "  (about half offloaded: the median sits between the modes)" : "");
    }
    int64_t agree = 0, total = 0;
    for (const auto& r : results) agree += r.exitsAgreeWithTrace, total += r.samples;
    std::printf("exits taken agree with the trace for %lld of %lld requests%s\n", static_cast<long long>(agree),
                static_cast<long long>(total),
                agree < total && mode != simulator::CodecMode::Lossless
                    ? " (8-bit transfer shifts the server's confidences; --mode lossless compares exactly)"
                    : "");
    std::printf("median latency within 15%% of the simulation in every case: all requests %s, offloaded requests %s\n",
                allWithin ? "yes" : "no", offloadedWithin ? "yes" : "no");
    return 0;
}

} // namespace exitscope::app
