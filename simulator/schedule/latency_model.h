#pragma once

#include "core/policy/confidence.h"
#include "core/policy/policy.h"
#include "core/trace/trace.h"
#include "simulator/platform/link.h"
#include "simulator/platform/platform.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::simulator {

/// One place to cut a network between device and server, and what crossing
/// it costs per sample. The device runs blocks [0, blocksOnDevice) and the
/// server the rest: 0 is server only (the input is sent), numBlocks is
/// device only (nothing is sent).
///
/// bytesPerSample is an explicit input so that the codec's measured encoded
/// sizes can replace the default estimate; encodeMs / decodeMs are measured
/// on the profiling machine and scaled to the device / server.
struct SplitPoint {
    int64_t blocksOnDevice = 0;
    double bytesPerSample = 0.0;  ///< sent at the split; ignored for device only
    double encodeMs = 0.0;        ///< on the device, per offloaded sample
    double decodeMs = 0.0;        ///< on the server, per offloaded sample
};

/// "server only", "after block b" (b from 0) or "device only".
std::string splitLabel(int64_t blocksOnDevice, int64_t numBlocks);

/// Bytes of one 8-bit input: the product of model_spec.input_shape in the
/// trace's metadata (8-bit images are sent as they are, one byte a value).
/// Error when the metadata has no such shape.
double inputBytesOf(const core::Trace& trace);

/// The SPINN candidates with an estimate of their cost before compression:
/// server only (sending `inputBytesPerSample`), every block boundary that
/// follows a ReLU (block_relu) sending block_out_bytes / 4 (8-bit
/// quantisation of the fp32 state, before LZ4), and device only. Encode and
/// decode times are 0 until measured ones are filled in.
std::vector<SplitPoint> defaultSplitPoints(const core::Trace& trace, double inputBytesPerSample);

/// defaultSplitPoints with inputBytesOf(trace).
std::vector<SplitPoint> defaultSplitPoints(const core::Trace& trace);

/// Where the samples of one exit policy leave, summarised so that a design's
/// figures need only this histogram and a per-(exit, split) latency table.
struct ExitProfile {
    std::string label;
    double threshold = -1.0;  ///< the global threshold when it is one, else -1
    /// True when every head before the exit taken is evaluated too (a
    /// confidence cascade); false when only the exit's own head runs (static
    /// and anytime policies, or a network without early exits).
    bool cascade = true;
    double accuracy = 0.0;
    int64_t numSamples = 0;
    std::vector<int64_t> histogram;  ///< [K], samples leaving at each exit
    /// [N] the exit each trace sample takes, when the profile keeps it
    /// (policyProfile does; threshold profiles recompute it from scores).
    std::vector<int64_t> sampleExits;
};

/// Error naming the profile when its histogram does not have `numExits`
/// counts >= 0 summing to numSamples > 0, or its accuracy is outside [0, 1].
void checkExitProfile(const ExitProfile& profile, int64_t numExits);

/// One cascade profile per global threshold of `grid`, through the exact
/// sweep on precomputed scores (core::sweepGlobalThresholds).
std::vector<ExitProfile> thresholdProfiles(const core::ConfidenceScores& scores, const std::vector<float>& grid);

/// The network without early exits: every sample leaves at the final exit,
/// and only the final head runs.
ExitProfile finalExitProfile(const core::Trace& trace);

/// Any deployable policy applied to the trace, keeping each sample's exit
/// for the event simulation; static and anytime policies are not cascades.
ExitProfile policyProfile(const core::Trace& trace, const core::PolicyConfig& policy, const std::string& label);

/// What one sample costs when it leaves at a given exit under a given split.
struct SampleTimes {
    bool onDevice = true;   ///< finished on the device: nothing sent
    double deviceMs = 0.0;  ///< blocks, heads and encoding on the device
    double linkMs = 0.0;    ///< upload + RTT + result return (0 on the device)
    double serverMs = 0.0;  ///< decoding, blocks and heads on the server
    double totalMs = 0.0;
    double bytes = 0.0;  ///< sent over the link
    double deviceMacs = 0.0;
    double serverMacs = 0.0;
};

/// A design's figures: one exit profile under one split point.
struct DesignFigures {
    std::size_t split = 0;    ///< index into the model's split points
    std::size_t profile = 0;  ///< index into the scheduler's profiles
    double accuracy = 0.0;
    double meanMs = 0.0;
    double p95Ms = 0.0;       ///< nearest rank: the ceil(0.95 N)-th smallest latency
    double meanBytes = 0.0;   ///< bytes sent per sample
    double deviceMacs = 0.0;  ///< per sample (energy proxy)
    double serverMacs = 0.0;  ///< per sample (cost proxy)
    double fractionOnDevice = 0.0;
    double deviceStageMs = 0.0;   ///< mean device busy time per sample
    double linkStageMs = 0.0;     ///< mean link busy time (serialisation, no RTT)
    double serverStageMs = 0.0;   ///< mean server busy time per sample
    double throughputPerS = 0.0;  ///< 1000 / the largest stage time
};

/// Per-sample latency of every (exit, split) pair for a trace on a device, a
/// link and a server. Latency depends only on the exit a sample takes and
/// the split, so a design's mean and 95th percentile come from its exit
/// histogram and this table: O(K) per design.
///
/// A sample leaving at exit e (sitting after block exit_block[e]) under a
/// split with s blocks on the device:
///   - exit_block[e] < s: device only: blocks 0..exit_block[e] and the heads
///     it evaluates (every head up to e for a cascade, head e otherwise);
///   - else: the device runs blocks [0, s) and, for a cascade, the heads on
///     its side (an exit right at the split is evaluated on the device,
///     before sending); then encode + bytes / bandwidth + RTT + decode; the
///     server runs blocks [s, exit_block[e]] and the heads on its side;
///     then the result returns (Link::replyMs).
/// Pipelined throughput: device, link and server work on different samples
/// at once, so throughput is 1 / the slowest stage's mean busy time; the RTT
/// is propagation, not occupancy, and is not part of the link stage. The
/// link's mean RTT is used; jitter (zero-mean) is left to event simulation.
///
/// Everything that does not depend on the conditions (per-pair measured ms
/// and MACs) is computed once; setBandwidth / setLink recompute only the link
/// terms, setDeviceLoad / setServerLoad only the compute terms.
class LatencyModel {
public:
    /// Error naming the field when the trace's block/head arrays disagree
    /// with B and K, exit blocks decrease, or a split point is invalid
    /// (blocksOnDevice outside [0, B] or not increasing, negative bytes or
    /// codec times). Starts on the profiling machine both sides, Link{}.
    LatencyModel(const core::Trace& trace, std::vector<SplitPoint> splits);

    /// Sets everything; Error from checkPlatform / checkLink.
    void setConditions(const Platform& device, const Platform& server, const Link& link);
    void setLink(const Link& link);
    void setBandwidth(double mbps);
    void setDeviceLoad(double load);
    void setServerLoad(double load);

    const Platform& device() const { return m_device; }
    const Platform& server() const { return m_server; }
    const Link& link() const { return m_link; }
    const std::vector<SplitPoint>& splits() const { return m_splits; }
    int64_t numExits() const { return m_numExits; }
    int64_t numBlocks() const { return m_numBlocks; }

    /// The costs of one sample leaving at `exit` under split index `split`.
    SampleTimes sampleTimes(int64_t exit, std::size_t split, bool cascade) const;

    /// Latency in ms of one sample leaving at `exit` under split index `split`.
    double latencyMs(int64_t exit, std::size_t split, bool cascade) const {
        return m_totalMs[index(split, cascade, exit)];
    }

    /// The figures of `profile` (checked beforehand with checkExitProfile)
    /// under split index `split` (< splits().size(), unchecked: this is the
    /// re-plan's inner loop); `profile` is left 0 for the caller to set.
    DesignFigures evaluate(const ExitProfile& profile, std::size_t split) const;

private:
    std::size_t index(std::size_t split, bool cascade, int64_t exit) const {
        return (split * 2 + (cascade ? 0 : 1)) * static_cast<std::size_t>(m_numExits) + static_cast<std::size_t>(exit);
    }
    void computeComputeTerms();
    void computeLinkTerms();

    int64_t m_numExits = 0;
    int64_t m_numBlocks = 0;
    std::vector<SplitPoint> m_splits;
    double m_profilingGflops = 0.0;  // NaN when the trace cannot give it
    Platform m_device, m_server;
    Link m_link;

    // Per (split, mode, exit), on the profiling machine; fixed at construction.
    std::vector<uint8_t> m_onDevice;
    std::vector<double> m_rawDeviceMs, m_rawDeviceMacs, m_rawServerMs, m_rawServerMacs;
    // Per (split, mode, exit), under the current conditions.
    std::vector<double> m_deviceMs, m_serverMs, m_totalMs;
    std::vector<int64_t> m_order;  // exits by rising totalMs per (split, mode), for the 95th percentile
    // Per split, under the current link.
    std::vector<double> m_linkMs, m_linkBusyMs;
};

}  // namespace exitscope::simulator
