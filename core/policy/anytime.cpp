#include "core/policy/anytime.h"

#include "core/common/error.h"
#include "core/policy/confidence.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

namespace exitscope::core {

namespace {

void checkBudgetValue(double budget) {
    if (std::isnan(budget) || budget < 0.0) {
        std::ostringstream os;
        os << "anytime: budget " << budget << " is not a non-negative number";
        throw Error(os.str());
    }
}

void checkFinite(const char* what, double value) {
    if (!std::isfinite(value)) {
        std::ostringstream os;
        os << "budget distribution: " << what << " " << value << " is not finite";
        throw Error(os.str());
    }
}

// Upper tail of the standard normal, P(Z >= z); erfc keeps it accurate far
// out in the tail where 1 - Phi(z) would round to 0.
double normalUpperTail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

} // namespace

AnytimeProfile anytimeProfile(const Trace& trace, BudgetUnit unit) {
    if (trace.numSamples < 1) throw Error("anytime: the trace has no samples");
    if (trace.numClasses < 1) throw Error("anytime: the trace has no classes");
    if (static_cast<int64_t>(trace.probs.size()) != trace.numSamples * trace.numExits * trace.numClasses ||
        static_cast<int64_t>(trace.labels.size()) != trace.numSamples) {
        std::ostringstream os;
        os << "anytime: the trace has " << trace.probs.size() << " probabilities and " << trace.labels.size()
           << " labels for " << trace.numSamples << " samples, " << trace.numExits << " exits and " << trace.numClasses
           << " classes";
        throw Error(os.str());
    }
    const auto K = static_cast<std::size_t>(trace.numExits);
    const char* name = unit == BudgetUnit::Macs ? "exit_macs" : "exit_ms";
    const std::size_t have = unit == BudgetUnit::Macs ? trace.exitMacs.size() : trace.exitMs.size();
    if (have != K) {
        std::ostringstream os;
        os << "anytime: " << name << " has " << have << " values for " << K << " exits";
        throw Error(os.str());
    }
    AnytimeProfile profile;
    profile.exitCost.resize(K);
    for (std::size_t k = 0; k < K; ++k) {
        const double c =
            unit == BudgetUnit::Macs ? static_cast<double>(trace.exitMacs[k]) : static_cast<double>(trace.exitMs[k]);
        if (!std::isfinite(c) || c < 0.0) {
            std::ostringstream os;
            os << "anytime: " << name << "[" << k << "] = " << c << " is not a non-negative finite cost";
            throw Error(os.str());
        }
        profile.exitCost[k] = c;
    }
    profile.exitAccuracy = perExitAccuracy(trace);
    profile.chanceAccuracy = 1.0 / static_cast<double>(trace.numClasses);
    return profile;
}

int64_t anytimeExit(const AnytimeProfile& profile, double budget) {
    checkBudgetValue(budget);
    // Measured times need not rise strictly with k, so take the deepest
    // finished exit rather than stopping at the first unfinished one.
    int64_t deepest = -1;
    for (std::size_t k = 0; k < profile.exitCost.size(); ++k)
        if (profile.exitCost[k] <= budget) deepest = static_cast<int64_t>(k);
    return deepest;
}

double anytimeAccuracy(const AnytimeProfile& profile, double budget) {
    const int64_t k = anytimeExit(profile, budget);
    return k < 0 ? profile.chanceAccuracy : profile.exitAccuracy[static_cast<std::size_t>(k)];
}

std::vector<double> anytimeCurve(const AnytimeProfile& profile, const std::vector<double>& budgets) {
    std::vector<double> curve;
    curve.reserve(budgets.size());
    for (double b : budgets) curve.push_back(anytimeAccuracy(profile, b));
    return curve;
}

BudgetDistribution BudgetDistribution::fixed(double budget) {
    checkFinite("fixed budget", budget);
    if (budget < 0.0) {
        std::ostringstream os;
        os << "budget distribution: fixed budget " << budget << " is negative";
        throw Error(os.str());
    }
    return BudgetDistribution(Kind::Fixed, budget, 0.0);
}

BudgetDistribution BudgetDistribution::uniform(double low, double high) {
    checkFinite("uniform low", low);
    checkFinite("uniform high", high);
    if (high < low || low < 0.0) {
        std::ostringstream os;
        os << "budget distribution: uniform [" << low << ", " << high << "] "
           << (high < low ? "has its upper bound below its lower bound" : "reaches negative budgets");
        throw Error(os.str());
    }
    return BudgetDistribution(Kind::Uniform, low, high);
}

BudgetDistribution BudgetDistribution::normal(double mean, double stddev) {
    checkFinite("normal mean", mean);
    checkFinite("normal stddev", stddev);
    if (stddev <= 0.0) {
        std::ostringstream os;
        os << "budget distribution: normal stddev " << stddev << " is not positive";
        throw Error(os.str());
    }
    if (normalUpperTail(-mean / stddev) <= 0.0) {
        std::ostringstream os;
        os << "budget distribution: normal(" << mean << ", " << stddev << ") has no mass above 0 to truncate to";
        throw Error(os.str());
    }
    return BudgetDistribution(Kind::Normal, mean, stddev);
}

BudgetDistribution BudgetDistribution::exponential(double rate) {
    checkFinite("exponential rate", rate);
    if (rate <= 0.0) {
        std::ostringstream os;
        os << "budget distribution: exponential rate " << rate << " is not positive";
        throw Error(os.str());
    }
    return BudgetDistribution(Kind::Exponential, rate, 0.0);
}

double BudgetDistribution::probabilityAtLeast(double x) const {
    switch (m_kind) {
        case Kind::Fixed:
            return m_a >= x ? 1.0 : 0.0;
        case Kind::Uniform:
            if (x <= m_a) return 1.0;
            if (x > m_b) return 0.0;
            return (m_b - x) / (m_b - m_a);
        case Kind::Normal:
            if (x <= 0.0) return 1.0;
            return normalUpperTail((x - m_a) / m_b) / normalUpperTail(-m_a / m_b);
        case Kind::Exponential:
            return x <= 0.0 ? 1.0 : std::exp(-m_a * x);
    }
    return 0.0;
}

double expectedAnytimeAccuracy(const AnytimeProfile& profile, const BudgetDistribution& distribution) {
    const std::size_t K = profile.exitCost.size();
    if (profile.exitAccuracy.size() != K) {
        std::ostringstream os;
        os << "anytime: " << profile.exitAccuracy.size() << " exit accuracies for " << K << " exit costs";
        throw Error(os.str());
    }
    std::vector<std::size_t> order(K);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t i, std::size_t j) { return profile.exitCost[i] < profile.exitCost[j]; });
    // Walk the exits by cost; the answer after each step comes from the
    // deepest exit finished so far, so the step size is the change in its
    // accuracy, weighted by the chance the budget reaches that cost.
    double expected = profile.chanceAccuracy;
    double current = profile.chanceAccuracy;
    int64_t deepest = -1;
    for (std::size_t i = 0; i < K; ++i) {
        deepest = std::max(deepest, static_cast<int64_t>(order[i]));
        const double next = profile.exitAccuracy[static_cast<std::size_t>(deepest)];
        expected += (next - current) * distribution.probabilityAtLeast(profile.exitCost[order[i]]);
        current = next;
    }
    return expected;
}

} // namespace exitscope::core
