#pragma once

#include "core/common/progress.h"
#include "core/elastic/distribution.h"
#include "core/elastic/exec_profile.h"
#include "core/elastic/planner.h"
#include "core/elastic/predictor.h"
#include "core/trace/trace.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace exitscope::core {

/// One (re-)plan of the online planner: when it was made, the confidences
/// it planned with (observed where known, predicted elsewhere), the plan
/// for the branches not yet passed and its expected accuracy.
struct ElasticStep {
    double timeMs = 0.0;
    std::vector<float> confidence;  ///< [K]
    ExitMask plan = 0;
    double expectedAccuracy = 0.0;  ///< conditioned on the forced exit not having come by timeMs
};

/// What one sample runs under a strategy: the branches that ran, in order,
/// and when each finished. The run does not depend on the forced-exit time
/// T (T only cuts it short), so one run answers every T: the answer is the
/// latest branch finished by T (see answerIndex).
struct ElasticRun {
    std::vector<int64_t> exits;
    std::vector<double> finishMs;
    std::vector<ElasticStep> steps;  ///< online runs only: every (re-)plan
    int64_t searches = 0;            ///< online runs only: plan searches made
};

/// Index into run.exits of the branch that answers at forced-exit time T
/// (the latest with finishMs <= T), or -1 when none has finished.
int64_t answerIndex(const ElasticRun& run, double forcedExitMs);

/// The EINet online planner for one sample: plan with the predicted
/// confidences, run up to the next planned branch, replace its prediction
/// with its true confidence (`trueConfidence`, K values), let the predictor
/// refresh the rest, search the remaining plan again; until no planned
/// branch is left. `rng` is needed by random search only.
ElasticRun runOnline(const ExecutionProfile& profile, const ForcedExitDistribution& distribution,
                     const ConfidencePredictor& predictor, const float* trueConfidence, SearchMethod method,
                     const SearchOptions& options = {}, std::mt19937_64* rng = nullptr);

/// A fixed plan run to the end (static plans, the final classifier alone).
ElasticRun runFixedPlan(const ExecutionProfile& profile, ExitMask plan);

/// A confidence plan: every branch runs until one reaches `threshold`
/// (true confidence >= threshold); then only the backbone and the final
/// branch run.
ElasticRun runConfidencePlan(const ExecutionProfile& profile, const float* trueConfidence, double threshold);

/// Settings of evaluateElastic.
struct ElasticEvalOptions {
    int64_t timesPerSample = 20;  ///< forced-exit times drawn per test sample
    uint64_t seed = 0;            ///< the times and the random search
    SearchOptions search;         ///< m of the hybrid search, plans of the random search
    int64_t threads = 0;          ///< worker threads; 0: one per core, at most 4
    int64_t maxSamples = 0;       ///< evaluate only the first N test samples (0: all)
    ProgressFn progress;          ///< called on the calling thread
    const CancelFlag* cancel = nullptr;
};

/// One strategy's result over every (sample, forced-exit time) pair.
struct ElasticMethodResult {
    std::string key;                ///< stable id: "einet", "static-25", "confidence-90", "oracle", ...
    std::string name;               ///< for tables: "EINet (hybrid m=4 + predictor)", ...
    double accuracy = 0.0;          ///< mean over the drawn times (a sample without an answer counts 1 / C)
    double expectedAccuracy = 0.0;  ///< the same averaged exactly over the distribution of T (no sampling noise)
    double meanBranchesRun = 0.0;   ///< branches a sample runs when never stopped
    double meanAnswered = 0.0;      ///< branches finished by T, on average over the drawn times
    double replansPerSample = 0.0;  ///< online strategies: searches per sample
};

/// EINet's comparison table on a test trace.
struct ElasticEvaluation {
    int64_t numSamples = 0;
    int64_t timesPerSample = 0;
    double fullMs = 0.0;            ///< every branch run: the reference of deadlines given as fractions
    double meanForcedExitMs = 0.0;  ///< mean of the drawn times
    std::vector<ElasticMethodResult> rows;

    /// The row with `key`; Error when there is none.
    const ElasticMethodResult& row(const std::string& key) const;
};

/// Runs every strategy on every test sample against the sample's real
/// per-exit correctness (argmax == label) and confidences (max softmax) for
/// timesPerSample forced-exit times drawn from `distribution` with `seed`
/// (the same times for every strategy). Rows: EINet (hybrid + predictor),
/// greedy + predictor, hybrid with the mean profile and no predictor,
/// random search + predictor, static plans (first 25, 50, 100% of exits),
/// confidence plans (90, 95, 99%), the final classifier alone, the oracle
/// (right whenever some right exit could have finished by T alone,
/// else 1 / C). The result depends only on the inputs and the seed, not on
/// the number of threads. Error when the trace and profile disagree.
ElasticEvaluation evaluateElastic(const Trace& test, const ExecutionProfile& profile,
                                  const ForcedExitDistribution& distribution, const ConfidencePredictor& predictor,
                                  const ElasticEvalOptions& options = {});

}  // namespace exitscope::core
