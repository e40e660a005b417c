#pragma once

#include "core/policy/confidence.h"
#include "core/trace/trace.h"
#include "simulator/platform/link.h"
#include "simulator/schedule/scheduler.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace exitscope::simulator {

/// How requests arrive.
enum class ArrivalKind {
    Periodic,  ///< request i at i * periodMs
    Poisson,   ///< exponential gaps of mean 1000 / ratePerS ms, the first after one gap
};

/// The most re-planning ticks one simulation may span (its last arrival
/// divided by the re-plan interval); checkSimConfig refuses more.
constexpr double kMaxReplans = 1e6;

/// Parameters of one event simulation.
struct SimConfig {
    ArrivalKind arrivals = ArrivalKind::Periodic;
    double periodMs = 100.0;    ///< used when Periodic; > 0
    double ratePerS = 10.0;     ///< used when Poisson; > 0
    int64_t numRequests = 100;  ///< > 0
    uint64_t seed = 0;          ///< Poisson gaps and RTT jitter
    /// Re-plan every this many ms of simulated time (> 0; infinity: only on
    /// bandwidth steps). A re-plan also happens at every bandwidth step.
    double replanIntervalMs = 1000.0;
    Goal goal = Goal::lowestLatency(0.0);
    /// Must be the scheduler's criterion: it maps each sample to its exit.
    core::ConfidenceCriterion criterion = core::ConfidenceCriterion::MaxSoftmax;
};

/// Error naming the parameter when period, rate, count or re-plan interval
/// is not > 0 (or not a number), or from checkGoal.
void checkSimConfig(const SimConfig& config);

/// What happened to one request.
struct RequestRecord {
    int64_t id = 0;
    int64_t sample = 0;  ///< trace row, taken in order and cycling
    double arrivalMs = 0.0;
    double completionMs = 0.0;
    std::string split;         ///< splitLabel of the design's split
    std::size_t splitIndex = 0;
    std::size_t profile = 0;   ///< index into the scheduler's profiles
    int64_t exit = 0;
    bool correct = false;
    double deviceMs = 0.0;    ///< device busy time
    double linkMs = 0.0;      ///< serialisation + RTT + reply (0 on the device)
    double serverMs = 0.0;    ///< server busy time
    double queueingMs = 0.0;  ///< waiting for a busy device, link or server
    double latencyMs = 0.0;   ///< completion - arrival
    double bytes = 0.0;       ///< sent over the link
};

/// Totals of one simulation.
struct SimSummary {
    int64_t count = 0;
    double accuracy = 0.0;
    double meanMs = 0.0;
    double medianMs = 0.0;  ///< mean of the two middle latencies when count is even
    double p95Ms = 0.0;     ///< nearest rank: the ceil(0.95 N)-th smallest latency
    double throughputPerS = 0.0;  ///< count / (last completion - first arrival)
    double meanQueueingMs = 0.0;
    int64_t replans = 0;         ///< re-plans after the initial plan
    int64_t designChanges = 0;   ///< re-plans that changed (split, profile)
    int64_t infeasibleReplans = 0;  ///< re-plans that found nothing feasible (the design was kept)
};

/// Per-request records (by id) and their summary.
struct SimResult {
    std::vector<RequestRecord> requests;
    SimSummary summary;
};

/// Discrete-event simulation of a request stream through device, link and
/// server, each a FIFO single-server queue, under a bandwidth schedule.
///
/// Each request is a trace sample (rows in order, cycling) and uses the
/// design (split, exit profile) current at its arrival; the scheduler
/// re-plans for config.goal at t = 0, every replanIntervalMs and at every
/// bandwidth step, with the bandwidth at that time. Per-request costs come
/// from LatencyModel::sampleTimes; the link is occupied only by
/// serialisation, at the bandwidth when serialisation starts; the RTT (drawn
/// with the link's jitter) is pure delay, half before the server and half
/// after, and the reply adds its own serialisation. A request's exit is the
/// profile's rule applied to its sample: the exits a policy profile kept
/// (ExitProfile::sampleExits, any policy kind), a global confidence
/// threshold, or the final exit for the "final exit only" profile.
///
/// Deterministic for a seed; every arrival completes exactly once. The
/// scheduler is left at the last bandwidth used. Error from checkSimConfig,
/// when the goal is infeasible at t = 0 (with the plan's explanation), when
/// the trace has no samples, or when a chosen profile has no per-sample rule
/// or its histogram disagrees with config.criterion's.
SimResult simulate(Scheduler& scheduler, const core::Trace& trace, const BandwidthSchedule& bandwidth,
                   const SimConfig& config);

/// Writes the per-request rows as CSV with a header line.
void writeRequestsCsv(std::ostream& out, const SimResult& result);

}  // namespace exitscope::simulator
