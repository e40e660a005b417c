#include "core/policy/confidence.h"

#include "core/common/error.h"
#include "core/policy/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <utility>

namespace exitscope::core {
namespace {

std::size_t sz(int64_t v) { return static_cast<std::size_t>(v); }

void checkThresholdValue(float t, int64_t k) {
    if (!std::isfinite(t) || t < 0.0f || t > 1.0f) {
        std::ostringstream os;
        os << "threshold " << t << " for exit " << k << " is outside [0, 1]";
        throw Error(os.str());
    }
}

// Policies also run on hand-built and partial traces (tests, subsets of a
// trace), so only the arrays they read are checked, not all of Trace::validate.
void checkShape(const Trace& trace) {
    const int64_t N = trace.numSamples, K = trace.numExits, C = trace.numClasses;
    if (N < 0 || K < 1 || C < 1) {
        std::ostringstream os;
        os << "trace: invalid dimensions N=" << N << " K=" << K << " C=" << C;
        throw Error(os.str());
    }
    if (trace.probs.size() != sz(N * K * C) || trace.labels.size() != sz(N)) {
        std::ostringstream os;
        os << "trace: probs has " << trace.probs.size() << " values and labels " << trace.labels.size()
           << ", expected N*K*C = " << N * K * C << " and N = " << N;
        throw Error(os.str());
    }
    for (auto [name, size] : {std::pair{"exit_macs", trace.exitMacs.size()}, std::pair{"exit_ms", trace.exitMs.size()}})
        if (size != 0 && size != sz(K))
            throw Error(std::string("trace: ") + name + " has " + std::to_string(size) +
                        " values, expected K = " + std::to_string(K));
}

// Thresholds as K values with the final exit's set to -inf, so the exit loop
// `while (score < thr[k]) ++k` needs no bounds test: every score passes it.
std::vector<float> loopThresholds(const std::vector<float>& thresholds, int64_t numExits) {
    std::vector<float> thr = thresholdsPerExit(thresholds, numExits);
    thr.push_back(-std::numeric_limits<float>::infinity());
    return thr;
}

// Accuracy and mean costs from a histogram. summarize() and the sweep both
// finish through here, so the sweep equals summarize() bit for bit.
void finish(const int64_t* hist, const int64_t* correct, const ConfidenceScores& s, ConfidenceSummary& out) {
    const int64_t K = s.numExits;
    const double nan = std::nan("");
    double macs = 0, ms = 0;
    out.numCorrect = 0;
    for (int64_t k = 0; k < K; ++k) {
        out.numCorrect += correct[k];
        if (!s.exitMacs.empty()) macs += static_cast<double>(hist[k]) * static_cast<double>(s.exitMacs[sz(k)]);
        if (!s.exitMs.empty()) ms += static_cast<double>(hist[k]) * static_cast<double>(s.exitMs[sz(k)]);
    }
    const auto N = static_cast<double>(s.numSamples);
    out.numSamples = s.numSamples;
    out.accuracy = s.numSamples > 0 ? static_cast<double>(out.numCorrect) / N : nan;
    out.meanMacs = s.numSamples > 0 && !s.exitMacs.empty() ? macs / N : nan;
    out.meanMs = s.numSamples > 0 && !s.exitMs.empty() ? ms / N : nan;
}

// Four independent running maxima instead of one chain: the comparisons no
// longer wait on each other. max is exact, so the value equals the plain loop's.
float maxOf(const float* p, int64_t C) {
    float m0 = p[0], m1 = p[0], m2 = p[0], m3 = p[0];
    int64_t c = 1;
    for (; c + 4 <= C; c += 4) {
        m0 = std::max(m0, p[c]);
        m1 = std::max(m1, p[c + 1]);
        m2 = std::max(m2, p[c + 2]);
        m3 = std::max(m3, p[c + 3]);
    }
    for (; c < C; ++c) m0 = std::max(m0, p[c]);
    return std::max(std::max(m0, m1), std::max(m2, m3));
}

// std::upper_bound over grid[lo, end): the first index whose value is > x.
// The halving step is a conditional move, not a branch; scores jump around
// the grid unpredictably, so this is what makes the sweep fast.
int64_t upperBound(const float* grid, int64_t lo, int64_t end, float x) {
    int64_t len = end - lo;
    if (len <= 0) return lo;
    const float* base = grid + lo;
    while (len > 1) {
        const int64_t half = len / 2;
        base = base[half] <= x ? base + half : base;
        len -= half;
    }
    return (base - grid) + (*base <= x ? 1 : 0);
}

} // namespace

int64_t argmaxOf(const float* values, int64_t n) {
    // Conditional moves rather than a branch: where the maximum sits is
    // unpredictable, and mispredictions made this loop the policies' hot spot.
    float top = values[0];
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i) {
        const bool higher = values[i] > top;
        top = higher ? values[i] : top;
        best = higher ? i : best;
    }
    return best;
}

void checkThresholds(const std::vector<float>& thresholds, int64_t numExits) {
    const auto n = static_cast<int64_t>(thresholds.size());
    if (n != numExits - 1 && n != numExits) {
        std::ostringstream os;
        os << n << " thresholds given for a model with " << numExits << " exits (need " << numExits - 1 << ")";
        throw Error(os.str());
    }
    for (int64_t k = 0; k < n; ++k) checkThresholdValue(thresholds[sz(k)], k);
}

ExitOutcome applyConfidenceThresholds(const Trace& trace, const std::vector<float>& thresholds) {
    checkThresholds(thresholds, trace.numExits);
    return evaluate(trace, ConfidencePolicy{ConfidenceCriterion::MaxSoftmax, thresholds, {}});
}

std::vector<double> perExitAccuracy(const Trace& trace) {
    std::vector<double> acc(sz(trace.numExits), std::nan(""));
    if (trace.numSamples == 0) return acc;
    for (int64_t k = 0; k < trace.numExits; ++k) {
        int64_t correct = 0;
        for (int64_t n = 0; n < trace.numSamples; ++n)
            correct += argmaxOf(trace.probsOf(n, k), trace.numClasses) == trace.labels[sz(n)];
        acc[sz(k)] = static_cast<double>(correct) / static_cast<double>(trace.numSamples);
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
    for (auto k : outcome.exitTaken) sum += static_cast<double>(trace.exitMacs[sz(k)]);
    return sum / static_cast<double>(outcome.exitTaken.size());
}

std::string criterionName(ConfidenceCriterion criterion) {
    switch (criterion) {
        case ConfidenceCriterion::MaxSoftmax:
            return "max-softmax";
        case ConfidenceCriterion::Entropy:
            return "entropy";
        case ConfidenceCriterion::Margin:
            return "margin";
    }
    return "unknown";
}

ConfidenceCriterion parseCriterion(const std::string& name) {
    for (auto c : {ConfidenceCriterion::MaxSoftmax, ConfidenceCriterion::Entropy, ConfidenceCriterion::Margin})
        if (criterionName(c) == name) return c;
    throw Error("unknown confidence criterion '" + name + "' (known: max-softmax, entropy, margin)");
}

float confidenceScore(const float* p, int64_t C, ConfidenceCriterion criterion) {
    switch (criterion) {
        case ConfidenceCriterion::MaxSoftmax: {
            return maxOf(p, C);
        }
        case ConfidenceCriterion::Entropy: {
            if (C == 1) return 1.0f;
            double h = 0;
            for (int64_t c = 0; c < C; ++c)
                if (p[c] > 0.0f) h -= static_cast<double>(p[c]) * std::log(static_cast<double>(p[c]));
            // Rounding (probabilities summing to 1 +- eps) may step just past [0, 1].
            return static_cast<float>(std::clamp(1.0 - h / std::log(static_cast<double>(C)), 0.0, 1.0));
        }
        case ConfidenceCriterion::Margin: {
            float top = p[0], second = 0.0f;
            for (int64_t c = 1; c < C; ++c) {
                if (p[c] > top) {
                    second = top;
                    top = p[c];
                } else if (p[c] > second) {
                    second = p[c];
                }
            }
            return std::clamp(top - second, 0.0f, 1.0f);
        }
    }
    return 0.0f;
}

void checkPolicy(const ConfidencePolicy& policy, int64_t numExits) {
    const auto n = static_cast<int64_t>(policy.thresholds.size());
    if (n != 1 && n != numExits - 1 && n != numExits) {
        std::ostringstream os;
        os << n << " thresholds given for a model with " << numExits << " exits (need 1 global or " << numExits - 1
           << " per exit)";
        throw Error(os.str());
    }
    for (int64_t k = 0; k < n; ++k) checkThresholdValue(policy.thresholds[sz(k)], k);
    checkTemperatures(policy.temperatures, numExits);
}

std::vector<float> thresholdsPerExit(const std::vector<float>& thresholds, int64_t numExits) {
    checkPolicy(ConfidencePolicy{ConfidenceCriterion::MaxSoftmax, thresholds, {}}, numExits);
    if (numExits <= 1) return {};
    if (thresholds.size() == 1) return std::vector<float>(sz(numExits - 1), thresholds[0]);
    return std::vector<float>(thresholds.begin(), thresholds.begin() + (numExits - 1));
}

ConfidenceScores computeScores(const Trace& trace, ConfidenceCriterion criterion,
                               const std::vector<float>& temperatures) {
    checkShape(trace);
    checkTemperatures(temperatures, trace.numExits);
    const int64_t N = trace.numSamples, K = trace.numExits, C = trace.numClasses;
    ConfidenceScores s;
    s.numSamples = N;
    s.numExits = K;
    s.criterion = criterion;
    s.temperatures = temperatures;
    s.scores.resize(sz(N * K));
    s.predictions.resize(sz(N * K));
    s.correct.resize(sz(N * K));
    s.exitMacs = trace.exitMacs;
    s.exitMs = trace.exitMs;
    std::vector<float> scaled(sz(C));
    for (int64_t n = 0; n < N; ++n) {
        for (int64_t k = 0; k < K; ++k) {
            const float* p = trace.probsOf(n, k);
            const auto i = sz(n * K + k);
            s.predictions[i] = argmaxOf(p, C);
            s.correct[i] = s.predictions[i] == trace.labels[sz(n)];
            if (!temperatures.empty()) {
                temperatureScale(p, C, temperatures[sz(k)], scaled.data());
                p = scaled.data();
            }
            s.scores[i] = criterion == ConfidenceCriterion::MaxSoftmax && temperatures.empty()
                              ? p[s.predictions[i]]
                              : confidenceScore(p, C, criterion);
        }
    }
    return s;
}

ExitOutcome evaluate(const Trace& trace, const ConfidencePolicy& policy) {
    checkShape(trace);
    checkPolicy(policy, trace.numExits);
    const int64_t N = trace.numSamples, K = trace.numExits, C = trace.numClasses;
    const std::vector<float> thr = loopThresholds(policy.thresholds, K);
    const bool plain = policy.criterion == ConfidenceCriterion::MaxSoftmax && policy.temperatures.empty();
    std::vector<float> scaled(sz(C));
    ExitOutcome out;
    out.exitTaken.resize(sz(N));
    out.prediction.resize(sz(N));
    for (int64_t n = 0; n < N; ++n) {
        int64_t k = 0;
        for (; k < K - 1; ++k) {
            const float* p = trace.probsOf(n, k);
            float score;
            if (plain) {
                // The argmax is needed only at the exit taken.
                score = maxOf(p, C);
            } else {
                if (!policy.temperatures.empty()) {
                    temperatureScale(p, C, policy.temperatures[sz(k)], scaled.data());
                    p = scaled.data();
                }
                score = confidenceScore(p, C, policy.criterion);
            }
            if (!(score < thr[sz(k)])) break;
        }
        out.exitTaken[sz(n)] = k;
        out.prediction[sz(n)] = argmaxOf(trace.probsOf(n, k), C);
    }
    return out;
}

ExitOutcome evaluate(const ConfidenceScores& scores, const std::vector<float>& thresholds) {
    const int64_t N = scores.numSamples, K = scores.numExits;
    const std::vector<float> thr = loopThresholds(thresholds, K);
    ExitOutcome out;
    out.exitTaken.resize(sz(N));
    out.prediction.resize(sz(N));
    const float* s = scores.scores.data();
    const float* t = thr.data();
    for (int64_t n = 0; n < N; ++n, s += K) {
        int64_t k = 0;
        while (s[k] < t[k]) ++k;
        out.exitTaken[sz(n)] = k;
        out.prediction[sz(n)] = scores.predictions[sz(n * K + k)];
    }
    return out;
}

ConfidenceSummary summarize(const ConfidenceScores& scores, const std::vector<float>& thresholds) {
    const int64_t N = scores.numSamples, K = scores.numExits;
    const std::vector<float> thr = loopThresholds(thresholds, K);
    ConfidenceSummary out;
    out.exitHistogram.assign(sz(K), 0);
    out.correctPerExit.assign(sz(K), 0);
    const float* s = scores.scores.data();
    const uint8_t* ok = scores.correct.data();
    const float* t = thr.data();
    int64_t* hist = out.exitHistogram.data();
    int64_t* correct = out.correctPerExit.data();
    for (int64_t n = 0; n < N; ++n, s += K, ok += K) {
        int64_t k = 0;
        while (s[k] < t[k]) ++k;
        ++hist[k];
        correct[k] += ok[k];
    }
    finish(hist, correct, scores, out);
    return out;
}

std::vector<float> uniformThresholdGrid(int64_t count) {
    if (count < 2) throw Error("threshold grid of " + std::to_string(count) + " points: need at least 2");
    std::vector<float> grid(sz(count));
    for (int64_t i = 0; i < count; ++i)
        grid[sz(i)] = static_cast<float>(static_cast<double>(i) / static_cast<double>(count - 1));
    return grid;
}

ThresholdSweep sweepGlobalThresholds(const ConfidenceScores& scores, const std::vector<float>& grid) {
    const int64_t N = scores.numSamples, K = scores.numExits, G = static_cast<int64_t>(grid.size());
    for (int64_t g = 0; g < G; ++g) {
        const float t = grid[sz(g)];
        if (!std::isfinite(t) || t < 0.0f || t > 1.0f) {
            std::ostringstream os;
            os << "sweep threshold " << t << " (grid point " << g << ") is outside [0, 1]";
            throw Error(os.str());
        }
    }
    std::vector<int64_t> order(sz(G));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return grid[sz(a)] < grid[sz(b)]; });
    std::vector<float> sorted(sz(G));
    for (int64_t g = 0; g < G; ++g) sorted[sz(g)] = grid[sz(order[sz(g)])];

    // With a global threshold t, sample n leaves at exit k exactly when
    // max(s_0..s_{k-1}) < t <= s_k: only exits that raise the running maximum
    // ever answer, each over one interval of t. Each such interval becomes a
    // +1 / -1 pair in a difference array over the sorted grid, so the cost is
    // N*K binary searches instead of G passes over the scores.
    std::vector<int64_t> diffHist(sz((G + 1) * K), 0), diffCorrect(sz((G + 1) * K), 0);
    const float* first = sorted.data();
    // Buckets of width 1/1024: x * 1024 is exact in float, so bucket
    // b = floor(x * 1024) holds exactly the x in [b/1024, (b+1)/1024), and the
    // grid points that can separate such x lie in [below[b], below[b+1]): the
    // search shrinks from log2(G) steps to one or two.
    constexpr int64_t kBuckets = 1024;
    std::vector<int64_t> below(sz(kBuckets + 1), G);  // grid points < b/1024; the last bucket also takes 1
    for (int64_t b = 0; b < kBuckets; ++b)
        below[sz(b)] =
            std::lower_bound(sorted.begin(), sorted.end(), static_cast<float>(b) / kBuckets) - sorted.begin();
    for (int64_t n = 0; n < N; ++n) {
        const float* s = scores.scores.data() + n * K;
        const uint8_t* ok = scores.correct.data() + n * K;
        int64_t lo = 0;  // first grid point not answered by an earlier exit
        float runningMax = -std::numeric_limits<float>::infinity();
        for (int64_t k = 0; k + 1 < K && lo < G; ++k) {
            if (!(s[k] > runningMax)) continue;
            const auto b = sz(static_cast<int64_t>(std::clamp(s[k] * float{kBuckets}, 0.0f, float{kBuckets - 1})));
            const int64_t hi = upperBound(first, std::max(lo, below[b]), below[b + 1], s[k]);
            diffHist[sz(lo * K + k)] += 1;
            diffHist[sz(hi * K + k)] -= 1;
            diffCorrect[sz(lo * K + k)] += ok[k];
            diffCorrect[sz(hi * K + k)] -= ok[k];
            lo = hi;
            runningMax = s[k];
        }
        diffHist[sz(lo * K + K - 1)] += 1;  // the rest reach the final exit
        diffCorrect[sz(lo * K + K - 1)] += ok[K - 1];
    }

    ThresholdSweep out;
    out.thresholds = grid;
    out.accuracy.resize(sz(G));
    out.meanMacs.resize(sz(G));
    out.meanMs.resize(sz(G));
    out.exitHistograms.resize(sz(G * K));
    std::vector<int64_t> hist(sz(K), 0), correct(sz(K), 0);
    ConfidenceSummary point;
    for (int64_t g = 0; g < G; ++g) {
        for (int64_t k = 0; k < K; ++k) {
            hist[sz(k)] += diffHist[sz(g * K + k)];
            correct[sz(k)] += diffCorrect[sz(g * K + k)];
        }
        finish(hist.data(), correct.data(), scores, point);
        const auto at = sz(order[sz(g)]);
        std::copy(hist.begin(), hist.end(), out.exitHistograms.begin() + static_cast<std::ptrdiff_t>(at * sz(K)));
        out.accuracy[at] = point.accuracy;
        out.meanMacs[at] = point.meanMacs;
        out.meanMs[at] = point.meanMs;
    }
    return out;
}

} // namespace exitscope::core
