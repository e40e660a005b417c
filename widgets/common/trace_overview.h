#pragma once

#include <QPointF>
#include <QString>
#include <QVector>
#include <QWidget>

class QCustomPlot;
class QLabel;
class QTableView;

namespace exitscope::core {
struct Trace;
}

namespace exitscope::widgets {

class ExitSummaryModel;
class KeyValueForm;

/// What one trace holds, at a glance: its size and run metadata (model,
/// weights hash, data set, split, device, ...), a table of the exits with
/// their cost and accuracy, and a plot of accuracy against cumulative MACs
/// with one labelled point per exit. A failed load leaves the shown trace
/// as it was.
class TraceOverview : public QWidget {
    Q_OBJECT

public:
    explicit TraceOverview(QWidget* parent = nullptr);
    ~TraceOverview() override;

    /// Reads the trace at `path` and shows it. On failure returns false,
    /// keeps the previous content and errorString() says what went wrong
    /// (the message names the file).
    bool loadFile(const QString& path);
    /// Shows an already read trace; `source` says where it came from.
    void setTrace(const core::Trace& trace, const QString& source);

    bool hasTrace() const { return m_hasTrace; }
    QString source() const { return m_source; }
    QString errorString() const { return m_error; }

    /// The full value shown for a summary field: "samples", "exits",
    /// "classes", "blocks", "gate_dim", or a metadata key ("split",
    /// "weights_hash", ...). A null QString when the field is not shown.
    QString summaryValue(const QString& key) const;
    const ExitSummaryModel* exitModel() const { return m_model; }
    /// The plotted points, (cumulative MACs in millions, accuracy in %).
    QVector<QPointF> plotPoints() const;

    /// The weights hash of the loaded model; a trace whose metadata names
    /// other weights gets a visible warning. Empty: no comparison.
    void setReferenceWeightsHash(const QString& hash);
    bool showsWeightsMismatch() const { return m_mismatch; }
    /// Whether the trace was merged from shards timed on different device
    /// types (exitscope-cli merge --mixed-devices), which the view warns of.
    bool showsMixedDevices() const { return m_mixedDevices; }

private:
    void updatePlot();
    void updateWarnings();

    QLabel* m_title;
    QLabel* m_warning;
    KeyValueForm* m_summary;
    ExitSummaryModel* m_model;
    QTableView* m_table;
    QCustomPlot* m_plot;
    QString m_source;
    QString m_error;
    QString m_referenceHash;
    bool m_hasTrace = false;
    bool m_mismatch = false;
    bool m_mixedDevices = false;
    QString m_mixedDeviceTypes;
};

} // namespace exitscope::widgets
