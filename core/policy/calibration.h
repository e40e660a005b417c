#pragma once

#include "core/trace/trace.h"

#include <cstdint>
#include <vector>

namespace exitscope::core {

/// Probabilities are clamped at this floor before taking log(p) as logits,
/// so a probability that underflowed to 0 in float stays finite.
constexpr float kProbabilityFloor = 1e-30f;

/// Default search range of a fitted temperature.
constexpr double kMinTemperature = 0.05;
constexpr double kMaxTemperature = 20.0;

/// Checks per-exit temperatures: empty (none) or K values, each finite and
/// > 0. Error naming the bad count or value otherwise.
void checkTemperatures(const std::vector<float>& temperatures, int64_t numExits);

/// Temperature scaling of one distribution: out = softmax(log(max(p, floor)) / T).
/// Softmax is shift-invariant, so log(p) serves as the exit's logits.
/// `out` may alias `probs`. Error naming T when it is not finite and > 0.
void temperatureScale(const float* probs, int64_t numClasses, double temperature, float* out);

/// Mean negative log-likelihood of the labels under exit k's probabilities
/// scaled by `temperature` (NaN without samples).
double negativeLogLikelihood(const Trace& trace, int64_t exit, double temperature);

/// The temperature T in [minT, maxT] that minimises exit k's negative
/// log-likelihood on `trace` (a validation trace). The NLL is convex in 1/T,
/// so a safeguarded Newton search on its derivative finds the optimum.
/// Error when the trace has no samples or the range is invalid.
double fitTemperature(const Trace& trace, int64_t exit, double minT = kMinTemperature, double maxT = kMaxTemperature);

/// fitTemperature for every exit.
std::vector<float> fitTemperatures(const Trace& trace, double minT = kMinTemperature, double maxT = kMaxTemperature);

/// Rewrites trace.probs with each exit's temperature-scaled probabilities
/// (temperatures: K values, checked).
void applyTemperatures(Trace& trace, const std::vector<float>& temperatures);

/// One equal-width bin of max-softmax confidence: bin b holds confidences
/// in [b/M, (b+1)/M), the last bin also 1.
struct ReliabilityBin {
    int64_t count = 0;
    double meanConfidence = 0;  ///< NaN when empty
    double accuracy = 0;        ///< NaN when empty
};

/// Reliability diagram of one exit and its expected calibration error,
/// ECE = sum_b count_b / N * |accuracy_b - meanConfidence_b|.
struct ReliabilityDiagram {
    std::vector<ReliabilityBin> bins;  ///< [M]
    double ece = 0;                    ///< NaN without samples
};

/// Reliability diagram of every exit with `numBins` bins (>= 1), on the
/// trace's probabilities scaled by `temperatures` (empty: as recorded).
std::vector<ReliabilityDiagram> reliabilityDiagrams(const Trace& trace, int64_t numBins,
                                                    const std::vector<float>& temperatures = {});

/// Temperatures fitted on a validation trace with the calibration before and
/// after, per exit, on that same trace.
struct CalibrationReport {
    std::vector<float> temperatures;          ///< [K]
    std::vector<double> nllBefore, nllAfter;  ///< [K], mean NLL
    std::vector<ReliabilityDiagram> before;   ///< [K]
    std::vector<ReliabilityDiagram> after;    ///< [K]
};

/// Fits per-exit temperatures on `validation` and reports the calibration
/// before and after with `numBins` reliability bins.
CalibrationReport calibrate(const Trace& validation, int64_t numBins = 15);

} // namespace exitscope::core
