#include "simulator/schedule/scheduler.h"

#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

namespace exitscope::simulator {

using core::Error;

namespace {

// Accuracies from counts and latencies from sums can differ from a bound
// typed by a person in the last bit; that must not make a design infeasible.
constexpr double kSlack = 1e-9;

// Up to two decimals without trailing zeros ("92", "91.2", "0.75"); tiny
// non-zero values keep two significant digits instead of printing as 0.
std::string pretty(double v) {
    char text[64];
    std::snprintf(text, sizeof text, "%.2f", v);
    std::string s = text;
    if (s.find('.') != std::string::npos) {
        s.erase(s.find_last_not_of('0') + 1);
        if (s.back() == '.') s.pop_back();
    }
    if ((s == "0" || s == "-0") && v != 0.0) {
        std::snprintf(text, sizeof text, "%.2g", v);
        s = text;
    }
    return s;
}

enum class Bound { Accuracy, MeanMs, P95Ms };

struct Constraint {
    Bound bound;
    double limit;
};

std::vector<Constraint> constraintsOf(const Goal& g) {
    std::vector<Constraint> out;
    if (!std::isnan(g.minAccuracy)) out.push_back({Bound::Accuracy, g.minAccuracy});
    if (!std::isnan(g.maxMeanMs)) out.push_back({Bound::MeanMs, g.maxMeanMs});
    if (!std::isnan(g.maxP95Ms)) out.push_back({Bound::P95Ms, g.maxP95Ms});
    return out;
}

double valueOf(const DesignFigures& d, Bound b) {
    return b == Bound::Accuracy ? d.accuracy : b == Bound::MeanMs ? d.meanMs : d.p95Ms;
}

bool meetsValue(const Constraint& c, double v) {
    return c.bound == Bound::Accuracy ? v >= c.limit - kSlack : v <= c.limit * (1.0 + kSlack);
}

bool meets(const DesignFigures& d, const Constraint& c) { return meetsValue(c, valueOf(d, c.bound)); }

bool meetsAll(const DesignFigures& d, const std::vector<Constraint>& cs) {
    for (const auto& c : cs)
        if (!meets(d, c)) return false;
    return true;
}

std::string boundText(const Constraint& c) {
    switch (c.bound) {
        case Bound::Accuracy:
            return "accuracy >= " + pretty(100.0 * c.limit) + "%";
        case Bound::MeanMs:
            return "mean latency <= " + pretty(c.limit) + " ms";
        case Bound::P95Ms:
            return "95th-percentile latency <= " + pretty(c.limit) + " ms";
    }
    return {};
}

// "best accuracy 91.2% is 0.8 points below the 92% asked" and the like.
std::string shortfallText(const Constraint& c, double best) {
    if (c.bound == Bound::Accuracy)
        return "best accuracy " + pretty(100.0 * best) + "% is " + pretty(100.0 * (c.limit - best)) +
               " points below the " + pretty(100.0 * c.limit) + "% asked";
    const std::string what = c.bound == Bound::MeanMs ? "mean latency" : "95th-percentile latency";
    return "lowest " + what + " " + pretty(best) + " ms is " + pretty(best - c.limit) + " ms over the " +
           pretty(c.limit) + " ms asked";
}

double bestValue(const std::vector<const DesignFigures*>& set, Bound b) {
    double best = b == Bound::Accuracy ? -1.0 : std::numeric_limits<double>::infinity();
    for (const auto* d : set)
        best = b == Bound::Accuracy ? std::max(best, d->accuracy) : std::min(best, valueOf(*d, b));
    return best;
}

// Each bound alone first; when every one is reachable alone, the first that
// fails among the designs meeting the bounds before it.
std::string explainInfeasible(const std::vector<DesignFigures>& designs, const Goal& goal) {
    const auto cs = constraintsOf(goal);
    std::vector<const DesignFigures*> all;
    for (const auto& d : designs) all.push_back(&d);
    std::string out = "no design meets the goal (" + describeGoal(goal) + "): ";
    if (all.empty()) return out + "there are no designs";
    std::vector<std::string> alone;
    for (const auto& c : cs) {
        const double best = bestValue(all, c.bound);
        if (!meetsValue(c, best)) alone.push_back(shortfallText(c, best));
    }
    if (!alone.empty()) {
        for (std::size_t i = 0; i < alone.size(); ++i) out += (i ? "; " : "") + alone[i];
        return out;
    }
    std::vector<const DesignFigures*> set = all;
    std::string context;
    for (const auto& c : cs) {
        const double best = bestValue(set, c.bound);
        if (!meetsValue(c, best)) return out + "among the designs with " + context + ", the " + shortfallText(c, best);
        context += (context.empty() ? "" : " and ") + boundText(c);
        set.erase(std::remove_if(set.begin(), set.end(), [&](const DesignFigures* d) { return !meets(*d, c); }),
                  set.end());
    }
    return out + "the bounds cannot hold together";
}

double objectiveKey(const DesignFigures& d, Objective o) {
    switch (o) {
        case Objective::LowestMeanLatency:
            return -d.meanMs;
        case Objective::HighestAccuracy:
            return d.accuracy;
        case Objective::HighestThroughput:
            return d.throughputPerS;
        case Objective::LowestServerCost:
            return -d.serverMacs;
    }
    return 0.0;
}

bool better(const DesignFigures& a, const DesignFigures& b, Objective o) {
    const double ka = objectiveKey(a, o), kb = objectiveKey(b, o);
    if (ka != kb) return ka > kb;
    if (a.accuracy != b.accuracy) return a.accuracy > b.accuracy;
    if (a.meanMs != b.meanMs) return a.meanMs < b.meanMs;
    if (a.p95Ms != b.p95Ms) return a.p95Ms < b.p95Ms;
    if (a.serverMacs != b.serverMacs) return a.serverMacs < b.serverMacs;
    if (a.meanBytes != b.meanBytes) return a.meanBytes < b.meanBytes;
    // Identical figures mean nothing crosses the link: the deeper split
    // (device only, when present) says so.
    return a.split > b.split;
}

// The best design of `candidates` that meets the bounds, or when none does
// the best by the objective alone (flagged infeasible).
Baseline bestOf(const std::string& name, const std::vector<const DesignFigures*>& candidates, const Goal& goal) {
    const auto cs = constraintsOf(goal);
    Baseline b;
    b.name = name;
    const DesignFigures* best = nullptr;
    const DesignFigures* bestAny = nullptr;
    for (const auto* d : candidates) {
        if (!bestAny || better(*d, *bestAny, goal.objective)) bestAny = d;
        if (meetsAll(*d, cs) && (!best || better(*d, *best, goal.objective))) best = d;
    }
    if (best || bestAny) b.figures = best ? *best : *bestAny;
    b.feasible = best != nullptr;
    return b;
}

}  // namespace

std::string objectiveName(Objective o) {
    switch (o) {
        case Objective::LowestMeanLatency:
            return "lowest mean latency";
        case Objective::HighestAccuracy:
            return "highest accuracy";
        case Objective::HighestThroughput:
            return "highest throughput";
        case Objective::LowestServerCost:
            return "lowest server cost";
    }
    return {};
}

Goal Goal::lowestLatency(double minAccuracy) {
    Goal g;
    g.objective = Objective::LowestMeanLatency;
    g.minAccuracy = minAccuracy;
    return g;
}

Goal Goal::highestAccuracy(double maxP95Ms) {
    Goal g;
    g.objective = Objective::HighestAccuracy;
    g.maxP95Ms = maxP95Ms;
    return g;
}

Goal Goal::highestThroughput(double minAccuracy) {
    Goal g;
    g.objective = Objective::HighestThroughput;
    g.minAccuracy = minAccuracy;
    return g;
}

Goal Goal::lowestServerCost(double maxP95Ms, double minAccuracy) {
    Goal g;
    g.objective = Objective::LowestServerCost;
    g.maxP95Ms = maxP95Ms;
    g.minAccuracy = minAccuracy;
    return g;
}

void checkGoal(const Goal& g) {
    if (!std::isnan(g.minAccuracy) && !(g.minAccuracy >= 0.0 && g.minAccuracy <= 1.0))
        throw Error("goal: minimum accuracy " + pretty(g.minAccuracy) + " must be a fraction in [0, 1]");
    for (const auto& [name, v] : {std::pair<const char*, double>{"mean latency bound", g.maxMeanMs},
                                  std::pair<const char*, double>{"95th-percentile latency bound", g.maxP95Ms}})
        if (!std::isnan(v) && !(v > 0.0))
            throw Error(std::string("goal: ") + name + " " + pretty(v) + " ms must be > 0");
}

std::string describeGoal(const Goal& g) {
    std::string s = objectiveName(g.objective);
    const auto cs = constraintsOf(g);
    for (std::size_t i = 0; i < cs.size(); ++i) s += (i ? " and " : " with ") + boundText(cs[i]);
    return s;
}

Scheduler::Scheduler(const core::Trace& trace, std::vector<SplitPoint> splits, const SchedulerOptions& options)
    : m_model(trace, std::move(splits)) {
    if (options.numThresholds < 2)
        throw Error("scheduler: " + std::to_string(options.numThresholds) + " thresholds; need at least 2");
    if (!(options.fixedThreshold >= 0.0f && options.fixedThreshold <= 1.0f))
        throw Error("scheduler: fixed baseline threshold " + pretty(options.fixedThreshold) + " is outside [0, 1]");
    const auto scores = core::computeScores(trace, options.criterion);
    m_profiles = thresholdProfiles(scores, core::uniformThresholdGrid(options.numThresholds));
    m_finalOnly = addProfile(finalExitProfile(trace));
    m_fixed = addProfile(thresholdProfiles(scores, {options.fixedThreshold}).front());
}

std::size_t Scheduler::addProfile(ExitProfile profile) {
    checkExitProfile(profile, m_model.numExits());
    m_profiles.push_back(std::move(profile));
    return m_profiles.size() - 1;
}

DesignFigures Scheduler::evaluate(std::size_t profile, std::size_t split) const {
    if (profile >= m_profiles.size() || split >= m_model.splits().size())
        throw Error("scheduler: design (profile " + std::to_string(profile) + ", split " + std::to_string(split) +
                    ") is out of range");
    DesignFigures f = m_model.evaluate(m_profiles[profile], split);
    f.profile = profile;
    return f;
}

Plan Scheduler::plan(const Goal& goal) const {
    checkGoal(goal);
    const auto cs = constraintsOf(goal);
    const std::size_t S = m_model.splits().size(), P = m_profiles.size();
    Plan plan;
    plan.designs.reserve(S * P);
    std::vector<std::size_t> feasible;
    std::size_t best = 0;
    for (std::size_t s = 0; s < S; ++s)
        for (std::size_t p = 0; p < P; ++p) {
            DesignFigures f = m_model.evaluate(m_profiles[p], s);
            f.profile = p;
            if (meetsAll(f, cs)) {
                if (feasible.empty() || better(f, plan.designs[best], goal.objective)) best = plan.designs.size();
                feasible.push_back(plan.designs.size());
            }
            plan.designs.push_back(f);
        }
    plan.numFeasible = static_cast<int64_t>(feasible.size());
    plan.feasible = !feasible.empty();
    if (plan.feasible)
        plan.best = plan.designs[best];
    else
        plan.explanation = explainInfeasible(plan.designs, goal);

    // Pareto front: by rising latency (higher accuracy first on ties), keep
    // each design that beats every faster one's accuracy.
    std::sort(feasible.begin(), feasible.end(), [&](std::size_t a, std::size_t b) {
        const auto &da = plan.designs[a], &db = plan.designs[b];
        if (da.meanMs != db.meanMs) return da.meanMs < db.meanMs;
        if (da.accuracy != db.accuracy) return da.accuracy > db.accuracy;
        return a < b;
    });
    double bestAccuracy = -1.0;
    for (std::size_t i : feasible)
        if (plan.designs[i].accuracy > bestAccuracy) {
            plan.front.push_back(plan.designs[i]);
            bestAccuracy = plan.designs[i].accuracy;
        }

    // The split list may lack device only or server only; those baselines are then left out.
    const auto& splits = m_model.splits();
    std::vector<const DesignFigures*> noExits, fixed;
    for (std::size_t s = 0; s < S; ++s) {
        noExits.push_back(&plan.designs[s * P + m_finalOnly]);
        fixed.push_back(&plan.designs[s * P + m_fixed]);
    }
    if (splits.back().blocksOnDevice == m_model.numBlocks())
        plan.baselines.push_back(bestOf("device only (no early exits)", {noExits.back()}, goal));
    if (splits.front().blocksOnDevice == 0)
        plan.baselines.push_back(bestOf("server only (no early exits)", {noExits.front()}, goal));
    plan.baselines.push_back(bestOf("best split without early exits (Neurosurgeon-style)", noExits, goal));
    plan.baselines.push_back(
        bestOf("fixed threshold " + pretty(m_profiles[m_fixed].threshold) + " with best split", fixed, goal));
    return plan;
}

}  // namespace exitscope::simulator
