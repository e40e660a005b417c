#pragma once

#include "core/elastic/distribution.h"
#include "core/elastic/exec_profile.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace exitscope::core {

/// An exit plan as a bit set: bit k set = exit branch k runs. Branches run
/// in backbone order, so the set is the whole plan. At most 64 exits.
using ExitMask = uint64_t;

/// The exits of a plan, in order.
std::vector<int64_t> exitsOf(ExitMask plan);
/// The plan that runs exactly `exits` (each in [0, 64)); Error otherwise.
ExitMask maskOf(const std::vector<int64_t>& exits);
/// "0,2,5" (or "-" for the empty plan).
std::string describePlan(ExitMask plan);

/// Where a (re-)plan starts: branches before `next` are decided (run or
/// skipped) and `timeMs` has passed, in which the forced exit has not come.
/// The current answer is worth `answerValue` (its confidence, or the
/// chance accuracy before any branch has finished).
struct PlanState {
    int64_t next = 0;
    double timeMs = 0.0;
    double answerValue = 0.0;
};

/// The state before anything has run: exit 0 next, time 0, a uniform guess.
PlanState initialState(const ExecutionProfile& profile);

/// When each branch of `plan` at or after `state.next` finishes (ms from
/// the start of the inference); NaN for branches that do not run.
std::vector<double> planFinishTimes(const ExecutionProfile& profile, ExitMask plan, const PlanState& state);

/// EINet's expected accuracy of the rest of a plan: the current answer's
/// value x P(T before the first planned finish) plus, over the planned
/// branches b_1 < b_2 < ... at or after state.next, confidence[b_i] x
/// P(b_i finishes <= T < b_{i+1} finishes) (b_{n+1}: never), all
/// conditioned on T >= state.timeMs. From the initial state this is the
/// issue's sum plus P(T before the first finish) / C. `confidence` holds K
/// values (the predicted or observed confidence of each branch, the proxy
/// for its probability of being right).
double expectedAccuracy(const ExecutionProfile& profile, const ForcedExitDistribution& distribution,
                        const double* confidence, ExitMask plan, const PlanState& state);

/// The search algorithms for a plan.
enum class SearchMethod {
    Hybrid,     ///< EINet: enumerate the first m undecided branches, greedy for the rest
    Greedy,     ///< branch by branch, keep the choice that scores better with every later branch run
    Random,     ///< EINet's baseline: the best of `randomPlans` uniformly random plans
    Enumerate,  ///< every plan (2^R for R undecided branches); the ground truth, R <= 24
};

/// "hybrid", "greedy", "random", "enumerate".
std::string searchMethodName(SearchMethod method);
/// The inverse of searchMethodName; Error naming unknown text.
SearchMethod parseSearchMethod(const std::string& name);

/// Settings of the search.
struct SearchOptions {
    int64_t enumerate = 4;     ///< m of the hybrid search (0: pure greedy)
    int64_t randomPlans = 16;  ///< plans drawn by the random search
};

/// A plan and its expected accuracy (conditioned on T >= state.timeMs).
struct PlanResult {
    ExitMask plan = 0;
    double expectedAccuracy = 0.0;
};

/// Searches the plan for the branches at or after state.next that
/// maximises expectedAccuracy. Random search draws from `rng` (required for
/// it, ignored otherwise). Ties keep the plan found first, so the same
/// inputs always give the same plan. Error for more than 64 exits, more
/// than 24 undecided branches to enumerate, negative options or a missing rng.
PlanResult searchPlan(const ExecutionProfile& profile, const ForcedExitDistribution& distribution,
                      const double* confidence, const PlanState& state, SearchMethod method,
                      const SearchOptions& options = {}, std::mt19937_64* rng = nullptr);

}  // namespace exitscope::core
