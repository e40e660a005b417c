#include "widgets/explorer/explorer_settings.h"

namespace exitscope::widgets {

const std::vector<PolicyChoice>& allPolicyChoices() {
    static const std::vector<PolicyChoice> choices = {PolicyChoice::Confidence, PolicyChoice::Budgeted,
                                                      PolicyChoice::Anytime,    PolicyChoice::Gates,
                                                      PolicyChoice::Static,     PolicyChoice::Oracle};
    return choices;
}

QString policyChoiceTitle(PolicyChoice choice) {
    switch (choice) {
    case PolicyChoice::Confidence: return QStringLiteral("Confidence threshold (SPINN)");
    case PolicyChoice::Budgeted: return QStringLiteral("Budgeted batch (MSDNet)");
    case PolicyChoice::Anytime: return QStringLiteral("Anytime budget (MSDNet)");
    case PolicyChoice::Gates: return QStringLiteral("Learned gates (LEENet)");
    case PolicyChoice::Static: return QStringLiteral("Fixed exit (static)");
    case PolicyChoice::Oracle: return QStringLiteral("Oracle (upper bound)");
    }
    return {};
}

QString policyChoiceHelp(PolicyChoice choice) {
    switch (choice) {
    case PolicyChoice::Confidence:
        return QStringLiteral("Each image leaves at the first exit whose confidence reaches the threshold. "
                              "A higher threshold keeps images longer: more accurate, more compute.");
    case PolicyChoice::Budgeted:
        return QStringLiteral("Give an average compute budget per image; thresholds are fitted on the "
                              "validation split so that the whole batch spends about that much.");
    case PolicyChoice::Anytime:
        return QStringLiteral("Every image gets the same budget; it answers from the deepest exit that "
                              "finishes within it.");
    case PolicyChoice::Gates:
        return QStringLiteral("A small learned gate at each exit decides whether to leave. Alpha weighs "
                              "cost against accuracy: 0 cares only about accuracy, 1 only about cost.");
    case PolicyChoice::Static:
        return QStringLiteral("Every image leaves at the same exit, as if the network were cut there.");
    case PolicyChoice::Oracle:
        return QStringLiteral("Each image leaves at the earliest exit that gets it right: the best any "
                              "policy could do. Not deployable (it peeks at the labels).");
    }
    return {};
}

bool ExplorerSettings::operator==(const ExplorerSettings& o) const {
    return policy == o.policy && criterion == o.criterion && calibrated == o.calibrated && perExit == o.perExit &&
           threshold == o.threshold && exitThresholds == o.exitThresholds && budgetMacs == o.budgetMacs &&
           anytimeBudget == o.anytimeBudget && anytimeUnit == o.anytimeUnit && alphaIndex == o.alphaIndex &&
           configGates == o.configGates && staticExit == o.staticExit;
}

} // namespace exitscope::widgets
