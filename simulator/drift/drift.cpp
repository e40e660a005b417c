#include "simulator/drift/drift.h"

#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <sstream>

namespace exitscope::simulator {

namespace {

double parseValue(const std::string& text, const std::string& what) {
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || !std::isfinite(v)) throw core::Error(what + ": '" + text + "' is not a number");
    return v;
}

std::vector<std::string> splitOn(const std::string& text, char sep) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, sep)) parts.push_back(part);
    if (!text.empty() && text.back() == sep) parts.emplace_back();
    return parts;
}

/// The grid thresholds are fitted on: 0, 0.01, ..., 1.
std::vector<float> fittingGrid() {
    std::vector<float> g;
    for (int i = 0; i <= 100; ++i) g.push_back(static_cast<float>(i) / 100.0f);
    return g;
}

/// Where each sample of one severity leaves at one threshold, computed once.
class OutcomeCache {
public:
    explicit OutcomeCache(const core::ConfidenceScores& scores) : m_scores(scores) {}
    const core::ExitOutcome& at(float threshold) {
        auto it = m_cache.find(threshold);
        if (it == m_cache.end()) it = m_cache.emplace(threshold, core::evaluate(m_scores, {threshold})).first;
        return it->second;
    }

private:
    const core::ConfidenceScores& m_scores;
    std::map<float, core::ExitOutcome> m_cache;
};

struct SpanAccumulator {
    int64_t first = 0, n = 0, correct = 0, finalCorrect = 0, ranToEnd = 0;
    double exitSum = 0, macs = 0;
    int severity = 0;
    float threshold = 0;
    void add(const DriftRequest& r) {
        ++n;
        correct += r.correct;
        finalCorrect += r.finalCorrect;
        ranToEnd += r.ranToEnd;
        exitSum += static_cast<double>(r.exitTaken);
        macs += r.macs;
        threshold = r.threshold;
    }
    DriftSpan span(double fullMacs) const {
        DriftSpan s;
        s.firstRequest = first;
        s.requests = n;
        s.severity = severity;
        const double d = std::max<int64_t>(n, 1);
        s.accuracy = static_cast<double>(correct) / d;
        s.finalAccuracy = static_cast<double>(finalCorrect) / d;
        s.drop = s.finalAccuracy - s.accuracy;
        s.meanExit = exitSum / d;
        s.macsFraction = macs / d / fullMacs;
        s.ranToEndShare = static_cast<double>(ranToEnd) / d;
        s.threshold = threshold;
        return s;
    }
};

} // namespace

std::vector<DriftStep> parseDriftSchedule(const std::string& text) {
    if (text.empty()) throw core::Error("--drift: empty schedule (give REQ:SEVERITY,..., e.g. 0:0,2000:3)");
    std::vector<DriftStep> steps;
    for (const auto& part : splitOn(text, ',')) {
        const auto colon = part.find(':');
        if (colon == std::string::npos) throw core::Error("--drift: '" + part + "' is not REQ:SEVERITY");
        const double req = parseValue(part.substr(0, colon), "--drift request");
        const double sev = parseValue(part.substr(colon + 1), "--drift severity");
        if (req < 0 || req != std::floor(req) || req > 1e12)
            throw core::Error("--drift: '" + part + "': the request must be a whole number >= 0");
        if (sev != std::floor(sev) || sev < 0 || sev > 5)
            throw core::Error("--drift: '" + part + "': the severity must be 0 (clean) .. 5");
        DriftStep s{static_cast<int64_t>(req), static_cast<int>(sev)};
        if (steps.empty() && s.fromRequest != 0) throw core::Error("--drift: the first step must start at request 0");
        if (!steps.empty() && s.fromRequest <= steps.back().fromRequest)
            throw core::Error("--drift: '" + part + "': requests must increase from step to step");
        steps.push_back(s);
    }
    return steps;
}

AdaptOptions parseAdaptOptions(const std::string& text) {
    AdaptOptions o;
    for (const auto& part : splitOn(text, ',')) {
        const auto eq = part.find('=');
        if (eq == std::string::npos) throw core::Error("--adapt: '" + part + "' is not KEY=VALUE (share, max-drop, window, refit)");
        const std::string key = part.substr(0, eq);
        const double v = parseValue(part.substr(eq + 1), "--adapt " + key);
        if (key == "share") {
            if (!(v > 0 && v <= 1)) throw core::Error("--adapt share=" + part.substr(eq + 1) + ": must be in (0, 1]");
            o.share = v;
        } else if (key == "max-drop") {
            if (!(v >= 0 && v <= 1)) throw core::Error("--adapt max-drop=" + part.substr(eq + 1) + ": must be in [0, 1]");
            o.maxDrop = v;
        } else if (key == "window" || key == "refit") {
            if (v < 1 || v != std::floor(v) || v > 1e9)
                throw core::Error("--adapt " + key + "=" + part.substr(eq + 1) + ": must be a whole number >= 1");
            (key == "window" ? o.window : o.refitEvery) = static_cast<int64_t>(v);
        } else {
            throw core::Error("--adapt: unknown key '" + key + "' (share, max-drop, window, refit)");
        }
    }
    return o;
}

core::ConfidenceScores gatherScores(const std::vector<const core::ConfidenceScores*>& tables,
                                    const std::vector<std::pair<int, int64_t>>& rows, bool agreement) {
    core::ConfidenceScores out;
    if (tables.empty()) return out;
    const core::ConfidenceScores& first = *tables.front();
    const int64_t K = first.numExits;
    out.numExits = K;
    out.criterion = first.criterion;
    out.exitMacs = first.exitMacs;
    out.exitMs = first.exitMs;
    out.numSamples = static_cast<int64_t>(rows.size());
    for (const auto& [t, n] : rows) {
        const core::ConfidenceScores& s = *tables.at(static_cast<std::size_t>(t));
        const auto base = static_cast<std::size_t>(n * K);
        const int64_t last = s.predictions[base + static_cast<std::size_t>(K - 1)];
        for (int64_t k = 0; k < K; ++k) {
            out.scores.push_back(s.scores[base + static_cast<std::size_t>(k)]);
            const int64_t p = s.predictions[base + static_cast<std::size_t>(k)];
            out.predictions.push_back(p);
            out.correct.push_back(agreement ? static_cast<uint8_t>(p == last) : s.correct[base + static_cast<std::size_t>(k)]);
        }
    }
    return out;
}

float fitThreshold(const core::ConfidenceScores& scores, const std::vector<float>& grid, double maxDrop) {
    if (scores.numSamples == 0) return 1.0f;
    const int64_t K = scores.numExits;
    int64_t finalCorrect = 0;
    for (int64_t n = 0; n < scores.numSamples; ++n) finalCorrect += scores.correct[static_cast<std::size_t>(n * K + K - 1)];
    const double finalAccuracy = static_cast<double>(finalCorrect) / static_cast<double>(scores.numSamples);
    const auto sweep = core::sweepGlobalThresholds(scores, grid);
    float best = 1.0f;
    for (std::size_t g = 0; g < grid.size(); ++g)
        if (finalAccuracy - sweep.accuracy[g] <= maxDrop + 1e-12) best = std::min(best, grid[g]);
    return best;
}

DriftReport simulateDrift(const core::Trace& cleanVal, const std::map<int, const core::Trace*>& bySeverity,
                          const std::vector<DriftStep>& schedule, const AdaptOptions& adapt, const DriftOptions& options) {
    if (schedule.empty()) throw core::Error("drift: empty schedule");
    if (options.numRequests < 1) throw core::Error("drift: --requests must be at least 1");
    if (options.spanRequests < 1) throw core::Error("drift: --span must be at least 1");
    for (const auto& s : schedule)
        if (!bySeverity.count(s.severity) || !bySeverity.at(s.severity))
            throw core::Error("drift: the schedule reaches severity " + std::to_string(s.severity) +
                              " but no trace of that severity was given");
    // Max-softmax scores of every severity, once: the policy's decisions all come from them.
    std::map<int, int> slot;
    std::vector<core::ConfidenceScores> scores;
    scores.reserve(bySeverity.size());
    for (const auto& [sev, trace] : bySeverity) {
        if (trace->numExits != cleanVal.numExits || trace->exitMacs != cleanVal.exitMacs)
            throw core::Error("drift: the severity " + std::to_string(sev) + " trace has other exits or costs than the validation trace");
        slot[sev] = static_cast<int>(scores.size());
        scores.push_back(core::computeScores(*trace, core::ConfidenceCriterion::MaxSoftmax));
    }
    std::vector<const core::ConfidenceScores*> tables;
    for (const auto& s : scores) tables.push_back(&s);
    std::vector<OutcomeCache> outcomes;
    for (const auto& s : scores) outcomes.emplace_back(s);
    const int64_t K = cleanVal.numExits;
    const double fullMacs = static_cast<double>(cleanVal.exitMacs.back());
    const auto grid = fittingGrid();

    DriftReport report;
    report.adapt = adapt;
    report.fittedOnClean = fitThreshold(core::computeScores(cleanVal, core::ConfidenceCriterion::MaxSoftmax), grid, adapt.maxDrop);

    // The same requests (severity, image) for every policy.
    std::mt19937_64 rng(options.seed);
    std::vector<std::pair<int, int64_t>> stream;
    std::vector<int> severityAt;
    std::size_t step = 0;
    for (int64_t r = 0; r < options.numRequests; ++r) {
        while (step + 1 < schedule.size() && schedule[step + 1].fromRequest <= r) ++step;
        const int sev = schedule[step].severity;
        const int t = slot.at(sev);
        std::uniform_int_distribution<int64_t> pick(0, scores[static_cast<std::size_t>(t)].numSamples - 1);
        stream.emplace_back(t, pick(rng));
        severityAt.push_back(sev);
    }
    // Which requests the adaptive policy runs to the end: a seeded Bernoulli draw per request.
    std::vector<uint8_t> sampled(stream.size());
    {
        std::mt19937_64 coin(options.seed ^ 0x5DEECE66DULL);
        std::bernoulli_distribution draw(adapt.share);
        for (auto& s : sampled) s = draw(coin);
    }
    // The oracle knows the labels of the data it serves: at each severity, the threshold fitted on
    // that severity's whole labelled trace (the requests are drawn from it).
    std::map<int, float> oracleThreshold;
    for (const auto& [sev, t] : slot) oracleThreshold[sev] = fitThreshold(scores[static_cast<std::size_t>(t)], grid, adapt.maxDrop);

    for (const std::string name : {"fixed", "adaptive", "oracle"}) {
        DriftPolicyReport pr;
        pr.name = name;
        float threshold = report.fittedOnClean;
        std::deque<std::pair<int, int64_t>> window;
        int64_t sinceRefit = 0;
        SpanAccumulator span, total, segment;
        span.severity = segment.severity = severityAt.front();
        std::size_t segmentStep = 0;
        for (std::size_t r = 0; r < stream.size(); ++r) {
            const auto [t, n] = stream[r];
            const core::ConfidenceScores& sc = scores[static_cast<std::size_t>(t)];
            DriftRequest q;
            q.index = static_cast<int64_t>(r);
            q.severity = severityAt[r];
            q.sample = n;
            q.policy = name;
            if (name == "oracle") threshold = oracleThreshold.at(q.severity);
            q.threshold = threshold;
            const auto row = static_cast<std::size_t>(n * K);
            q.finalCorrect = sc.correct[row + static_cast<std::size_t>(K - 1)] != 0;
            q.ranToEnd = name == "adaptive" && sampled[r];
            if (q.ranToEnd) {
                q.exitTaken = K - 1;  // the whole network ran: its answer is the final exit's
            } else {
                q.exitTaken = outcomes[static_cast<std::size_t>(t)].at(threshold).exitTaken[static_cast<std::size_t>(n)];
            }
            q.correct = sc.correct[row + static_cast<std::size_t>(q.exitTaken)] != 0;
            q.macs = static_cast<double>(cleanVal.exitMacs[static_cast<std::size_t>(q.exitTaken)]);
            if (static_cast<int64_t>(r) - span.first == options.spanRequests) {
                pr.spans.push_back(span.span(fullMacs));
                span = SpanAccumulator();
                span.first = static_cast<int64_t>(r);
                span.severity = q.severity;
            }
            if (segmentStep + 1 < schedule.size() && schedule[segmentStep + 1].fromRequest == static_cast<int64_t>(r)) {
                pr.segments.push_back(segment.span(fullMacs));
                segment = SpanAccumulator();
                segment.first = static_cast<int64_t>(r);
                segment.severity = q.severity;
                ++segmentStep;
            }
            span.add(q);
            segment.add(q);
            total.add(q);
            if (options.keepRequests) report.requests.push_back(q);
            // Re-fitting after the request is answered: what it taught applies to the next ones.
            if (name == "adaptive" && q.ranToEnd) {
                window.emplace_back(t, n);
                if (static_cast<int64_t>(window.size()) > adapt.window) window.pop_front();
                if (++sinceRefit >= adapt.refitEvery) {
                    sinceRefit = 0;
                    const std::vector<std::pair<int, int64_t>> rows(window.begin(), window.end());
                    threshold = fitThreshold(gatherScores(tables, rows, true), grid, adapt.maxDrop);
                }
            }
        }
        pr.spans.push_back(span.span(fullMacs));
        pr.segments.push_back(segment.span(fullMacs));
        pr.total = total.span(fullMacs);
        pr.total.severity = -1;
        for (const auto& s : pr.spans) pr.spansOverBudget += s.drop > adapt.maxDrop + 1e-12;
        report.policies.push_back(std::move(pr));
    }
    return report;
}

} // namespace exitscope::simulator
