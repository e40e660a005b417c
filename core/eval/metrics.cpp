#include "core/eval/metrics.h"

#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace exitscope::core {

namespace {

template <typename T>
void checkPerExit(const std::vector<T>& values, const char* name, int64_t K) {
    if (static_cast<int64_t>(values.size()) != K) {
        std::ostringstream os;
        os << "metrics: " << name << " has " << values.size() << " values for " << K << " exits";
        throw Error(os.str());
    }
}

// Every sample at exit k pays the same cost, so the summary comes from the
// exit histogram in O(K) instead of sorting N per-sample costs.
CostSummary summarise(const std::vector<double>& exitCost, const std::vector<int64_t>& histogram, int64_t n) {
    CostSummary s;
    if (n == 0) {
        s.mean = s.median = s.p95 = std::nan("");
        return s;
    }
    std::vector<std::pair<double, int64_t>> counts;
    double sum = 0.0;
    for (std::size_t k = 0; k < exitCost.size(); ++k) {
        counts.emplace_back(exitCost[k], histogram[k]);
        sum += exitCost[k] * static_cast<double>(histogram[k]);
    }
    s.mean = sum / static_cast<double>(n);
    s.median = nearestRankPercentile(counts, 50.0);
    s.p95 = nearestRankPercentile(counts, 95.0);
    return s;
}

nlohmann::json number(double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); }

nlohmann::json numbers(const std::vector<double>& xs) {
    auto a = nlohmann::json::array();
    for (double x : xs) a.push_back(number(x));
    return a;
}

} // namespace

double nearestRankPercentile(std::vector<std::pair<double, int64_t>> valueCounts, double p) {
    if (!(p >= 0.0 && p <= 100.0)) {
        std::ostringstream os;
        os << "percentile " << p << " is outside [0, 100]";
        throw Error(os.str());
    }
    int64_t total = 0;
    for (const auto& [value, count] : valueCounts) {
        if (count < 0) {
            std::ostringstream os;
            os << "percentile: count " << count << " for value " << value << " is negative";
            throw Error(os.str());
        }
        total += count;
    }
    if (total == 0) return std::nan("");
    std::stable_sort(valueCounts.begin(), valueCounts.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    // p * n is formed before dividing by 100 so that whole-number p and n give
    // an exact rank when one exists (p = 50, n = 4 -> 2, not 3); the slack
    // keeps a fractional p from rounding just past such a rank.
    auto rank = static_cast<int64_t>(std::ceil(p * static_cast<double>(total) / 100.0 - 1e-9));
    rank = std::clamp<int64_t>(rank, 1, total);
    int64_t seen = 0;
    for (const auto& [value, count] : valueCounts) {
        seen += count;
        if (seen >= rank) return value;
    }
    return valueCounts.back().first;
}

OutcomeMetrics evaluateOutcome(const Trace& trace, const ExitOutcome& outcome) {
    const int64_t N = trace.numSamples;
    const int64_t K = trace.numExits;
    const int64_t C = trace.numClasses;
    if (K < 1 || C < 1) {
        std::ostringstream os;
        os << "metrics: the trace has " << K << " exits and " << C << " classes (need at least 1 of each)";
        throw Error(os.str());
    }
    if (static_cast<int64_t>(outcome.exitTaken.size()) != N || static_cast<int64_t>(outcome.prediction.size()) != N ||
        static_cast<int64_t>(trace.labels.size()) != N) {
        std::ostringstream os;
        os << "metrics: the outcome has " << outcome.exitTaken.size() << " exits and " << outcome.prediction.size()
           << " predictions for a trace of " << N << " samples with " << trace.labels.size() << " labels";
        throw Error(os.str());
    }
    checkPerExit(trace.exitMacs, "exit_macs", K);
    checkPerExit(trace.exitParams, "exit_params", K);
    checkPerExit(trace.exitMs, "exit_ms", K);

    OutcomeMetrics m;
    m.n = N;
    m.numExits = K;
    m.numClasses = C;
    m.exitHistogram.assign(static_cast<std::size_t>(K), 0);
    std::vector<int64_t> exitCorrect(static_cast<std::size_t>(K), 0);
    m.confusion.assign(static_cast<std::size_t>(C), std::vector<int64_t>(static_cast<std::size_t>(C), 0));
    std::vector<int64_t> classCount(static_cast<std::size_t>(C), 0);
    std::vector<double> classExitSum(static_cast<std::size_t>(C), 0.0);
    int64_t correct = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(N); ++i) {
        const int64_t k = outcome.exitTaken[i];
        const int64_t pred = outcome.prediction[i];
        const int64_t label = trace.labels[i];
        if (k < 0 || k >= K || pred < 0 || pred >= C || label < 0 || label >= C) {
            std::ostringstream os;
            os << "metrics: sample " << i << " has exit " << k << ", prediction " << pred << " and label " << label
               << " (need exits in [0, " << K - 1 << "] and classes in [0, " << C - 1 << "])";
            throw Error(os.str());
        }
        const bool ok = pred == label;
        correct += ok;
        ++m.exitHistogram[static_cast<std::size_t>(k)];
        exitCorrect[static_cast<std::size_t>(k)] += ok;
        ++m.confusion[static_cast<std::size_t>(label)][static_cast<std::size_t>(pred)];
        ++classCount[static_cast<std::size_t>(label)];
        classExitSum[static_cast<std::size_t>(label)] += static_cast<double>(k);
    }
    m.accuracy = N > 0 ? static_cast<double>(correct) / static_cast<double>(N) : std::nan("");

    std::vector<double> macs(static_cast<std::size_t>(K)), params(static_cast<std::size_t>(K)),
        ms(static_cast<std::size_t>(K));
    const auto fullParams = static_cast<double>(trace.exitParams.back());
    for (std::size_t k = 0; k < static_cast<std::size_t>(K); ++k) {
        macs[k] = static_cast<double>(trace.exitMacs[k]);
        params[k] = fullParams > 0 ? static_cast<double>(trace.exitParams[k]) / fullParams : std::nan("");
        ms[k] = static_cast<double>(trace.exitMs[k]);
    }
    m.macs = summarise(macs, m.exitHistogram, N);
    m.paramFraction = summarise(params, m.exitHistogram, N);
    m.ms = summarise(ms, m.exitHistogram, N);

    m.exitAccuracy.resize(static_cast<std::size_t>(K));
    for (std::size_t k = 0; k < static_cast<std::size_t>(K); ++k)
        m.exitAccuracy[k] = m.exitHistogram[k] > 0
                                ? static_cast<double>(exitCorrect[k]) / static_cast<double>(m.exitHistogram[k])
                                : std::nan("");
    m.classMeanExit.resize(static_cast<std::size_t>(C));
    for (std::size_t c = 0; c < static_cast<std::size_t>(C); ++c)
        m.classMeanExit[c] = classCount[c] > 0 ? classExitSum[c] / static_cast<double>(classCount[c]) : std::nan("");
    return m;
}

nlohmann::json toJson(const OutcomeMetrics& m) {
    nlohmann::json j;
    j["n"] = m.n;
    j["accuracy"] = number(m.accuracy);
    j["mean_macs"] = number(m.macs.mean);
    j["median_macs"] = number(m.macs.median);
    j["p95_macs"] = number(m.macs.p95);
    j["mean_param_fraction"] = number(m.paramFraction.mean);
    j["median_param_fraction"] = number(m.paramFraction.median);
    j["p95_param_fraction"] = number(m.paramFraction.p95);
    j["mean_ms"] = number(m.ms.mean);
    j["median_ms"] = number(m.ms.median);
    j["p95_ms"] = number(m.ms.p95);
    j["exit_histogram"] = m.exitHistogram;
    j["exit_accuracy"] = numbers(m.exitAccuracy);
    j["confusion_matrix"] = m.confusion;
    j["class_mean_exit"] = numbers(m.classMeanExit);
    return j;
}

} // namespace exitscope::core
