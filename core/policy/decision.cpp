#include "core/policy/decision.h"

#include "core/common/error.h"
#include "core/policy/baselines.h"
#include "core/policy/budgeted.h"
#include "core/policy/gates.h"

#include <cmath>
#include <limits>

namespace exitscope::core {

namespace {

std::size_t sz(int64_t v) { return static_cast<std::size_t>(v); }

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

} // namespace

namespace {

// "max-softmax" reads "max softmax" in a sentence.
std::string spoken(ConfidenceCriterion criterion) {
    std::string name = criterionName(criterion);
    for (char& c : name)
        if (c == '-') c = ' ';
    return name;
}

} // namespace

std::string policyScoreName(const PolicyConfig& policy) {
    switch (policy.kind) {
    case PolicyKind::Confidence:
        return (policy.confidence.temperatures.empty() ? "" : "calibrated ") + spoken(policy.confidence.criterion);
    case PolicyKind::Gates: return "gate probability";
    default: return spoken(ConfidenceCriterion::MaxSoftmax);
    }
}

std::string policyBoundaryName(const PolicyConfig& policy) {
    switch (policy.kind) {
    case PolicyKind::Gates: return "gate boundary";
    case PolicyKind::Static: return "chosen exit";
    case PolicyKind::Anytime: return "budget";
    default: return "threshold";
    }
}

std::string policyComparison(const PolicyConfig& policy) {
    switch (policy.kind) {
    case PolicyKind::Confidence:
    case PolicyKind::Budgeted: return ">=";
    case PolicyKind::Gates: return ">";
    default: return "";
    }
}

std::shared_ptr<const ConfidenceScores> scoresForPolicy(const Trace& trace, const PolicyConfig& policy) {
    if (policy.kind == PolicyKind::Confidence)
        return std::make_shared<const ConfidenceScores>(
            computeScores(trace, policy.confidence.criterion, policy.confidence.temperatures));
    return std::make_shared<const ConfidenceScores>(computeScores(trace, ConfidenceCriterion::MaxSoftmax));
}

Decider::Decider(std::shared_ptr<const Trace> trace, const PolicyConfig& policy,
                 std::shared_ptr<const ConfidenceScores> scores)
    : m_trace(std::move(trace)), m_policy(policy) {
    if (!m_trace) throw Error("no trace to decide on");
    const Trace& t = *m_trace;
    checkPolicyConfig(policy, t.numExits, &t);
    const int64_t K = t.numExits;
    const bool confidence = policy.kind == PolicyKind::Confidence;
    const ConfidenceCriterion wanted = confidence ? policy.confidence.criterion : ConfidenceCriterion::MaxSoftmax;
    const std::vector<float> wantedT = confidence ? policy.confidence.temperatures : std::vector<float>{};
    if (scores && (scores->criterion != wanted || scores->temperatures != wantedT || scores->numSamples != t.numSamples ||
                   scores->numExits != K))
        throw Error("internal: the scores given to the decider are of another criterion, calibration or trace");
    m_scores = scores ? std::move(scores) : scoresForPolicy(t, policy);
    m_shown = m_scores;
    if (policy.kind != PolicyKind::Static && policy.kind != PolicyKind::Anytime)
        for (int64_t k = 0; k + 1 < K; ++k) m_boundaries.push_back(exitBoundary(policy, k));
    switch (policy.kind) {
    case PolicyKind::Confidence:
    case PolicyKind::Budgeted:
        m_rule = DecisionRule::ScoreAtLeast;
        break;
    case PolicyKind::Gates:
        m_rule = DecisionRule::GateAbove;
        break;
    case PolicyKind::Static:
        m_rule = DecisionRule::FixedExit;
        m_fixedExit = policy.staticExit;
        break;
    case PolicyKind::Anytime:
        m_rule = DecisionRule::FixedExit;
        m_fixedExit = anytimeExitFor(policy, t.exitMacs, t.exitMs);
        break;
    }
    m_scoreName = policyScoreName(policy);
    m_boundaryName = policyBoundaryName(policy);
    computeOutcome();
}

Decider Decider::oracle(std::shared_ptr<const Trace> trace) {
    if (!trace) throw Error("no trace to decide on");
    Decider d;
    d.m_trace = std::move(trace);
    d.m_policy.kind = PolicyKind::Static;
    d.m_rule = DecisionRule::EarliestCorrect;
    d.m_scores = d.m_shown = scoresForPolicy(*d.m_trace, d.m_policy);
    d.m_scoreName = spoken(ConfidenceCriterion::MaxSoftmax);
    d.m_boundaryName = "label";
    d.m_outcome = oracleExit(*d.m_trace);
    return d;
}

void Decider::computeOutcome() {
    const Trace& t = *m_trace;
    switch (m_rule) {
    case DecisionRule::ScoreAtLeast:
        // The rule on the cached scores: the same comparison as leavesAt().
        // Budgeted thresholds may close an exit (just above 1), which the
        // confidence thresholds' range check refuses.
        m_outcome = m_policy.kind == PolicyKind::Budgeted ? evaluateBudgetedBatch(*m_scores, m_policy.budgeted)
                                                          : evaluate(*m_scores, m_boundaries);
        break;
    case DecisionRule::GateAbove: {
        const auto N = sz(t.numSamples);
        m_outcome.exitTaken.resize(N);
        m_outcome.prediction.resize(N);
        for (int64_t n = 0; n < t.numSamples; ++n) {
            int64_t k = 0;
            while (!leavesAt(n, k)) ++k;
            m_outcome.exitTaken[sz(n)] = k;
            m_outcome.prediction[sz(n)] = argmaxOf(t.probsOf(n, k), t.numClasses);
        }
        break;
    }
    case DecisionRule::FixedExit: m_outcome = staticExit(t, m_fixedExit); break;
    case DecisionRule::EarliestCorrect: m_outcome = oracleExit(t); break;
    }
}

std::string Decider::comparison() const { return isOracle() ? "" : policyComparison(m_policy); }

float Decider::boundary(int64_t k) const {
    if (k < 0 || k >= static_cast<int64_t>(m_boundaries.size())) return kNaN;
    return m_boundaries[sz(k)];
}

std::vector<float> Decider::boundaries() const { return m_boundaries; }

float Decider::score(int64_t n, int64_t k) const {
    const Trace& t = *m_trace;
    if (n < 0 || n >= t.numSamples || k < 0 || k >= t.numExits) return kNaN;
    if (m_rule == DecisionRule::GateAbove && k + 1 < t.numExits)
        return gateProbability(m_policy.gates, k, t.gateInputs.data() + sz((n * t.numExits + k) * t.gateDim));
    return m_shown->score(n, k);
}

bool Decider::leavesAt(int64_t n, int64_t k) const {
    const Trace& t = *m_trace;
    if (k >= t.numExits - 1) return true;
    switch (m_rule) {
    case DecisionRule::ScoreAtLeast:
    case DecisionRule::GateAbove: return scoreLeaves(m_policy.kind, score(n, k), m_boundaries[sz(k)]);
    case DecisionRule::FixedExit: return k == m_fixedExit;
    case DecisionRule::EarliestCorrect: return m_scores->correct[sz(n * t.numExits + k)] != 0;
    }
    return true;
}

SampleDecision Decider::decide(int64_t n) const {
    const Trace& t = *m_trace;
    if (n < 0 || n >= t.numSamples)
        throw Error("sample " + std::to_string(n) + " is outside the trace's " + std::to_string(t.numSamples) +
                    " samples");
    SampleDecision d;
    d.sample = n;
    const bool compares = m_rule == DecisionRule::ScoreAtLeast || m_rule == DecisionRule::GateAbove;
    for (int64_t k = cascade() ? 0 : m_fixedExit; k < t.numExits; ++k) {
        ExitStep step;
        step.exit = k;
        step.score = score(n, k);
        step.compared = compares && k + 1 < t.numExits;
        step.boundary = step.compared ? m_boundaries[sz(k)] : kNaN;
        step.leaves = leavesAt(n, k);
        d.steps.push_back(step);
        if (step.leaves) break;
    }
    d.exitTaken = d.steps.back().exit;
    d.prediction = argmaxOf(t.probsOf(n, d.exitTaken), t.numClasses);
    return d;
}

} // namespace exitscope::core
