#pragma once

#include "core/policy/confidence.h"
#include "core/trace/trace.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <utility>
#include <vector>

namespace exitscope::core {

/// Mean, median and 95th percentile of a per-sample cost. Percentiles use the
/// nearest-rank definition: the p-th percentile of n sorted values is the
/// value at 1-based rank ceil(p/100 * n), i.e. the smallest value that at
/// least p% of the samples do not exceed. It is always a cost some sample
/// really paid (an exit's cost); for even n the median is the lower of the
/// two middle values. NaN without samples.
struct CostSummary {
    double mean = 0.0;
    double median = 0.0;
    double p95 = 0.0;
};

/// Everything ExitScope reports about one policy's outcome on a trace.
struct OutcomeMetrics {
    int64_t n = 0;                                ///< samples
    int64_t numExits = 0;                         ///< K
    int64_t numClasses = 0;                       ///< C
    double accuracy = 0.0;                        ///< fraction answered correctly (NaN without samples)
    CostSummary macs;                             ///< cumulative MACs of the exit taken
    CostSummary paramFraction;                    ///< exit_params[k] / exit_params[K-1] of the exit taken
    CostSummary ms;                               ///< measured exit_ms of the exit taken
    std::vector<int64_t> exitHistogram;           ///< [K], samples that left at each exit
    std::vector<double> exitAccuracy;             ///< [K], accuracy of the samples that left there (NaN if none)
    std::vector<std::vector<int64_t>> confusion;  ///< [C][C], rows the true label, columns the prediction
    std::vector<double> classMeanExit;            ///< [C], mean exit index of each true class (NaN if absent)
};

/// Nearest-rank percentile (see CostSummary) of values given as (value,
/// count) pairs in any order; p in [0, 100] (p = 0 gives the smallest value
/// with a positive count). NaN when the counts sum to 0. Error for p outside
/// [0, 100] or a negative count.
double nearestRankPercentile(std::vector<std::pair<double, int64_t>> valueCounts, double p);

/// Evaluates an outcome on the trace it was made from. Error when the outcome
/// does not match the trace (sizes, exit or class out of range) or the trace
/// lacks exit_macs, exit_params or exit_ms for its exits.
OutcomeMetrics evaluateOutcome(const Trace& trace, const ExitOutcome& outcome);

/// The metrics as JSON, with keys n, accuracy, mean_macs, median_macs,
/// p95_macs, mean_param_fraction, median_param_fraction, p95_param_fraction,
/// mean_ms, median_ms, p95_ms, exit_histogram, exit_accuracy,
/// confusion_matrix, class_mean_exit (NaN written as null).
nlohmann::json toJson(const OutcomeMetrics& metrics);

} // namespace exitscope::core
