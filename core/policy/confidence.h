#pragma once

#include "core/trace/trace.h"

#include <cstdint>
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

} // namespace exitscope::core
