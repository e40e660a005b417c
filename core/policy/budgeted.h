#pragma once

#include "core/policy/confidence.h"
#include "core/trace/trace.h"

#include <cstdint>
#include <vector>

namespace exitscope::core {

/// The threshold given to an exit that must let no sample leave: the smallest
/// float above 1, which no softmax probability reaches. A finite value, so a
/// tuned config can store it in JSON.
float closedExitThreshold();

/// MSDNet's exit fractions for a model with `numExits` exits:
/// q_k = z (1-q)^k q for k = 0..K-1 (the paper's k-1 with exits counted from
/// 0), z normalising them to sum to 1. q = 1 sends everything to exit 0,
/// q = 0 is the limit 1/K for every exit, q < 0 (a ratio 1-q above 1, as
/// MSDNet's reference code uses) shifts the mass towards the deep exits, and
/// q = -infinity sends everything to the last exit. Error when q is NaN or
/// above 1, or numExits < 1.
std::vector<double> budgetedExitFractions(double q, int64_t numExits);

/// Expected cost per sample, sum_k fractions[k] * exitMacs[k]. Error when the
/// sizes differ.
double expectedExitCost(const std::vector<double>& fractions, const std::vector<int64_t>& exitMacs);

/// Solves q so that sum_k q_k C_k equals `budgetPerSample`, C_k =
/// exitMacs[k] (cumulative, so non-decreasing). The expected cost falls
/// monotonically as q rises, from C_{K-1} (q = -infinity) through the mean of
/// the C_k (q = 0) to C_0 (q = 1), so every budget in [C_0, C_{K-1}] has a
/// solution, found by bisection. The boundaries are exact: a budget of C_0
/// gives q = 1 (also when every exit costs the same), one of C_{K-1} > C_0
/// gives q = -infinity. Error naming the budget and the range [C_0, C_{K-1}]
/// for a budget outside it (or NaN), and for exitMacs that are empty,
/// negative or decreasing.
double solveBudgetedQ(const std::vector<int64_t>& exitMacs, double budgetPerSample);

/// The result of fitting MSDNet's budgeted batch policy on a validation trace.
struct BudgetedBatchFit {
    double q = 1.0;                     ///< solved q (may be <= 0; -infinity for the full network)
    std::vector<double> exitFractions;  ///< q_k, [K], summing to 1
    std::vector<float> thresholds;      ///< theta_k, [K-1]; exit k takes samples with max softmax >= theta_k
    double budgetPerSample = 0.0;       ///< B / N in MACs, as asked
    double realisedValCost = 0.0;       ///< mean MACs per sample when the thresholds run on the validation trace
};

/// Fits the budgeted batch policy for an average budget per sample (MACs):
/// solves q, then processes the exits in order; at exit k, among the
/// validation samples still running, the round(N_val * sum_{j<=k} q_j) -
/// (samples gone so far) most confident (max softmax) leave, and theta_k is
/// the confidence of the least confident of them. Samples tied with theta_k
/// leave with it, exactly as the thresholds will decide at test time, so an
/// exit can take a few more than N_val * q_k when confidences tie. An exit
/// that should take nobody gets closedExitThreshold(). The final exit takes
/// the rest. Error for an empty validation trace or an infeasible budget
/// (see solveBudgetedQ).
BudgetedBatchFit fitBudgetedBatch(const Trace& validation, double budgetPerSample);

/// The same fit from precomputed max-softmax confidences ([N, K], sample
/// major) and the cumulative exit MACs, so that callers refitting for many
/// budgets (a slider) read the probabilities only once.
BudgetedBatchFit fitBudgetedBatch(const std::vector<float>& maxConfidence, int64_t numSamples,
                                  const std::vector<int64_t>& exitMacs, double budgetPerSample);

/// The same for a total budget B spent on `numSamples` samples: the average
/// budget is B / numSamples. Error when numSamples < 1.
BudgetedBatchFit fitBudgetedBatchTotal(const Trace& validation, double totalBudget, int64_t numSamples);

/// A budgeted batch policy run on a (test) trace, with its cost next to the budget.
struct BudgetedBatchResult {
    ExitOutcome outcome;           ///< where each sample left and its prediction
    double budgetPerSample = 0.0;  ///< the budget the fit was made for (MACs per sample)
    double realisedCost = 0.0;     ///< the mean MACs per sample actually spent (NaN without samples)
};

/// Runs fitted thresholds on a trace: a sample leaves at the first exit whose
/// max softmax is >= theta_k; the final exit takes the rest. Error when the
/// fit's thresholds do not match the trace's exits.
BudgetedBatchResult evaluateBudgetedBatch(const Trace& test, const BudgetedBatchFit& fit);

/// The same rule on precomputed max-softmax scores of the test trace
/// (computeScores with MaxSoftmax and no temperatures): no pass over the
/// probabilities. Error when the fit's thresholds do not match the exits or
/// the scores are of another criterion.
ExitOutcome evaluateBudgetedBatch(const ConfidenceScores& maxSoftmax, const BudgetedBatchFit& fit);

} // namespace exitscope::core
