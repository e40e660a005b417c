#pragma once

#include "core/policy/anytime.h"
#include "core/policy/budgeted.h"
#include "core/policy/confidence.h"
#include "core/policy/gates.h"
#include "core/trace/trace.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// The kinds of deployable exit policy a tuned config can hold.
enum class PolicyKind { Confidence, Budgeted, Gates, Static, Anytime };

std::string policyKindName(PolicyKind kind);           ///< "confidence", "budgeted", "gates", "static", "anytime"
PolicyKind parsePolicyKind(const std::string& name);    ///< Error naming an unknown kind

/// One deployable exit policy and all its parameters. Only the member for
/// `kind` is used. Both the trace-based evaluation (applyPolicy) and the
/// live executor decide through decideAtExit, so they agree by construction.
struct PolicyConfig {
    PolicyKind kind = PolicyKind::Confidence;
    ConfidencePolicy confidence;   ///< criterion, thresholds, optional temperatures
    BudgetedBatchFit budgeted;     ///< q, q_k, theta_k (max softmax >= theta_k), budget per sample
    GateSet gates;                 ///< LEENet gates (gate > 0.5 exits)
    int64_t staticExit = 0;        ///< every sample leaves at this exit
    double anytimeBudget = 0.0;    ///< per-image budget; the deepest exit finished within it answers
    BudgetUnit anytimeUnit = BudgetUnit::Macs;

    /// Whether decisions need the exit's gate inputs (only LEENet gates do).
    bool needsGateInputs() const { return kind == PolicyKind::Gates; }
};

/// Checks a policy against a model with `numExits` exits (and, for gates,
/// the trace's gate widths when `trace` is given). Error naming the field.
void checkPolicyConfig(const PolicyConfig& policy, int64_t numExits, const Trace* trace = nullptr);

/// For anytime policies, the exit every sample takes given the exit costs
/// (the deepest whose cumulative cost fits the budget; Error when none does).
int64_t anytimeExitFor(const PolicyConfig& policy, const std::vector<int64_t>& exitMacs,
                       const std::vector<float>& exitMs);

/// The value `policy` compares at non-final exit k from that exit's
/// probabilities (C values) and, for gates, raw gate inputs: the criterion's
/// score (on temperature-scaled probabilities when calibrated) for
/// confidence, the max softmax for budgeted, the gate probability for gates;
/// NaN for static and anytime, which compare nothing. `scratch` holds C floats.
float exitScore(const PolicyConfig& policy, int64_t k, const float* probs, int64_t numClasses, const float* gateInputs,
                float* scratch);

/// What exitScore is compared against at non-final exit k: the threshold
/// (confidence, budgeted) or the gate boundary 0.5; NaN for static and anytime.
float exitBoundary(const PolicyConfig& policy, int64_t k);

/// The comparison of a score with its boundary: score >= boundary for
/// confidence and budgeted, score > boundary for gates.
bool scoreLeaves(PolicyKind kind, float score, float boundary);

/// Decides at exit k (of K) from that exit's probabilities (C values) and,
/// for gates, its raw gate inputs; the final exit always answers.
/// `fixedExit` is the exit static and anytime policies take (ignored otherwise).
/// `scratch` holds at least C floats.
bool decideAtExit(const PolicyConfig& policy, int64_t k, int64_t numExits, const float* probs, int64_t numClasses,
                  const float* gateInputs, int64_t fixedExit, float* scratch);

/// The policy applied to every sample of a trace: Decider(trace, policy).outcome()
/// (core/policy/decision.h), the same decisions as decideAtExit at every exit.
ExitOutcome applyPolicy(const Trace& trace, const PolicyConfig& policy);

/// The policy's parameters as JSON ({"kind": ..., ...}); floats round-trip exactly.
nlohmann::json policyToJson(const PolicyConfig& policy);

/// Reads policyToJson's form; Error beginning with `where` naming the bad field.
PolicyConfig policyFromJson(const nlohmann::json& j, const std::string& where);

} // namespace exitscope::core
