#include "core/policy/calibration.h"

#include "core/common/error.h"
#include "core/policy/confidence.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace exitscope::core {
namespace {

std::size_t sz(int64_t v) { return static_cast<std::size_t>(v); }

void checkTemperatureValue(double t, const std::string& what) {
    if (!std::isfinite(t) || t <= 0.0) {
        std::ostringstream os;
        os << what << " " << t << " is not a finite value > 0";
        throw Error(os.str());
    }
}

void checkArrays(const Trace& trace, const char* what) {
    const int64_t N = trace.numSamples, K = trace.numExits, C = trace.numClasses;
    if (N < 0 || K < 1 || C < 1 || trace.probs.size() != sz(N * K * C) || trace.labels.size() != sz(N)) {
        std::ostringstream os;
        os << what << ": trace arrays disagree with N=" << N << " K=" << K << " C=" << C << " (probs has "
           << trace.probs.size() << " values, labels " << trace.labels.size() << ")";
        throw Error(os.str());
    }
}

void checkExit(const Trace& trace, int64_t exit, const char* what) {
    if (exit < 0 || exit >= trace.numExits) {
        throw Error(std::string(what) + ": exit " + std::to_string(exit) + " is outside [0, " +
                    std::to_string(trace.numExits) + ")");
    }
}

// Logits relative to each sample's largest: d_c = log(p_c) - log(p_max) <= 0,
// so exp(d_c / T) never overflows whatever T is.
std::vector<double> relativeLogits(const Trace& trace, int64_t exit) {
    const int64_t N = trace.numSamples, C = trace.numClasses;
    std::vector<double> d(sz(N * C));
    for (int64_t n = 0; n < N; ++n) {
        const float* p = trace.probsOf(n, exit);
        double* row = d.data() + n * C;
        double top = -std::numeric_limits<double>::infinity();
        for (int64_t c = 0; c < C; ++c) {
            row[c] = std::log(static_cast<double>(std::max(p[c], kProbabilityFloor)));
            top = std::max(top, row[c]);
        }
        for (int64_t c = 0; c < C; ++c) row[c] -= top;
    }
    return d;
}

// Sum over samples of NLL(beta) = -beta d_y + log sum_c exp(beta d_c), with
// beta = 1/T, and its first two derivatives in beta (the second is the
// variance of d under the scaled softmax, hence NLL is convex in beta).
struct NllTerms {
    double value = 0, slope = 0, curvature = 0;
};

NllTerms nllTerms(const std::vector<double>& d, const std::vector<int64_t>& labels, int64_t C, double beta) {
    NllTerms t;
    const auto N = static_cast<int64_t>(labels.size());
    for (int64_t n = 0; n < N; ++n) {
        const double* row = d.data() + n * C;
        double z = 0, m1 = 0, m2 = 0;
        for (int64_t c = 0; c < C; ++c) {
            const double w = std::exp(beta * row[c]);
            z += w;
            m1 += w * row[c];
            m2 += w * row[c] * row[c];
        }
        const double mean = m1 / z;
        const double dy = row[labels[sz(n)]];
        t.value += std::log(z) - beta * dy;
        t.slope += mean - dy;
        t.curvature += std::max(0.0, m2 / z - mean * mean);
    }
    return t;
}

} // namespace

void checkTemperatures(const std::vector<float>& temperatures, int64_t numExits) {
    if (temperatures.empty()) return;
    if (static_cast<int64_t>(temperatures.size()) != numExits) {
        throw Error(std::to_string(temperatures.size()) + " temperatures given for a model with " +
                    std::to_string(numExits) + " exits (need " + std::to_string(numExits) + ", or none)");
    }
    for (std::size_t k = 0; k < temperatures.size(); ++k)
        checkTemperatureValue(temperatures[k], "temperature for exit " + std::to_string(k) + ":");
}

void temperatureScale(const float* probs, int64_t numClasses, double temperature, float* out) {
    checkTemperatureValue(temperature, "temperature");
    const double invT = 1.0 / temperature;
    float top = kProbabilityFloor;
    for (int64_t c = 0; c < numClasses; ++c) top = std::max(top, probs[c]);
    const double logTop = std::log(static_cast<double>(top));
    // Written straight into `out` (which may alias `probs`: each class is read
    // before it is overwritten) so the hot loops allocate nothing.
    double sum = 0;
    for (int64_t c = 0; c < numClasses; ++c) {
        const double z = std::log(static_cast<double>(std::max(probs[c], kProbabilityFloor)));
        const double w = std::exp((z - logTop) * invT);
        out[c] = static_cast<float>(w);
        sum += w;
    }
    for (int64_t c = 0; c < numClasses; ++c) out[c] = static_cast<float>(static_cast<double>(out[c]) / sum);
}

double negativeLogLikelihood(const Trace& trace, int64_t exit, double temperature) {
    checkArrays(trace, "negative log-likelihood");
    checkExit(trace, exit, "negative log-likelihood");
    checkTemperatureValue(temperature, "temperature");
    if (trace.numSamples == 0) return std::nan("");
    const auto d = relativeLogits(trace, exit);
    return nllTerms(d, trace.labels, trace.numClasses, 1.0 / temperature).value / static_cast<double>(trace.numSamples);
}

double fitTemperature(const Trace& trace, int64_t exit, double minT, double maxT) {
    checkArrays(trace, "temperature fit");
    checkExit(trace, exit, "temperature fit");
    if (!(std::isfinite(minT) && std::isfinite(maxT) && minT > 0.0 && minT < maxT)) {
        std::ostringstream os;
        os << "temperature fit: range [" << minT << ", " << maxT << "] is not 0 < min < max";
        throw Error(os.str());
    }
    if (trace.numSamples == 0) throw Error("temperature fit: the trace has no samples");
    const auto d = relativeLogits(trace, exit);
    const int64_t C = trace.numClasses;
    double lo = 1.0 / maxT, hi = 1.0 / minT;
    // The slope rises with beta (convexity): its sign at the ends says whether
    // the optimum lies inside the range or on a boundary.
    if (nllTerms(d, trace.labels, C, lo).slope >= 0.0) return maxT;
    if (nllTerms(d, trace.labels, C, hi).slope <= 0.0) return minT;
    double beta = std::clamp(1.0, lo, hi);
    for (int iter = 0; iter < 200; ++iter) {
        const NllTerms t = nllTerms(d, trace.labels, C, beta);
        if (t.slope < 0.0)
            lo = beta;
        else
            hi = beta;
        double next = t.curvature > 0.0 ? beta - t.slope / t.curvature : lo - 1.0;
        // Newton when it stays inside the bracket, bisection otherwise.
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        const bool done = std::abs(next - beta) <= 1e-12 * beta || hi - lo <= 1e-12 * beta;
        beta = next;
        if (done) break;
    }
    return 1.0 / beta;
}

std::vector<float> fitTemperatures(const Trace& trace, double minT, double maxT) {
    std::vector<float> temps(sz(trace.numExits));
    for (int64_t k = 0; k < trace.numExits; ++k)
        temps[sz(k)] = static_cast<float>(fitTemperature(trace, k, minT, maxT));
    return temps;
}

void applyTemperatures(Trace& trace, const std::vector<float>& temperatures) {
    checkArrays(trace, "temperature scaling");
    checkTemperatures(temperatures, trace.numExits);
    if (temperatures.empty()) return;
    for (int64_t n = 0; n < trace.numSamples; ++n)
        for (int64_t k = 0; k < trace.numExits; ++k) {
            float* p = trace.probs.data() + (n * trace.numExits + k) * trace.numClasses;
            temperatureScale(p, trace.numClasses, temperatures[sz(k)], p);
        }
}

std::vector<ReliabilityDiagram> reliabilityDiagrams(const Trace& trace, int64_t numBins,
                                                    const std::vector<float>& temperatures) {
    checkArrays(trace, "reliability diagram");
    checkTemperatures(temperatures, trace.numExits);
    if (numBins < 1) throw Error("reliability diagram: " + std::to_string(numBins) + " bins, need at least 1");
    const int64_t N = trace.numSamples, K = trace.numExits, C = trace.numClasses;
    std::vector<ReliabilityDiagram> out(sz(K));
    std::vector<float> scaled(sz(C));
    for (int64_t k = 0; k < K; ++k) {
        std::vector<double> sumConf(sz(numBins), 0.0), sumCorrect(sz(numBins), 0.0);
        std::vector<int64_t> count(sz(numBins), 0);
        for (int64_t n = 0; n < N; ++n) {
            const float* p = trace.probsOf(n, k);
            const bool correct = argmaxOf(p, C) == trace.labels[sz(n)];
            if (!temperatures.empty()) {
                temperatureScale(p, C, temperatures[sz(k)], scaled.data());
                p = scaled.data();
            }
            const double conf = confidenceScore(p, C, ConfidenceCriterion::MaxSoftmax);
            const auto b =
                sz(std::clamp(static_cast<int64_t>(conf * static_cast<double>(numBins)), int64_t{0}, numBins - 1));
            ++count[b];
            sumConf[b] += conf;
            sumCorrect[b] += correct ? 1.0 : 0.0;
        }
        ReliabilityDiagram& diagram = out[sz(k)];
        diagram.bins.resize(sz(numBins));
        diagram.ece = N > 0 ? 0.0 : std::nan("");
        for (std::size_t b = 0; b < sz(numBins); ++b) {
            ReliabilityBin& bin = diagram.bins[b];
            bin.count = count[b];
            const auto c = static_cast<double>(count[b]);
            bin.meanConfidence = count[b] > 0 ? sumConf[b] / c : std::nan("");
            bin.accuracy = count[b] > 0 ? sumCorrect[b] / c : std::nan("");
            if (count[b] > 0) diagram.ece += c / static_cast<double>(N) * std::abs(bin.accuracy - bin.meanConfidence);
        }
    }
    return out;
}

CalibrationReport calibrate(const Trace& validation, int64_t numBins) {
    CalibrationReport report;
    report.temperatures = fitTemperatures(validation);
    for (int64_t k = 0; k < validation.numExits; ++k) {
        report.nllBefore.push_back(negativeLogLikelihood(validation, k, 1.0));
        report.nllAfter.push_back(negativeLogLikelihood(validation, k, report.temperatures[sz(k)]));
    }
    report.before = reliabilityDiagrams(validation, numBins);
    report.after = reliabilityDiagrams(validation, numBins, report.temperatures);
    return report;
}

} // namespace exitscope::core
