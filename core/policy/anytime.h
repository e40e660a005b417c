#pragma once

#include "core/trace/trace.h"

#include <cstdint>
#include <vector>

namespace exitscope::core {

/// The unit of an anytime budget: MACs (the trace's exit_macs) or measured
/// milliseconds (the trace's exit_ms).
enum class BudgetUnit { Macs, Milliseconds };

/// What MSDNet's anytime prediction needs from a trace: when each exit is
/// finished and how accurate it is. A plain struct, so a caller can also
/// build one by hand.
struct AnytimeProfile {
    std::vector<double> exitCost;      ///< [K], cumulative cost at which exit k has answered
    std::vector<double> exitAccuracy;  ///< [K], accuracy of exit k on its own
    double chanceAccuracy = 0.0;       ///< 1 / C, the expected accuracy of a uniform guess
};

/// Builds the anytime profile of a trace in the given unit. Error for a trace
/// without samples or classes, or costs that are missing, negative or not finite.
AnytimeProfile anytimeProfile(const Trace& trace, BudgetUnit unit);

/// The deepest exit finished within a per-image budget: the largest k with
/// exitCost[k] <= budget; -1 when no exit has finished yet. Error for a
/// negative or NaN budget (+infinity is allowed: every exit finishes).
int64_t anytimeExit(const AnytimeProfile& profile, double budget);

/// Expected accuracy for a per-image budget: the accuracy of the deepest exit
/// finished within it, or chanceAccuracy before the first exit has answered.
/// A step function of the budget, rising (or falling) only at the exits' costs.
double anytimeAccuracy(const AnytimeProfile& profile, double budget);

/// anytimeAccuracy for each budget of a grid (the accuracy-against-budget curve).
std::vector<double> anytimeCurve(const AnytimeProfile& profile, const std::vector<double>& budgets);

/// The distribution of an unpredictable per-image budget (EINet's forced
/// exit time). Made only through the factories, which check the parameters.
class BudgetDistribution {
public:
    /// The kinds of budget distribution.
    enum class Kind { Fixed, Uniform, Normal, Exponential };

    /// Always exactly `budget`. Error when negative or not finite.
    static BudgetDistribution fixed(double budget);
    /// Uniform on [low, high] (low == high is a fixed budget). Error when
    /// high < low, low < 0 or either is not finite.
    static BudgetDistribution uniform(double low, double high);
    /// Normal(mean, stddev) truncated at 0: conditioned on the budget being
    /// >= 0 and renormalised, not clipped. Error when stddev <= 0, either is
    /// not finite, or (numerically) no mass lies above 0.
    static BudgetDistribution normal(double mean, double stddev);
    /// Exponential with the given rate (mean 1 / rate). Error when rate <= 0
    /// or not finite.
    static BudgetDistribution exponential(double rate);

    /// P(budget >= x), the probability that an exit costing x has finished.
    double probabilityAtLeast(double x) const;
    /// Which kind of distribution this is.
    Kind kind() const { return m_kind; }

private:
    BudgetDistribution(Kind kind, double a, double b) : m_kind(kind), m_a(a), m_b(b) {}

    Kind m_kind;
    double m_a;  // fixed: budget; uniform: low; normal: mean; exponential: rate
    double m_b;  // uniform: high; normal: stddev
};

/// Expected anytime accuracy when the budget is drawn from `distribution`,
/// computed exactly from its tail at the exits' costs (the accuracy is a step
/// function of the budget): chance + sum over the steps of the change in
/// accuracy times P(budget >= the step's cost).
double expectedAnytimeAccuracy(const AnytimeProfile& profile, const BudgetDistribution& distribution);

} // namespace exitscope::core
