#pragma once

#include "core/policy/anytime.h"
#include "core/policy/confidence.h"

#include <QString>

#include <vector>

namespace exitscope::widgets {

/// The policies the explorer can show: the deployable kinds of
/// core::PolicyKind plus the oracle, an upper bound no real policy reaches.
enum class PolicyChoice { Confidence, Budgeted, Anytime, Gates, Static, Oracle };

/// All policy choices in the order the controls list them.
const std::vector<PolicyChoice>& allPolicyChoices();
/// What the user reads for a choice ("Confidence threshold (SPINN)", ...).
QString policyChoiceTitle(PolicyChoice choice);
/// One or two sentences on what the policy does, for a person new to early exits.
QString policyChoiceHelp(PolicyChoice choice);

/// Every control of the explorer in one value, so that a change is one
/// comparable, undoable step. Values outside their range are clamped by
/// Explorer (see Explorer::sanitized) rather than rejected.
struct ExplorerSettings {
    PolicyChoice policy = PolicyChoice::Confidence;
    core::ConfidenceCriterion criterion = core::ConfidenceCriterion::MaxSoftmax;
    bool calibrated = false;           ///< temperature scaling fitted on the validation trace
    bool perExit = false;              ///< one threshold per exit instead of one for all
    float threshold = 0.9f;            ///< the global threshold, in [0, 1]
    std::vector<float> exitThresholds; ///< [K-1], used when perExit
    double budgetMacs = 0.0;           ///< budgeted batch: average MACs per sample
    double anytimeBudget = 0.0;        ///< anytime: per-image budget in anytimeUnit
    core::BudgetUnit anytimeUnit = core::BudgetUnit::Macs;
    int alphaIndex = 10;               ///< LEENet gates: index into the alpha grid
    bool configGates = false;          ///< LEENet gates: use the gates of an opened tuned config instead
    int staticExit = 0;                ///< static: the exit every image takes

    bool operator==(const ExplorerSettings& other) const;
    bool operator!=(const ExplorerSettings& other) const { return !(*this == other); }
};

} // namespace exitscope::widgets
