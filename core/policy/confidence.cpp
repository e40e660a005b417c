#include "core/policy/confidence.h"

#include "core/common/error.h"

#include <cmath>
#include <sstream>

namespace exitscope::core {

int64_t argmaxOf(const float* values, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
        if (values[i] > values[best]) best = i;
    return best;
}

void checkThresholds(const std::vector<float>& thresholds, int64_t numExits) {
    const auto n = static_cast<int64_t>(thresholds.size());
    if (n != numExits - 1 && n != numExits) {
        std::ostringstream os;
        os << n << " thresholds given for a model with " << numExits << " exits (need " << numExits - 1 << ")";
        throw Error(os.str());
    }
    for (int64_t k = 0; k < n; ++k) {
        const float t = thresholds[static_cast<std::size_t>(k)];
        if (!std::isfinite(t) || t < 0.0f || t > 1.0f) {
            std::ostringstream os;
            os << "threshold " << t << " for exit " << k << " is outside [0, 1]";
            throw Error(os.str());
        }
    }
}

ExitOutcome applyConfidenceThresholds(const Trace& trace, const std::vector<float>& thresholds) {
    checkThresholds(thresholds, trace.numExits);
    ExitOutcome out;
    const auto N = static_cast<std::size_t>(trace.numSamples);
    out.exitTaken.resize(N);
    out.prediction.resize(N);
    for (int64_t n = 0; n < trace.numSamples; ++n) {
        for (int64_t k = 0; k < trace.numExits; ++k) {
            const float* p = trace.probsOf(n, k);
            const int64_t best = argmaxOf(p, trace.numClasses);
            if (k == trace.numExits - 1 || p[best] >= thresholds[static_cast<std::size_t>(k)]) {
                out.exitTaken[static_cast<std::size_t>(n)] = k;
                out.prediction[static_cast<std::size_t>(n)] = best;
                break;
            }
        }
    }
    return out;
}

std::vector<double> perExitAccuracy(const Trace& trace) {
    std::vector<double> acc(static_cast<std::size_t>(trace.numExits), std::nan(""));
    if (trace.numSamples == 0) return acc;
    for (int64_t k = 0; k < trace.numExits; ++k) {
        int64_t correct = 0;
        for (int64_t n = 0; n < trace.numSamples; ++n)
            correct += argmaxOf(trace.probsOf(n, k), trace.numClasses) == trace.labels[static_cast<std::size_t>(n)];
        acc[static_cast<std::size_t>(k)] = static_cast<double>(correct) / static_cast<double>(trace.numSamples);
    }
    return acc;
}

double outcomeAccuracy(const Trace& trace, const ExitOutcome& outcome) {
    if (trace.numSamples == 0) return std::nan("");
    int64_t correct = 0;
    for (std::size_t n = 0; n < outcome.prediction.size(); ++n) correct += outcome.prediction[n] == trace.labels[n];
    return static_cast<double>(correct) / static_cast<double>(trace.numSamples);
}

double outcomeMeanMacs(const Trace& trace, const ExitOutcome& outcome) {
    if (outcome.exitTaken.empty()) return std::nan("");
    double sum = 0;
    for (auto k : outcome.exitTaken) sum += static_cast<double>(trace.exitMacs[static_cast<std::size_t>(k)]);
    return sum / static_cast<double>(outcome.exitTaken.size());
}

} // namespace exitscope::core
