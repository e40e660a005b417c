#pragma once

#include "core/policy/confidence.h"
#include "core/policy/policy.h"
#include "core/trace/trace.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace exitscope::core {

/// How a policy decides at a non-final exit.
enum class DecisionRule {
    ScoreAtLeast,     ///< leaves when score >= boundary (confidence with any criterion, budgeted)
    GateAbove,        ///< leaves when the gate probability > boundary (0.5; LEENet gates)
    FixedExit,        ///< leaves at one exit chosen before the image runs (static, anytime)
    EarliestCorrect,  ///< leaves at the first exit that answers correctly (the oracle; needs labels)
};

/// What the policy compared at one exit for one sample.
struct ExitStep {
    int64_t exit = 0;
    /// The value the policy compared (the criterion's score on the
    /// calibrated probabilities, the gate probability, the max softmax for
    /// budgeted); where nothing is compared (fixed exits, the oracle, the
    /// final exit of gates) the max softmax, shown for information.
    float score = 0.0f;
    /// What it was compared against (threshold, 0.5 gate boundary); NaN
    /// where nothing is compared.
    float boundary = 0.0f;
    /// Whether the policy compared score with boundary here (false for fixed
    /// exits, the oracle and the final exit, which always answers).
    bool compared = false;
    bool leaves = false;  ///< the sample left here
};

/// One sample's way through the exits under a policy.
struct SampleDecision {
    int64_t sample = -1;
    int64_t exitTaken = -1;
    int64_t prediction = -1;     ///< argmax of the probabilities at exitTaken
    std::vector<ExitStep> steps; ///< every exit evaluated, in order; the last is exitTaken
};

/// The one place that maps (trace, policy) to exits. Everything that shows
/// or uses an exit, a score or a threshold (CLI, latency model, executor
/// checks, every view) asks a Decider, so they cannot disagree.
///
/// Built once per policy; per-exit scores of confidence and budgeted
/// policies come from ConfidenceScores computed once per criterion and
/// calibration (pass a cache to share them between policies), so deciding
/// all samples costs N*K comparisons.
class Decider {
public:
    /// Checks the policy against the trace (Error naming the field); for
    /// anytime, resolves the exit the budget reaches (Error when none does).
    /// `scores`, when given, must be computeScores(trace, criterion,
    /// temperatures) of this policy's criterion and calibration (budgeted:
    /// max softmax, no temperatures); it is then used instead of recomputing.
    Decider(std::shared_ptr<const Trace> trace, const PolicyConfig& policy,
            std::shared_ptr<const ConfidenceScores> scores = nullptr);
    /// The oracle: the earliest correct exit (or the last), a baseline that reads labels.
    static Decider oracle(std::shared_ptr<const Trace> trace);

    const Trace& trace() const { return *m_trace; }
    /// The policy (kind Static with the oracle's placeholder for the oracle).
    const PolicyConfig& policy() const { return m_policy; }
    bool isOracle() const { return m_rule == DecisionRule::EarliestCorrect; }
    DecisionRule rule() const { return m_rule; }
    /// Whether every exit before the one taken is evaluated (false for fixed exits).
    bool cascade() const { return m_rule != DecisionRule::FixedExit; }
    /// The exit static and anytime policies take; -1 otherwise.
    int64_t fixedExit() const { return m_fixedExit; }
    /// What is compared: "max softmax", "entropy", "margin" (with
    /// "calibrated " before it when temperatures are used), "gate
    /// probability"; for fixed exits and the oracle, "max softmax" (shown,
    /// not compared).
    const std::string& scoreName() const { return m_scoreName; }
    /// What the score is compared against: "threshold", "gate boundary",
    /// "budget" (fixed exits: the budget or the chosen exit), "label" (oracle).
    const std::string& boundaryName() const { return m_boundaryName; }
    /// The comparison as text: ">=", ">" or "" (nothing compared).
    std::string comparison() const;

    /// The boundary at non-final exit k (NaN where nothing is compared, at the final exit, or out of range).
    float boundary(int64_t k) const;
    /// Per non-final exit, the boundaries drawn on gauges; empty for fixed exits and the oracle.
    std::vector<float> boundaries() const;
    /// The value compared at exit k for sample n; for fixed exits, the
    /// oracle and the final exit of gates, the max softmax (shown, not compared).
    float score(int64_t n, int64_t k) const;
    /// Whether exit k (< K-1) is where sample n leaves, judged on that exit alone.
    bool leavesAt(int64_t n, int64_t k) const;

    /// Sample n's way through the exits: Error when n is out of range.
    SampleDecision decide(int64_t n) const;
    /// Every sample's exit and prediction (the same as decide(n) for each n).
    const ExitOutcome& outcome() const { return m_outcome; }

private:
    Decider() = default;
    void computeOutcome();

    std::shared_ptr<const Trace> m_trace;
    PolicyConfig m_policy;
    std::shared_ptr<const ConfidenceScores> m_scores;  // confidence, budgeted
    std::shared_ptr<const ConfidenceScores> m_shown;   // max softmax for rules that compare nothing
    DecisionRule m_rule = DecisionRule::ScoreAtLeast;
    int64_t m_fixedExit = -1;
    std::vector<float> m_boundaries;  // [K-1]
    std::string m_scoreName, m_boundaryName;
    ExitOutcome m_outcome;
};

/// What `policy` compares at its exits: "max softmax", "entropy" or
/// "margin" (with "calibrated " before it when temperatures are used),
/// "gate probability"; "max softmax" for static and anytime (shown, not compared).
std::string policyScoreName(const PolicyConfig& policy);
/// What that is compared against: "threshold", "gate boundary", "chosen exit" (static), "budget" (anytime).
std::string policyBoundaryName(const PolicyConfig& policy);
/// The comparison that makes a sample leave: ">=" or ">"; "" when nothing is compared.
std::string policyComparison(const PolicyConfig& policy);

/// The scores a Decider for `policy` needs (computeScores with the policy's
/// criterion and temperatures; max softmax for every other kind).
std::shared_ptr<const ConfidenceScores> scoresForPolicy(const Trace& trace, const PolicyConfig& policy);

} // namespace exitscope::core
