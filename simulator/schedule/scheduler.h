#pragma once

#include "core/policy/confidence.h"
#include "core/trace/trace.h"
#include "simulator/schedule/latency_model.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace exitscope::simulator {

/// What the user wants most from a design.
enum class Objective {
    LowestMeanLatency,
    HighestAccuracy,
    HighestThroughput,  ///< 1 / the slowest pipelined stage (see LatencyModel)
    LowestServerCost,   ///< fewest server MACs per sample
};

/// "lowest mean latency", "highest accuracy", "highest throughput", "lowest server cost".
std::string objectiveName(Objective objective);

/// SPINN's goals: an objective plus bounds a design must meet. A NaN bound
/// is no bound. The factories make the four goals of the issue; any bound
/// may be added to any objective.
struct Goal {
    Objective objective = Objective::LowestMeanLatency;
    double minAccuracy = std::numeric_limits<double>::quiet_NaN();  ///< fraction in [0, 1]
    double maxMeanMs = std::numeric_limits<double>::quiet_NaN();
    double maxP95Ms = std::numeric_limits<double>::quiet_NaN();

    /// Lowest mean latency with accuracy >= `minAccuracy`.
    static Goal lowestLatency(double minAccuracy);
    /// Highest accuracy with 95th-percentile latency <= `maxP95Ms`.
    static Goal highestAccuracy(double maxP95Ms);
    /// Highest throughput, optionally with accuracy >= `minAccuracy`.
    static Goal highestThroughput(double minAccuracy = std::numeric_limits<double>::quiet_NaN());
    /// Fewest server MACs with 95th-percentile latency <= `maxP95Ms` and accuracy >= `minAccuracy`.
    static Goal lowestServerCost(double maxP95Ms, double minAccuracy);
};

/// Error naming the bound when minAccuracy is outside [0, 1] or a latency
/// bound is not > 0 (NaN bounds are absent and always fine).
void checkGoal(const Goal& goal);

/// The goal in words, e.g. "lowest mean latency with accuracy >= 92%".
std::string describeGoal(const Goal& goal);

/// A reference design shown next to the scheduler's choice.
struct Baseline {
    std::string name;
    bool feasible = false;  ///< meets the goal's bounds
    DesignFigures figures;
};

/// The scheduler's answer for one goal under the current conditions.
struct Plan {
    bool feasible = false;
    DesignFigures best;       ///< meaningful when feasible
    std::string explanation;  ///< when not feasible: which bound fails and by how much
    std::vector<DesignFigures>
        front;  ///< Pareto front (accuracy vs mean latency) of the feasible designs, by rising latency
    std::vector<Baseline> baselines;     ///< device only, server only, best split without early exits, fixed threshold
    std::vector<DesignFigures> designs;  ///< every design, split-major
    int64_t numFeasible = 0;
};

/// How the scheduler builds its exit profiles.
struct SchedulerOptions {
    core::ConfidenceCriterion criterion = core::ConfidenceCriterion::MaxSoftmax;
    int64_t numThresholds = 100;  ///< global thresholds evenly spaced over [0, 1]
    float fixedThreshold = 0.9f;  ///< the "fixed threshold with best split" baseline
};

/// SPINN's scheduler: designs are every split point x every exit profile
/// (numThresholds global thresholds, the network without early exits, the
/// fixed baseline threshold and any added policy). A plan drops the designs
/// that break the goal's bounds, ranks the rest by the objective (ties: higher
/// accuracy, lower mean and then 95th-percentile latency, fewer server MACs,
/// fewer bytes, then more blocks on the device, then the earlier profile)
/// and returns the best, the Pareto front and the baselines.
///
/// Exit histograms are computed once; conditions only change the latency
/// table (see LatencyModel), so re-planning is O(designs x K).
class Scheduler {
public:
    /// Error from LatencyModel, or when numThresholds < 2 or fixedThreshold is outside [0, 1].
    Scheduler(const core::Trace& trace, std::vector<SplitPoint> splits, const SchedulerOptions& options = {});

    /// Adds an exit profile (e.g. policyProfile of a tuned policy); returns
    /// its index. Error from checkExitProfile.
    std::size_t addProfile(ExitProfile profile);

    const std::vector<ExitProfile>& profiles() const { return m_profiles; }
    std::size_t finalExitProfileIndex() const { return m_finalOnly; }
    std::size_t fixedThresholdProfileIndex() const { return m_fixed; }

    LatencyModel& model() { return m_model; }
    const LatencyModel& model() const { return m_model; }

    /// Forwarded to the model: re-plans after these recompute only what changed.
    void setConditions(const Platform& device, const Platform& server, const Link& link) {
        m_model.setConditions(device, server, link);
    }
    void setBandwidth(double mbps) { m_model.setBandwidth(mbps); }
    void setDeviceLoad(double load) { m_model.setDeviceLoad(load); }
    void setServerLoad(double load) { m_model.setServerLoad(load); }

    /// The figures of one design.
    DesignFigures evaluate(std::size_t profile, std::size_t split) const;

    /// Plans for `goal` under the current conditions; Error from checkGoal.
    Plan plan(const Goal& goal) const;

private:
    LatencyModel m_model;
    std::vector<ExitProfile> m_profiles;
    std::size_t m_finalOnly = 0;
    std::size_t m_fixed = 0;
};

}  // namespace exitscope::simulator
