#include "widgets/common/sample_path.h"

#include "core/policy/decision.h"
#include "core/trace/trace.h"

namespace exitscope::widgets {

namespace {

std::size_t sz(int64_t v) { return static_cast<std::size_t>(v); }

} // namespace

SamplePath samplePathFromDecision(const core::Decider& decider, int64_t row) {
    const core::Trace& trace = decider.trace();
    const core::SampleDecision d = decider.decide(row);
    SamplePath path;
    for (const core::ExitStep& step : d.steps) {
        path.exitsEvaluated.push_back(step.exit);
        path.confidences.push_back(step.score);
    }
    path.thresholds = decider.boundaries();
    path.scoreName = QString::fromStdString(decider.scoreName());
    path.boundaryName = QString::fromStdString(decider.boundaryName());
    path.comparison = QString::fromStdString(decider.comparison());
    path.exitTaken = d.exitTaken;
    path.predicted = d.prediction;
    path.label = trace.labels[sz(row)];
    const auto split = trace.metadata.find("split");
    path.title = QStringLiteral("%1 sample %2")
                     .arg(split != trace.metadata.end() ? QString::fromStdString(split->second) : QStringLiteral("trace"))
                     .arg(row < static_cast<int64_t>(trace.sampleIndex.size()) ? trace.sampleIndex[sz(row)] : row);
    return path;
}

QString stepText(const SamplePath& path, std::size_t slot, int decimals) {
    if (slot >= path.exitsEvaluated.size() || slot >= path.confidences.size()) return {};
    const int64_t k = path.exitsEvaluated[slot];
    const bool leaves = k == path.exitTaken;
    QString text = QStringLiteral("%1 %2").arg(path.scoreName).arg(path.confidences[slot], 0, 'f', decimals);
    const bool compared = !path.comparison.isEmpty() && k >= 0 && sz(k) < path.thresholds.size();
    if (compared) {
        const bool atLeast = path.comparison == QStringLiteral(">=");
        const QString op = leaves ? (atLeast ? QStringLiteral("\u2265") : QStringLiteral(">"))
                                  : (atLeast ? QStringLiteral("<") : QStringLiteral("\u2264"));
        text += QStringLiteral(" %1 %2 %3").arg(op, path.boundaryName).arg(path.thresholds[sz(k)], 0, 'f', decimals);
    }
    text += leaves ? QStringLiteral(": it left here") : QStringLiteral(", so it went on");
    return text;
}

} // namespace exitscope::widgets
