#pragma once

#include "core/trace/trace.h"

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// Where each sample of a trace leaves and what it answers there.
struct ExitOutcome {
    std::vector<int64_t> exitTaken;   ///< [N], the exit that answered
    std::vector<int64_t> prediction;  ///< [N], argmax of that exit's probabilities
};

/// Index of the largest of `n` values (the first one on ties).
int64_t argmaxOf(const float* values, int64_t n);

/// Checks SPINN-style thresholds for a model with `numExits` exits: K-1
/// values (one per non-final exit) or K (the last ignored), each in [0, 1].
/// Error naming the bad value otherwise.
void checkThresholds(const std::vector<float>& thresholds, int64_t numExits);

/// SPINN's rule on a trace: a sample leaves at the first exit whose max
/// softmax is >= that exit's threshold; the final exit always answers.
ExitOutcome applyConfidenceThresholds(const Trace& trace, const std::vector<float>& thresholds);

/// Accuracy of each exit on its own (argmax against labels, the lowest class
/// on a tie); NaN for every exit of a trace without samples.
std::vector<double> perExitAccuracy(const Trace& trace);

/// Accuracy of an outcome against the trace's labels (NaN without samples).
double outcomeAccuracy(const Trace& trace, const ExitOutcome& outcome);

/// Mean cumulative MACs per sample of an outcome (exit_macs of the exit
/// taken; NaN without samples).
double outcomeMeanMacs(const Trace& trace, const ExitOutcome& outcome);

// ---------------------------------------------------------------------------
// SPINN confidence policy with selectable criteria, precomputed scores,
// summaries for sliders and fast global-threshold sweeps.
// ---------------------------------------------------------------------------

/// How confident one exit's class distribution p (C classes) is; every
/// criterion is in [0, 1] and higher means more confident.
enum class ConfidenceCriterion {
    MaxSoftmax,  ///< max_c p_c
    Entropy,     ///< 1 - H(p) / log(C), H in nats (1 when C = 1)
    Margin,      ///< p_top1 - p_top2 (p_top1 when C = 1)
};

/// "max-softmax", "entropy" or "margin", as in configs and on the CLI.
std::string criterionName(ConfidenceCriterion criterion);

/// The inverse of criterionName; Error naming the text when it is unknown.
ConfidenceCriterion parseCriterion(const std::string& name);

/// The confidence of one distribution of `numClasses` probabilities.
float confidenceScore(const float* probs, int64_t numClasses, ConfidenceCriterion criterion);

/// A SPINN confidence policy: a sample leaves at the first exit whose score
/// is >= that exit's threshold; the final exit always answers.
struct ConfidencePolicy {
    ConfidenceCriterion criterion = ConfidenceCriterion::MaxSoftmax;
    /// One global value, K-1 values (one per non-final exit) or K (the last
    /// ignored); each in [0, 1].
    std::vector<float> thresholds;
    /// Empty, or one temperature per exit (> 0): the scores are then taken
    /// on temperature-scaled probabilities (see calibration.h).
    std::vector<float> temperatures;
};

/// Checks a policy for a model with `numExits` exits; Error naming the bad
/// count or value (threshold outside [0, 1] or NaN, temperature <= 0).
void checkPolicy(const ConfidencePolicy& policy, int64_t numExits);

/// Expands checked thresholds (1 global, K-1 or K values) to K-1 values.
std::vector<float> thresholdsPerExit(const std::vector<float>& thresholds, int64_t numExits);

/// Per (sample, exit) score and prediction of one criterion, computed once
/// from a trace so that evaluating thresholds afterwards touches only N*K
/// floats. Predictions are the argmax of the raw probabilities (temperature
/// scaling never changes it).
struct ConfidenceScores {
    int64_t numSamples = 0;  ///< N
    int64_t numExits = 0;    ///< K
    ConfidenceCriterion criterion = ConfidenceCriterion::MaxSoftmax;
    std::vector<float> temperatures;   ///< as given (empty: none)
    std::vector<float> scores;         ///< [N, K]
    std::vector<int64_t> predictions;  ///< [N, K]
    std::vector<uint8_t> correct;      ///< [N, K], prediction == label
    std::vector<int64_t> exitMacs;     ///< [K] copied from the trace (empty when it has none)
    std::vector<float> exitMs;         ///< [K] copied from the trace (empty when it has none)

    float score(int64_t n, int64_t k) const { return scores[static_cast<std::size_t>(n * numExits + k)]; }
};

/// Scores every (sample, exit) of a trace; Error when the trace's arrays
/// disagree with N, K, C or a temperature is not > 0.
ConfidenceScores computeScores(const Trace& trace, ConfidenceCriterion criterion,
                               const std::vector<float>& temperatures = {});

/// The policy applied directly to a trace.
ExitOutcome evaluate(const Trace& trace, const ConfidencePolicy& policy);

/// The policy's thresholds (1 global, K-1 or K values) applied to scores
/// computed beforehand with the policy's criterion and temperatures.
ExitOutcome evaluate(const ConfidenceScores& scores, const std::vector<float>& thresholds);

/// What a slider needs from one evaluation, without per-sample vectors.
struct ConfidenceSummary {
    int64_t numSamples = 0;
    int64_t numCorrect = 0;
    double accuracy = 0;                  ///< NaN without samples
    double meanMacs = 0;                  ///< NaN without samples or exit_macs
    double meanMs = 0;                    ///< NaN without samples or exit_ms
    std::vector<int64_t> exitHistogram;   ///< [K], samples leaving at each exit
    std::vector<int64_t> correctPerExit;  ///< [K], correct samples among them
};

/// Accuracy, mean cost and exit histogram of thresholds on precomputed scores.
ConfidenceSummary summarize(const ConfidenceScores& scores, const std::vector<float>& thresholds);

/// One global threshold per grid point and what it gives.
struct ThresholdSweep {
    std::vector<float> thresholds;        ///< [G], the grid as given
    std::vector<double> accuracy;         ///< [G]
    std::vector<double> meanMacs;         ///< [G]
    std::vector<double> meanMs;           ///< [G]
    std::vector<int64_t> exitHistograms;  ///< [G, K]
};

/// `count` >= 2 thresholds evenly spaced from 0 to 1 inclusive.
std::vector<float> uniformThresholdGrid(int64_t count);

/// Evaluates every global threshold of `grid` (any order, each in [0, 1])
/// at once: exact, equal to summarize() at each grid point, but in
/// O(N K log G + G K) instead of G full evaluations.
ThresholdSweep sweepGlobalThresholds(const ConfidenceScores& scores, const std::vector<float>& grid);

} // namespace exitscope::core
