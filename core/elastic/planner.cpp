#include "core/elastic/planner.h"

#include "core/common/error.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace exitscope::core {

namespace {

constexpr int64_t kMaxExits = 64;
constexpr int64_t kMaxEnumerated = 24;

// The plan's value is accumulated in its telescoped form:
//   answerValue * S(t0) + sum over planned branches i of (c_i - c_prev) * S(f_i),
// where S(t) = P(T >= t) and c_prev is the confidence of the answer before
// branch i. It equals the sum of c_i * P(f_i <= T < f_next) and
// needs one tail evaluation per planned branch, which keeps search cheap.
struct Search {
    const double* backbone;
    const double* head;
    const double* conf;
    const ForcedExitDistribution* dist;
    int64_t K;

    double tail(double t) const { return dist->probabilityAtLeast(t); }

    // Value added by running every branch from i on, starting at time t
    // with the answer's confidence cPrev.
    double allRunFrom(int64_t i, double t, double cPrev) const {
        double v = 0.0;
        for (; i < K; ++i) {
            t += backbone[i] + head[i];
            v += (conf[i] - cPrev) * tail(t);
            cPrev = conf[i];
        }
        return v;
    }

    PlanResult greedy(int64_t i, double t, double cPrev, double value, ExitMask mask) const {
        for (; i < K; ++i) {
            const double reached = t + backbone[i];
            const double finish = reached + head[i];
            const double gain = (conf[i] - cPrev) * tail(finish);
            const double withRun = gain + allRunFrom(i + 1, finish, conf[i]);
            const double withSkip = allRunFrom(i + 1, reached, cPrev);
            if (withRun >= withSkip) {
                value += gain;
                mask |= ExitMask{1} << i;
                t = finish;
                cPrev = conf[i];
            } else {
                t = reached;
            }
        }
        return {mask, value};
    }

    // Depth-first over run/skip of branches i .. stop-1 (run first, so
    // ties keep the plan that runs earlier branches); at `stop` the rest
    // is decided greedily (nothing is left when stop == K).
    void enumerate(int64_t i, int64_t stop, double t, double cPrev, double value, ExitMask mask,
                   PlanResult& best) const {
        if (i == stop) {
            const PlanResult r = greedy(i, t, cPrev, value, mask);
            if (r.expectedAccuracy > best.expectedAccuracy) best = r;
            return;
        }
        const double reached = t + backbone[i];
        const double finish = reached + head[i];
        enumerate(i + 1, stop, finish, conf[i], value + (conf[i] - cPrev) * tail(finish), mask | (ExitMask{1} << i),
                  best);
        enumerate(i + 1, stop, reached, cPrev, value, mask, best);
    }

    double evaluate(int64_t i, double t, double cPrev, double value, ExitMask mask) const {
        for (; i < K; ++i) {
            t += backbone[i];
            if (!(mask >> i & 1)) continue;
            t += head[i];
            value += (conf[i] - cPrev) * tail(t);
            cPrev = conf[i];
        }
        return value;
    }
};

void checkProblem(const ExecutionProfile& profile, const PlanState& state, const char* where) {
    const int64_t K = profile.numExits();
    if (K < 1 || K > kMaxExits || static_cast<int64_t>(profile.backboneMs.size()) != K) {
        std::ostringstream os;
        os << where << ": the planner handles 1 to " << kMaxExits << " exits with one backbone time each, not " << K
           << " heads and " << profile.backboneMs.size() << " backbone times";
        throw Error(os.str());
    }
    if (state.next < 0 || state.next > K || !std::isfinite(state.timeMs) || state.timeMs < 0.0) {
        std::ostringstream os;
        os << where << ": plan state (next exit " << state.next << ", time " << state.timeMs
           << " ms) is outside the network";
        throw Error(os.str());
    }
}

Search makeSearch(const ExecutionProfile& profile, const ForcedExitDistribution& distribution,
                  const double* confidence) {
    return {profile.backboneMs.data(), profile.headMs.data(), confidence, &distribution, profile.numExits()};
}

}  // namespace

std::vector<int64_t> exitsOf(ExitMask plan) {
    std::vector<int64_t> exits;
    for (int64_t k = 0; k < kMaxExits; ++k)
        if (plan >> k & 1) exits.push_back(k);
    return exits;
}

ExitMask maskOf(const std::vector<int64_t>& exits) {
    ExitMask mask = 0;
    for (int64_t k : exits) {
        if (k < 0 || k >= kMaxExits) throw Error("exit plan: exit " + std::to_string(k) + " is not in [0, 64)");
        mask |= ExitMask{1} << k;
    }
    return mask;
}

std::string describePlan(ExitMask plan) {
    std::string s;
    for (int64_t k : exitsOf(plan)) s += (s.empty() ? "" : ",") + std::to_string(k);
    return s.empty() ? "-" : s;
}

PlanState initialState(const ExecutionProfile& profile) { return {0, 0.0, profile.chanceAccuracy}; }

std::vector<double> planFinishTimes(const ExecutionProfile& profile, ExitMask plan, const PlanState& state) {
    checkProblem(profile, state, "exit plan");
    std::vector<double> finish(profile.headMs.size(), std::numeric_limits<double>::quiet_NaN());
    double t = state.timeMs;
    for (int64_t k = state.next; k < profile.numExits(); ++k) {
        const auto i = static_cast<std::size_t>(k);
        t += profile.backboneMs[i];
        if (!(plan >> k & 1)) continue;
        t += profile.headMs[i];
        finish[i] = t;
    }
    return finish;
}

double expectedAccuracy(const ExecutionProfile& profile, const ForcedExitDistribution& distribution,
                        const double* confidence, ExitMask plan, const PlanState& state) {
    checkProblem(profile, state, "expected accuracy");
    const Search s = makeSearch(profile, distribution, confidence);
    const double alive = s.tail(state.timeMs);
    if (alive <= 0.0) return state.answerValue;
    const double v = s.evaluate(state.next, state.timeMs, state.answerValue, state.answerValue * alive, plan);
    return v / alive;
}

std::string searchMethodName(SearchMethod method) {
    switch (method) {
        case SearchMethod::Hybrid:
            return "hybrid";
        case SearchMethod::Greedy:
            return "greedy";
        case SearchMethod::Random:
            return "random";
        case SearchMethod::Enumerate:
            return "enumerate";
    }
    return "?";
}

SearchMethod parseSearchMethod(const std::string& name) {
    for (auto m : {SearchMethod::Hybrid, SearchMethod::Greedy, SearchMethod::Random, SearchMethod::Enumerate})
        if (searchMethodName(m) == name) return m;
    throw Error("search method '" + name + "' is not hybrid, greedy, random or enumerate");
}

PlanResult searchPlan(const ExecutionProfile& profile, const ForcedExitDistribution& distribution,
                      const double* confidence, const PlanState& state, SearchMethod method,
                      const SearchOptions& options, std::mt19937_64* rng) {
    checkProblem(profile, state, "plan search");
    if (options.enumerate < 0 || options.randomPlans < 1) {
        std::ostringstream os;
        os << "plan search: hybrid m = " << options.enumerate << " and random plans = " << options.randomPlans
           << " must be >= 0 and >= 1";
        throw Error(os.str());
    }
    const Search s = makeSearch(profile, distribution, confidence);
    const int64_t K = s.K;
    const int64_t remaining = K - state.next;
    const double alive = s.tail(state.timeMs);
    const double start = state.answerValue * alive;
    PlanResult best{0, -std::numeric_limits<double>::infinity()};
    switch (method) {
        case SearchMethod::Greedy:
            best = s.greedy(state.next, state.timeMs, state.answerValue, start, 0);
            break;
        case SearchMethod::Hybrid:
        case SearchMethod::Enumerate: {
            const int64_t depth =
                method == SearchMethod::Enumerate ? remaining : std::min(remaining, options.enumerate);
            if (depth > kMaxEnumerated) {
                std::ostringstream os;
                os << "plan search: enumerating " << depth << " branches (2^" << depth
                   << " plans) is too many; at most " << kMaxEnumerated;
                throw Error(os.str());
            }
            s.enumerate(state.next, state.next + depth, state.timeMs, state.answerValue, start, 0, best);
            break;
        }
        case SearchMethod::Random: {
            if (!rng) throw Error("plan search: random search needs a random generator");
            for (int64_t r = 0; r < options.randomPlans; ++r) {
                const ExitMask bits = remaining == 0 ? 0 : ((*rng)() >> (64 - remaining)) << state.next;
                const double v = s.evaluate(state.next, state.timeMs, state.answerValue, start, bits);
                if (v > best.expectedAccuracy) best = {bits, v};
            }
            break;
        }
    }
    best.expectedAccuracy = alive > 0.0 ? best.expectedAccuracy / alive : state.answerValue;
    return best;
}

}  // namespace exitscope::core
