#include "core/policy/baselines.h"

#include "core/common/error.h"

namespace exitscope::core {
namespace {

std::size_t sz(int64_t v) { return static_cast<std::size_t>(v); }

void checkArrays(const Trace& trace, const char* what) {
    const int64_t N = trace.numSamples, K = trace.numExits, C = trace.numClasses;
    if (N < 0 || K < 1 || C < 1 || trace.probs.size() != sz(N * K * C) || trace.labels.size() != sz(N)) {
        throw Error(std::string(what) + ": trace arrays disagree with N=" + std::to_string(N) +
                    " K=" + std::to_string(K) + " C=" + std::to_string(C) + " (probs has " +
                    std::to_string(trace.probs.size()) + " values, labels " + std::to_string(trace.labels.size()) +
                    ")");
    }
}

} // namespace

ExitOutcome staticExit(const Trace& trace, int64_t exit) {
    checkArrays(trace, "static exit");
    if (exit < 0 || exit >= trace.numExits) {
        throw Error("static exit: exit " + std::to_string(exit) + " is outside [0, " + std::to_string(trace.numExits) +
                    ")");
    }
    ExitOutcome out;
    out.exitTaken.assign(sz(trace.numSamples), exit);
    out.prediction.resize(sz(trace.numSamples));
    for (int64_t n = 0; n < trace.numSamples; ++n)
        out.prediction[sz(n)] = argmaxOf(trace.probsOf(n, exit), trace.numClasses);
    return out;
}

ExitOutcome oracleExit(const Trace& trace) {
    checkArrays(trace, "oracle");
    const int64_t K = trace.numExits, C = trace.numClasses;
    ExitOutcome out;
    out.exitTaken.resize(sz(trace.numSamples));
    out.prediction.resize(sz(trace.numSamples));
    for (int64_t n = 0; n < trace.numSamples; ++n) {
        int64_t k = 0, prediction = 0;
        for (;; ++k) {
            prediction = argmaxOf(trace.probsOf(n, k), C);
            if (prediction == trace.labels[sz(n)] || k == K - 1) break;
        }
        out.exitTaken[sz(n)] = k;
        out.prediction[sz(n)] = prediction;
    }
    return out;
}

} // namespace exitscope::core
