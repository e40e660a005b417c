#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace exitscope::simulator {

/// The network between device and server.
///
/// Sending B bytes from device to server takes
///     B * 8 / (bandwidthMbps * 1e6) * 1000 ms  (serialisation)  + rttMs,
/// where the round-trip time covers the propagation of the request and of
/// the reply both. Returning the result then adds only the reply's own
/// serialisation, replyBytes * 8 / (bandwidthMbps * 1e6) * 1000 ms (the
/// default 4 bytes: one int32 class index). The same bandwidth is assumed
/// both ways.
///
/// Jitter is the half-width of a uniform spread of each request's RTT,
/// [max(0, rtt - jitter), rtt + jitter] (see sampleRttMs); its mean is the
/// RTT, so the analytic latency model uses rttMs and only the event
/// simulation draws jittered values.
///
/// A bandwidth of 0 is an Error, not "link down": every offloaded design
/// would take infinitely long. Model an outage with a very low bandwidth.
struct Link {
    double bandwidthMbps = 10.0;
    double rttMs = 20.0;
    double jitterMs = 0.0;
    double replyBytes = 4.0;

    /// Serialisation of `bytes` alone: bytes * 8 / (bandwidthMbps * 1e6) * 1000.
    double serialisationMs(double bytes) const { return bytes * 8.0 / (bandwidthMbps * 1e3); }
    /// Device to server: serialisationMs(bytes) + rttMs.
    double transferMs(double bytes) const { return serialisationMs(bytes) + rttMs; }
    /// Returning the result: serialisationMs(replyBytes) (its propagation is in the RTT).
    double replyMs() const { return serialisationMs(replyBytes); }
    /// One request's RTT drawn uniformly from [max(0, rtt - jitter), rtt + jitter].
    double sampleRttMs(std::mt19937_64& rng) const;
};

/// Error beginning with `where` and naming the field when bandwidth is not
/// > 0, or RTT, jitter or reply bytes are negative or not finite.
void checkLink(const Link& link, const std::string& where = "link");

/// Bandwidth parameters of a seeded random walk (see BandwidthSchedule).
struct RandomWalkParams {
    double startMbps = 10.0;
    double minMbps = 1.0;
    double maxMbps = 100.0;
    double stepS = 1.0;       ///< one new bandwidth every stepS seconds
    double durationS = 60.0;  ///< steps cover [0, durationS); the last value holds after
    double volatility = 0.2;  ///< each step multiplies by exp(u), u uniform in [-volatility, volatility]
};

/// Link bandwidth as a function of time: a piecewise-constant list of steps
/// (time in seconds, Mbit/s). Before the first step's time the first
/// bandwidth applies; after the last, the last. Every bandwidth is > 0 and
/// step times strictly increase from >= 0.
class BandwidthSchedule {
public:
    /// One change of bandwidth at `timeS`.
    struct Step {
        double timeS = 0.0;
        double mbps = 0.0;
    };

    /// The same bandwidth forever; Error when it is not > 0.
    static BandwidthSchedule constant(double mbps);

    /// Given steps; Error beginning with `where` naming the step (from 1) that
    /// is out of order, has a negative time or a bandwidth that is not > 0.
    static BandwidthSchedule fromSteps(std::vector<Step> steps, const std::string& where = "bandwidth steps");

    /// A multiplicative random walk clamped to [minMbps, maxMbps]. Identical
    /// for identical parameters and seed on every platform: it draws raw
    /// std::mt19937_64 output, never the implementation-defined distributions.
    static BandwidthSchedule randomWalk(const RandomWalkParams& params, uint64_t seed);

    /// Parses CSV text: lines "time_s,mbps", an optional header line
    /// "time_s,mbps", blank lines and '#' comments skipped. Error
    /// "<where>:<line>: ..." naming the line that is malformed, out of order
    /// or has a bandwidth that is not > 0; Error when no data line is found.
    static BandwidthSchedule parseCsv(const std::string& text, const std::string& where);

    /// Reads and parses a CSV file (see parseCsv); Error naming the file.
    static BandwidthSchedule loadCsv(const std::string& path);

    /// Bandwidth in Mbit/s at `timeS`.
    double mbpsAt(double timeS) const;

    const std::vector<Step>& steps() const { return m_steps; }

private:
    explicit BandwidthSchedule(std::vector<Step> steps) : m_steps(std::move(steps)) {}
    std::vector<Step> m_steps;
};

}  // namespace exitscope::simulator
