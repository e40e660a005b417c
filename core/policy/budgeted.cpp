#include "core/policy/budgeted.h"

#include "core/common/error.h"
#include "core/common/format.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

namespace exitscope::core {

namespace {

// Fractions for the ratio r = 1 - q between neighbouring exits. Summing the
// powers directly (instead of the closed form (1 - r^K) / (1 - r)) keeps the
// sum >= 1, so nothing divides by zero at r = 1 (q = 0) and no cancellation
// creeps in near it. For r > 1 the powers of 1/r from the last exit back are
// used, so r = infinity is just 1/r = 0.
std::vector<double> fractionsForRatio(double r, bool inverted, int64_t K) {
    std::vector<double> w(static_cast<std::size_t>(K));
    double sum = 0.0;
    for (int64_t k = 0; k < K; ++k) {
        const double e = static_cast<double>(inverted ? K - 1 - k : k);
        w[static_cast<std::size_t>(k)] = std::pow(r, e);  // pow(0, 0) = 1
        sum += w[static_cast<std::size_t>(k)];
    }
    for (auto& x : w) x /= sum;
    return w;
}

// Bisection runs on u = r / (1 + r) in [0, 1], which maps the unbounded
// ratio onto a finite interval: u = 0 is q = 1, u = 1/2 is q = 0, u = 1 is
// q = -infinity. Both branches are evaluated without dividing by zero.
std::vector<double> fractionsForU(double u, int64_t K) {
    if (u <= 0.5) return fractionsForRatio(u / (1.0 - u), false, K);
    return fractionsForRatio((1.0 - u) / u, true, K);
}

void checkExitMacs(const std::vector<int64_t>& exitMacs) {
    if (exitMacs.empty()) throw Error("budgeted batch: the trace has no exits (exit_macs is empty)");
    for (std::size_t k = 0; k < exitMacs.size(); ++k) {
        if (exitMacs[k] < 0 || (k > 0 && exitMacs[k] < exitMacs[k - 1])) {
            std::ostringstream os;
            os << "budgeted batch: exit_macs[" << k << "] = " << exitMacs[k]
               << " is negative or below the previous exit's (costs must be cumulative)";
            throw Error(os.str());
        }
    }
}

void checkBudget(const std::vector<int64_t>& exitMacs, double budgetPerSample, const std::string& what) {
    const auto lo = static_cast<double>(exitMacs.front());
    const auto hi = static_cast<double>(exitMacs.back());
    if (std::isnan(budgetPerSample) || budgetPerSample < lo || budgetPerSample > hi) {
        std::ostringstream os;
        os << what << " is outside the feasible range [" << exactNumber(lo) << ", " << exactNumber(hi)
           << "] MACs per sample (from the first exit's cost to the whole network's)";
        throw Error(os.str());
    }
}

std::string describeBudget(double budgetPerSample) {
    std::ostringstream os;
    os << "budget " << exactNumber(budgetPerSample) << " MACs per sample";
    return os.str();
}

void checkProbs(const Trace& trace) {
    const auto want = trace.numSamples * trace.numExits * trace.numClasses;
    if (trace.numClasses < 1 || static_cast<int64_t>(trace.probs.size()) != want) {
        std::ostringstream os;
        os << "budgeted batch: probs has " << trace.probs.size() << " values, need N*K*C = " << trace.numSamples << "*"
           << trace.numExits << "*" << trace.numClasses << " = " << want;
        throw Error(os.str());
    }
}

std::vector<float> maxConfidences(const Trace& trace) {
    std::vector<float> conf(static_cast<std::size_t>(trace.numSamples * trace.numExits));
    for (int64_t n = 0; n < trace.numSamples; ++n)
        for (int64_t k = 0; k < trace.numExits; ++k) {
            const float* p = trace.probsOf(n, k);
            conf[static_cast<std::size_t>(n * trace.numExits + k)] = p[argmaxOf(p, trace.numClasses)];
        }
    return conf;
}

ExitOutcome applyThresholds(const Trace& trace, const std::vector<float>& thresholds) {
    ExitOutcome out;
    out.exitTaken.resize(static_cast<std::size_t>(trace.numSamples));
    out.prediction.resize(static_cast<std::size_t>(trace.numSamples));
    const int64_t K = trace.numExits;
    for (int64_t n = 0; n < trace.numSamples; ++n) {
        for (int64_t k = 0; k < K; ++k) {
            const float* p = trace.probsOf(n, k);
            const int64_t best = argmaxOf(p, trace.numClasses);
            if (k == K - 1 || p[best] >= thresholds[static_cast<std::size_t>(k)]) {
                out.exitTaken[static_cast<std::size_t>(n)] = k;
                out.prediction[static_cast<std::size_t>(n)] = best;
                break;
            }
        }
    }
    return out;
}

} // namespace

float closedExitThreshold() { return std::nextafter(1.0f, 2.0f); }

std::vector<double> budgetedExitFractions(double q, int64_t numExits) {
    if (numExits < 1) {
        std::ostringstream os;
        os << "budgeted batch: " << numExits << " exits (need at least 1)";
        throw Error(os.str());
    }
    if (std::isnan(q) || q > 1.0) {
        std::ostringstream os;
        os << "budgeted batch: q = " << q << " is not in [-infinity, 1]";
        throw Error(os.str());
    }
    const double r = 1.0 - q;
    if (r <= 1.0) return fractionsForRatio(r, false, numExits);
    return fractionsForRatio(1.0 / r, true, numExits);
}

double expectedExitCost(const std::vector<double>& fractions, const std::vector<int64_t>& exitMacs) {
    if (fractions.size() != exitMacs.size()) {
        std::ostringstream os;
        os << "budgeted batch: " << fractions.size() << " exit fractions for " << exitMacs.size() << " exits";
        throw Error(os.str());
    }
    double cost = 0.0;
    for (std::size_t k = 0; k < fractions.size(); ++k) cost += fractions[k] * static_cast<double>(exitMacs[k]);
    return cost;
}

double solveBudgetedQ(const std::vector<int64_t>& exitMacs, double budgetPerSample) {
    checkExitMacs(exitMacs);
    checkBudget(exitMacs, budgetPerSample, describeBudget(budgetPerSample));
    const auto K = static_cast<int64_t>(exitMacs.size());
    if (budgetPerSample <= static_cast<double>(exitMacs.front())) return 1.0;
    if (budgetPerSample >= static_cast<double>(exitMacs.back())) return -std::numeric_limits<double>::infinity();
    // Cost rises monotonically with u; the bracket [0, 1] always holds the
    // answer because the budget lies strictly between the two end costs.
    double lo = 0.0;
    double hi = 1.0;
    for (int i = 0; i < 200 && hi - lo > 0.0; ++i) {
        const double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi) break;
        if (expectedExitCost(fractionsForU(mid, K), exitMacs) < budgetPerSample)
            lo = mid;
        else
            hi = mid;
    }
    const double u = 0.5 * (lo + hi);
    return (1.0 - 2.0 * u) / (1.0 - u);
}

BudgetedBatchFit fitBudgetedBatch(const Trace& validation, double budgetPerSample) {
    if (validation.numSamples < 1)
        throw Error("budgeted batch: the validation trace has no samples to fit thresholds on");
    if (static_cast<int64_t>(validation.exitMacs.size()) != validation.numExits) {
        std::ostringstream os;
        os << "budgeted batch: exit_macs has " << validation.exitMacs.size() << " values for " << validation.numExits
           << " exits";
        throw Error(os.str());
    }
    checkProbs(validation);
    return fitBudgetedBatch(maxConfidences(validation), validation.numSamples, validation.exitMacs, budgetPerSample);
}

BudgetedBatchFit fitBudgetedBatch(const std::vector<float>& conf, int64_t numSamples,
                                  const std::vector<int64_t>& exitMacs, double budgetPerSample) {
    const int64_t K = static_cast<int64_t>(exitMacs.size());
    const int64_t N = numSamples;
    if (N < 1) throw Error("budgeted batch: the validation trace has no samples to fit thresholds on");
    if (K < 1 || static_cast<int64_t>(conf.size()) != N * K) {
        std::ostringstream os;
        os << "budgeted batch: " << conf.size() << " confidences for " << N << " samples x " << K << " exits";
        throw Error(os.str());
    }
    BudgetedBatchFit fit;
    fit.budgetPerSample = budgetPerSample;
    fit.q = solveBudgetedQ(exitMacs, budgetPerSample);
    fit.exitFractions = budgetedExitFractions(fit.q, K);

    std::vector<int64_t> running(static_cast<std::size_t>(N));
    for (int64_t n = 0; n < N; ++n) running[static_cast<std::size_t>(n)] = n;
    std::vector<float> runningConf;
    int64_t gone = 0;
    double cumulative = 0.0;
    for (int64_t k = 0; k + 1 < K; ++k) {
        // Rounding the cumulative target, not each exit's share, keeps the
        // rounding errors from piling up over the exits.
        cumulative += fit.exitFractions[static_cast<std::size_t>(k)];
        const int64_t target = std::min<int64_t>(N, std::llround(cumulative * static_cast<double>(N)));
        const int64_t take = std::min<int64_t>(target - gone, static_cast<int64_t>(running.size()));
        if (take <= 0) {
            fit.thresholds.push_back(closedExitThreshold());
            continue;
        }
        runningConf.clear();
        for (auto n : running) runningConf.push_back(conf[static_cast<std::size_t>(n * K + k)]);
        // Only the take-th largest value matters: every sample at or above it
        // leaves, so how ties are ordered cannot change the result.
        std::nth_element(runningConf.begin(), runningConf.begin() + (take - 1), runningConf.end(),
                         std::greater<float>());
        const float theta = runningConf[static_cast<std::size_t>(take - 1)];
        fit.thresholds.push_back(theta);
        // The order of the running samples never matters (only which run on).
        const auto firstGone = std::partition(running.begin(), running.end(), [&](int64_t n) {
            return conf[static_cast<std::size_t>(n * K + k)] < theta;
        });
        gone += static_cast<int64_t>(running.end() - firstGone);
        running.erase(firstGone, running.end());
    }
    // The thresholds run on the same confidences: the first exit at or above
    // its theta answers, the final exit takes the rest.
    double total = 0.0;
    for (int64_t n = 0; n < N; ++n) {
        int64_t k = 0;
        while (k + 1 < K && conf[static_cast<std::size_t>(n * K + k)] < fit.thresholds[static_cast<std::size_t>(k)]) ++k;
        total += static_cast<double>(exitMacs[static_cast<std::size_t>(k)]);
    }
    fit.realisedValCost = total / static_cast<double>(N);
    return fit;
}

BudgetedBatchFit fitBudgetedBatchTotal(const Trace& validation, double totalBudget, int64_t numSamples) {
    if (numSamples < 1) {
        std::ostringstream os;
        os << "budgeted batch: a total budget needs at least 1 sample to share it (got " << numSamples << ")";
        throw Error(os.str());
    }
    const double perSample = totalBudget / static_cast<double>(numSamples);
    if (!validation.exitMacs.empty()) {
        checkExitMacs(validation.exitMacs);
        std::ostringstream what;
        what << "total budget " << totalBudget << " MACs for " << numSamples << " samples (" << perSample
             << " per sample)";
        checkBudget(validation.exitMacs, perSample, what.str());
    }
    return fitBudgetedBatch(validation, perSample);
}

ExitOutcome evaluateBudgetedBatch(const ConfidenceScores& s, const BudgetedBatchFit& fit) {
    const int64_t N = s.numSamples, K = s.numExits;
    if (K < 1 || static_cast<int64_t>(fit.thresholds.size()) != K - 1) {
        std::ostringstream os;
        os << "budgeted batch: the fit has " << fit.thresholds.size() << " thresholds but the scores have " << K
           << " exits (need " << K - 1 << ")";
        throw Error(os.str());
    }
    if (s.criterion != ConfidenceCriterion::MaxSoftmax || !s.temperatures.empty())
        throw Error("budgeted batch: thresholds apply to the uncalibrated max softmax only");
    ExitOutcome out;
    out.exitTaken.resize(static_cast<std::size_t>(N));
    out.prediction.resize(static_cast<std::size_t>(N));
    const float* theta = fit.thresholds.data();
    for (int64_t n = 0; n < N; ++n) {
        // The first exit whose confidence reaches its theta, found eight
        // exits at a time without a branch per exit: which exit answers is
        // data, and a mispredicted jump per exit cost more than comparing a
        // few exits too many. A closed exit's theta lies above 1, so no
        // confidence reaches it.
        const float* conf = s.scores.data() + n * K;
        int64_t k = K - 1;
        for (int64_t first = 0; first < K - 1; first += 8) {
            const int64_t end = std::min<int64_t>(first + 8, K - 1);
            int64_t found = end;
            for (int64_t j = end - 1; j >= first; --j) found = conf[j] >= theta[j] ? j : found;
            if (found < end) {
                k = found;
                break;
            }
        }
        out.exitTaken[static_cast<std::size_t>(n)] = k;
        out.prediction[static_cast<std::size_t>(n)] = s.predictions[static_cast<std::size_t>(n * K + k)];
    }
    return out;
}

BudgetedBatchResult evaluateBudgetedBatch(const Trace& test, const BudgetedBatchFit& fit) {
    if (test.numExits < 1 || static_cast<int64_t>(fit.thresholds.size()) != test.numExits - 1) {
        std::ostringstream os;
        os << "budgeted batch: the fit has " << fit.thresholds.size() << " thresholds but the trace has "
           << test.numExits << " exits (need " << test.numExits - 1 << ")";
        throw Error(os.str());
    }
    for (std::size_t k = 0; k < fit.thresholds.size(); ++k) {
        if (std::isnan(fit.thresholds[k])) {
            std::ostringstream os;
            os << "budgeted batch: threshold for exit " << k << " is NaN";
            throw Error(os.str());
        }
    }
    checkProbs(test);
    if (static_cast<int64_t>(test.exitMacs.size()) != test.numExits) {
        std::ostringstream os;
        os << "budgeted batch: exit_macs has " << test.exitMacs.size() << " values for " << test.numExits << " exits";
        throw Error(os.str());
    }
    BudgetedBatchResult result;
    result.budgetPerSample = fit.budgetPerSample;
    result.outcome = applyThresholds(test, fit.thresholds);
    result.realisedCost = outcomeMeanMacs(test, result.outcome);
    return result;
}

} // namespace exitscope::core
