#pragma once

#include <QMetaType>
#include <QString>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace exitscope::core {
class Decider;
}

namespace exitscope::widgets {

/// One image's way through the network, in plain data: which exits were
/// evaluated, the value the policy compared at each and what it was
/// compared against, where it left and what it answered. Made from the
/// decision API (samplePathFromDecision) or by the live executor
/// (app/gui/live_runner.h, with `live` set), never by a rule of its own.
struct SamplePath {
    std::vector<int64_t> exitsEvaluated;  ///< in order; the last one is exitTaken
    std::vector<float> confidences;       ///< one per evaluated exit: the value the policy compared (scoreName)
    std::vector<float> thresholds;        ///< per non-final exit, what it is compared against; empty: nothing compared
    QString scoreName = QStringLiteral("max softmax");   ///< what `confidences` hold
    QString boundaryName = QStringLiteral("threshold");  ///< what `thresholds` hold
    QString comparison;                   ///< ">=" or ">" (leaves when score compares so); empty: nothing compared
    int64_t exitTaken = -1;               ///< -1: no path
    int64_t predicted = -1;
    int64_t label = -1;                   ///< -1: unknown (a dropped image)
    int64_t blocksOnDevice = -1;          ///< split for this path; -1: the view's own split (setSplit)
    bool live = false;                    ///< computed by the real executor, not read from a trace
    QString title;                        ///< "test sample 123", a file name, ...

    bool isValid() const { return exitTaken >= 0; }
};

/// The path of trace row `row` as `decider` decides it: the exits it
/// evaluates (every one up to the exit taken, or only the fixed exit), the
/// scores it compares and their boundaries. Error when row is out of range.
SamplePath samplePathFromDecision(const core::Decider& decider, int64_t row);

/// One plain-text line for exit slot `slot` of `path`: "entropy 0.821 <
/// threshold 0.900, so it went on", "gate probability 0.73 > gate boundary
/// 0.50: it left here", "max softmax 0.91: it left here" (nothing compared).
/// Callers escape it for rich text.
QString stepText(const SamplePath& path, std::size_t slot, int decimals = 3);

} // namespace exitscope::widgets

// Paths travel in QVariant from worker threads (app/gui/live_runner.h) and in queued signals.
Q_DECLARE_METATYPE(exitscope::widgets::SamplePath)
