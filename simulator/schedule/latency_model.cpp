#include "simulator/schedule/latency_model.h"

#include "core/policy/decision.h"

#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace exitscope::simulator {

using core::Error;

namespace {

std::size_t sz(int64_t v) { return static_cast<std::size_t>(v); }

template <typename T>
void checkArray(const std::vector<T>& values, int64_t expected, const char* field, const char* per) {
    if (static_cast<int64_t>(values.size()) != expected) {
        std::ostringstream os;
        os << "trace: " << field << " has " << values.size() << " values, expected " << expected << " (one per " << per
           << ")";
        throw Error(os.str());
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
        const double v = static_cast<double>(values[i]);
        if (!std::isfinite(v) || v < 0.0) {
            std::ostringstream os;
            os << "trace: " << field << "[" << i << "] = " << v << " must be >= 0";
            throw Error(os.str());
        }
    }
}

}  // namespace

std::string splitLabel(int64_t blocksOnDevice, int64_t numBlocks) {
    if (blocksOnDevice <= 0) return "server only";
    if (blocksOnDevice >= numBlocks) return "device only";
    return "after block " + std::to_string(blocksOnDevice - 1);
}

double inputBytesOf(const core::Trace& trace) {
    const auto it = trace.metadata.find("model_spec");
    const std::string missing =
        "trace: metadata has no model_spec.input_shape; give the input bytes per sample explicitly";
    if (it == trace.metadata.end()) throw Error(missing);
    const auto spec = nlohmann::json::parse(it->second, nullptr, false);
    if (spec.is_discarded() || !spec.is_object() || !spec.contains("input_shape") || !spec["input_shape"].is_array() ||
        spec["input_shape"].empty())
        throw Error(missing);
    double bytes = 1.0;
    for (const auto& d : spec["input_shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() <= 0)
            throw Error("trace: model_spec.input_shape has a bad size");
        bytes *= static_cast<double>(d.get<int64_t>());
    }
    return bytes;
}

std::vector<SplitPoint> defaultSplitPoints(const core::Trace& trace, double inputBytesPerSample) {
    if (!std::isfinite(inputBytesPerSample) || inputBytesPerSample <= 0.0)
        throw Error("input bytes per sample must be > 0");
    checkArray(trace.blockOutBytes, trace.numBlocks, "block_out_bytes", "block");
    if (static_cast<int64_t>(trace.blockRelu.size()) != trace.numBlocks)
        throw Error("trace: block_relu does not have one value per block");
    std::vector<SplitPoint> out{{0, inputBytesPerSample, 0.0, 0.0}};
    for (int64_t s = 1; s < trace.numBlocks; ++s)
        if (trace.blockRelu[sz(s - 1)])
            out.push_back({s, static_cast<double>(trace.blockOutBytes[sz(s - 1)]) / 4.0, 0, 0});
    out.push_back({trace.numBlocks, 0.0, 0.0, 0.0});
    return out;
}

std::vector<SplitPoint> defaultSplitPoints(const core::Trace& trace) {
    return defaultSplitPoints(trace, inputBytesOf(trace));
}

void checkExitProfile(const ExitProfile& p, int64_t numExits) {
    const std::string at = "exit profile '" + p.label + "': ";
    if (static_cast<int64_t>(p.histogram.size()) != numExits)
        throw Error(at + "histogram has " + std::to_string(p.histogram.size()) + " counts, expected " +
                    std::to_string(numExits) + " (one per exit)");
    int64_t total = 0;
    for (auto h : p.histogram) {
        if (h < 0) throw Error(at + "negative count in the histogram");
        total += h;
    }
    if (p.numSamples <= 0 || total != p.numSamples)
        throw Error(at + "histogram sums to " + std::to_string(total) +
                    ", expected numSamples = " + std::to_string(p.numSamples) + " > 0");
    if (!(p.accuracy >= 0.0 && p.accuracy <= 1.0)) throw Error(at + "accuracy must be in [0, 1]");
}

std::vector<ExitProfile> thresholdProfiles(const core::ConfidenceScores& scores, const std::vector<float>& grid) {
    const auto sweep = core::sweepGlobalThresholds(scores, grid);
    const int64_t K = scores.numExits;
    std::vector<ExitProfile> out(grid.size());
    for (std::size_t g = 0; g < grid.size(); ++g) {
        ExitProfile& p = out[g];
        std::ostringstream label;
        label << core::criterionName(scores.criterion) << " >= " << grid[g];
        p.label = label.str();
        p.threshold = grid[g];
        p.cascade = true;
        p.accuracy = sweep.accuracy[g];
        p.numSamples = scores.numSamples;
        p.histogram.assign(sweep.exitHistograms.begin() + static_cast<std::ptrdiff_t>(g * sz(K)),
                           sweep.exitHistograms.begin() + static_cast<std::ptrdiff_t>((g + 1) * sz(K)));
    }
    return out;
}

ExitProfile finalExitProfile(const core::Trace& trace) {
    ExitProfile p;
    p.label = "final exit only";
    p.cascade = false;
    p.numSamples = trace.numSamples;
    p.histogram.assign(sz(trace.numExits), 0);
    if (trace.numExits > 0) p.histogram.back() = trace.numSamples;
    if (trace.numExits > 0 && trace.numSamples > 0) p.accuracy = core::perExitAccuracy(trace).back();
    return p;
}

ExitProfile policyProfile(const core::Trace& trace, const core::PolicyConfig& policy, const std::string& label) {
    // Not owned: the decider lives only for this call.
    const core::Decider decider(std::shared_ptr<const core::Trace>(&trace, [](const core::Trace*) {}), policy);
    const core::ExitOutcome& outcome = decider.outcome();
    ExitProfile p;
    p.label = label;
    p.cascade = decider.cascade();
    p.numSamples = trace.numSamples;
    p.histogram.assign(sz(trace.numExits), 0);
    for (auto e : outcome.exitTaken) ++p.histogram[sz(e)];
    p.accuracy = trace.numSamples > 0 ? core::outcomeAccuracy(trace, outcome) : 0.0;
    p.sampleExits = outcome.exitTaken;
    return p;
}

LatencyModel::LatencyModel(const core::Trace& trace, std::vector<SplitPoint> splits)
    : m_numExits(trace.numExits), m_numBlocks(trace.numBlocks), m_splits(std::move(splits)) {
    const int64_t K = m_numExits, B = m_numBlocks;
    if (K < 1 || B < 1) throw Error("trace: needs at least one exit and one block");
    checkArray(trace.blockMs, B, "block_ms", "block");
    checkArray(trace.blockMacs, B, "block_macs", "block");
    checkArray(trace.headMs, K, "head_ms", "exit");
    checkArray(trace.headMacs, K, "head_macs", "exit");
    checkArray(trace.exitBlock, K, "exit_block", "exit");
    for (int64_t k = 0; k < K; ++k) {
        const int64_t b = trace.exitBlock[sz(k)];
        if (b >= B || (k > 0 && b < trace.exitBlock[sz(k - 1)]))
            throw Error("trace: exit_block[" + std::to_string(k) + "] = " + std::to_string(b) +
                        " must be a block index, not below the previous exit's");
    }
    if (m_splits.empty()) throw Error("no split points");
    for (std::size_t i = 0; i < m_splits.size(); ++i) {
        const SplitPoint& s = m_splits[i];
        const std::string at = "split point " + std::to_string(i) + " (" + splitLabel(s.blocksOnDevice, B) + "): ";
        if (s.blocksOnDevice < 0 || s.blocksOnDevice > B)
            throw Error(at + "blocks on device " + std::to_string(s.blocksOnDevice) + " is outside [0, " +
                        std::to_string(B) + "]");
        if (i > 0 && s.blocksOnDevice <= m_splits[i - 1].blocksOnDevice)
            throw Error(at + "split points must be in increasing order of blocks on device");
        for (double v : {s.bytesPerSample, s.encodeMs, s.decodeMs})
            if (!std::isfinite(v) || v < 0.0) throw Error(at + "bytes, encode and decode ms must be >= 0");
    }
    try {
        m_profilingGflops = profilingGflops(trace);
    } catch (const Error&) {
        m_profilingGflops = std::numeric_limits<double>::quiet_NaN();
    }

    // Prefix sums over blocks; heads summed per side of the split below.
    std::vector<double> blockMs(sz(B + 1), 0.0), blockMacs(sz(B + 1), 0.0);
    for (int64_t b = 0; b < B; ++b) {
        blockMs[sz(b + 1)] = blockMs[sz(b)] + trace.blockMs[sz(b)];
        blockMacs[sz(b + 1)] = blockMacs[sz(b)] + static_cast<double>(trace.blockMacs[sz(b)]);
    }
    const std::size_t n = m_splits.size() * 2 * sz(K);
    m_onDevice.assign(n, 0);
    m_rawDeviceMs.assign(n, 0.0);
    m_rawDeviceMacs.assign(n, 0.0);
    m_rawServerMs.assign(n, 0.0);
    m_rawServerMacs.assign(n, 0.0);
    for (std::size_t i = 0; i < m_splits.size(); ++i) {
        const int64_t s = m_splits[i].blocksOnDevice;
        for (bool cascade : {true, false}) {
            double devHeadMs = 0, devHeadMacs = 0, srvHeadMs = 0, srvHeadMacs = 0;
            for (int64_t e = 0; e < K; ++e) {
                const int64_t last = trace.exitBlock[sz(e)];
                const bool onDevice = last < s;
                const double hMs = trace.headMs[sz(e)], hMacs = static_cast<double>(trace.headMacs[sz(e)]);
                // Cascade: heads accumulate on whichever side runs them. Direct: only head e runs.
                if (cascade) {
                    (onDevice ? devHeadMs : srvHeadMs) += hMs;
                    (onDevice ? devHeadMacs : srvHeadMacs) += hMacs;
                }
                const double dHeadMs = cascade ? devHeadMs : (onDevice ? hMs : 0.0);
                const double dHeadMacs = cascade ? devHeadMacs : (onDevice ? hMacs : 0.0);
                const double sHeadMs = cascade ? srvHeadMs : (onDevice ? 0.0 : hMs);
                const double sHeadMacs = cascade ? srvHeadMacs : (onDevice ? 0.0 : hMacs);
                const std::size_t x = index(i, cascade, e);
                m_onDevice[x] = onDevice ? 1 : 0;
                const int64_t deviceBlocks = onDevice ? last + 1 : s;
                m_rawDeviceMs[x] = blockMs[sz(deviceBlocks)] + dHeadMs;
                m_rawDeviceMacs[x] = blockMacs[sz(deviceBlocks)] + dHeadMacs;
                if (!onDevice) {
                    m_rawServerMs[x] = blockMs[sz(last + 1)] - blockMs[sz(s)] + sHeadMs;
                    m_rawServerMacs[x] = blockMacs[sz(last + 1)] - blockMacs[sz(s)] + sHeadMacs;
                }
            }
        }
    }
    m_deviceMs.assign(n, 0.0);
    m_serverMs.assign(n, 0.0);
    m_totalMs.assign(n, 0.0);
    m_order.assign(n, 0);
    m_linkMs.assign(m_splits.size(), 0.0);
    m_linkBusyMs.assign(m_splits.size(), 0.0);
    setConditions(m_device, m_server, m_link);
}

void LatencyModel::setConditions(const Platform& device, const Platform& server, const Link& link) {
    checkPlatform(device, "device '" + device.name + "'");
    checkPlatform(server, "server '" + server.name + "'");
    checkLink(link);
    bool codec = false;
    for (const auto& s : m_splits) codec = codec || s.encodeMs > 0 || s.decodeMs > 0;
    if (codec && std::isnan(m_profilingGflops) &&
        (device.speedModel == SpeedModel::Gflops || server.speedModel == SpeedModel::Gflops))
        throw Error("trace: no block MACs and times to scale codec times to a GFLOP/s platform");
    m_device = device;
    m_server = server;
    m_link = link;
    // Compute terms first: the link pass sums them into the totals.
    computeComputeTerms();
    computeLinkTerms();
}

void LatencyModel::setLink(const Link& link) {
    checkLink(link);
    m_link = link;
    computeLinkTerms();
}

void LatencyModel::setBandwidth(double mbps) {
    Link link = m_link;
    link.bandwidthMbps = mbps;
    setLink(link);
}

void LatencyModel::setDeviceLoad(double load) {
    Platform device = m_device;
    device.load = load;
    setConditions(device, m_server, m_link);
}

void LatencyModel::setServerLoad(double load) {
    Platform server = m_server;
    server.load = load;
    setConditions(m_device, server, m_link);
}

void LatencyModel::computeComputeTerms() {
    for (std::size_t i = 0; i < m_splits.size(); ++i) {
        const double encode = m_device.measuredWorkMs(m_splits[i].encodeMs, m_profilingGflops);
        const double decode = m_server.measuredWorkMs(m_splits[i].decodeMs, m_profilingGflops);
        for (bool cascade : {true, false})
            for (int64_t e = 0; e < m_numExits; ++e) {
                const std::size_t x = index(i, cascade, e);
                const bool onDevice = m_onDevice[x] != 0;
                m_deviceMs[x] = m_device.computeMs(m_rawDeviceMs[x], m_rawDeviceMacs[x]) + (onDevice ? 0.0 : encode);
                m_serverMs[x] = onDevice ? 0.0 : m_server.computeMs(m_rawServerMs[x], m_rawServerMacs[x]) + decode;
            }
    }
}

void LatencyModel::computeLinkTerms() {
    const auto K = sz(m_numExits);
    for (std::size_t i = 0; i < m_splits.size(); ++i) {
        const double bytes = m_splits[i].bytesPerSample;
        m_linkMs[i] = m_link.transferMs(bytes) + m_link.replyMs();
        m_linkBusyMs[i] = m_link.serialisationMs(bytes) + m_link.replyMs();
        for (bool cascade : {true, false}) {
            const std::size_t base = index(i, cascade, 0);
            for (std::size_t e = 0; e < K; ++e) {
                const std::size_t x = base + e;
                m_totalMs[x] = m_deviceMs[x] + (m_onDevice[x] ? 0.0 : m_linkMs[i]) + m_serverMs[x];
            }
            // Insertion sort: K is a handful of exits.
            int64_t* order = m_order.data() + base;
            for (std::size_t e = 0; e < K; ++e) {
                std::size_t j = e;
                while (j > 0 && m_totalMs[base + sz(order[j - 1])] > m_totalMs[base + e]) {
                    order[j] = order[j - 1];
                    --j;
                }
                order[j] = static_cast<int64_t>(e);
            }
        }
    }
}

SampleTimes LatencyModel::sampleTimes(int64_t exit, std::size_t split, bool cascade) const {
    if (exit < 0 || exit >= m_numExits || split >= m_splits.size())
        throw Error("sampleTimes: exit " + std::to_string(exit) + " or split " + std::to_string(split) +
                    " is out of range");
    const std::size_t x = index(split, cascade, exit);
    SampleTimes t;
    t.onDevice = m_onDevice[x] != 0;
    t.deviceMs = m_deviceMs[x];
    t.linkMs = t.onDevice ? 0.0 : m_linkMs[split];
    t.serverMs = m_serverMs[x];
    t.totalMs = m_totalMs[x];
    t.bytes = t.onDevice ? 0.0 : m_splits[split].bytesPerSample;
    t.deviceMacs = m_rawDeviceMacs[x];
    t.serverMacs = m_rawServerMacs[x];
    return t;
}

DesignFigures LatencyModel::evaluate(const ExitProfile& profile, std::size_t split) const {
    const std::size_t base = index(split, profile.cascade, 0);
    const double bytes = m_splits[split].bytesPerSample;
    double sumMs = 0, onDevice = 0, deviceStage = 0, linkStage = 0, serverStage = 0, deviceMacs = 0, serverMacs = 0;
    for (int64_t e = 0; e < m_numExits; ++e) {
        const auto h = static_cast<double>(profile.histogram[sz(e)]);
        const std::size_t x = base + sz(e);
        sumMs += h * m_totalMs[x];
        deviceStage += h * m_deviceMs[x];
        serverStage += h * m_serverMs[x];
        deviceMacs += h * m_rawDeviceMacs[x];
        serverMacs += h * m_rawServerMacs[x];
        if (m_onDevice[x])
            onDevice += h;
        else
            linkStage += h * m_linkBusyMs[split];
    }
    const auto n = static_cast<double>(profile.numSamples);
    DesignFigures f;
    f.split = split;
    f.accuracy = profile.accuracy;
    f.meanMs = sumMs / n;
    f.fractionOnDevice = onDevice / n;
    f.meanBytes = (n - onDevice) * bytes / n;
    f.deviceMacs = deviceMacs / n;
    f.serverMacs = serverMacs / n;
    f.deviceStageMs = deviceStage / n;
    f.linkStageMs = linkStage / n;
    f.serverStageMs = serverStage / n;
    const double slowest = std::max({f.deviceStageMs, f.linkStageMs, f.serverStageMs});
    f.throughputPerS = slowest > 0 ? 1000.0 / slowest : std::numeric_limits<double>::infinity();
    // Nearest rank in integers, so 0.95 * N never rounds the wrong way.
    const int64_t rank = (95 * profile.numSamples + 99) / 100;
    int64_t seen = 0;
    const int64_t* order = m_order.data() + base;
    for (int64_t j = 0; j < m_numExits; ++j) {
        const int64_t e = order[j];
        seen += profile.histogram[sz(e)];
        if (seen >= rank) {
            f.p95Ms = m_totalMs[base + sz(e)];
            break;
        }
    }
    return f;
}

}  // namespace exitscope::simulator
