#pragma once

#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <memory>
#include <vector>

class QComboBox;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QSpinBox;
class QTableWidget;

namespace exitscope::core {
struct Trace;
}

namespace exitscope::widgets {

class Explorer;
class JobRunner;

/// Shifted data: traces of corrupted images of one corruption at several
/// severities (exitscope-cli profile --corrupt), opened together with the
/// clean test trace, and how the current policy's accuracy, cost and exit
/// histogram move with severity (a plot and a table), re-evaluated whenever
/// the policy changes. A chosen severity can be shown in the gallery.
class ShiftPanel : public QWidget {
    Q_OBJECT

public:
    explicit ShiftPanel(Explorer* explorer, QWidget* parent = nullptr);
    ~ShiftPanel() override;

    /// Adds a corrupted trace (or the clean one, severity 0). False with
    /// errorString() set when it cannot be read, is of other weights than the
    /// explorer's test trace, of another corruption than those added, or
    /// repeats a severity.
    bool addTrace(const QString& path);
    void clear();
    QString errorString() const { return m_error; }

    /// Severities shown, ascending, and per severity the policy's accuracy
    /// and mean MACs as a share of the full network (tests).
    std::vector<int> severities() const;
    double accuracyAt(int severity) const;
    double macsShareAt(int severity) const;
    QString corruption() const { return m_kind; }

    /// Runs the drifting stream (simulator/drift/drift.h) over the clean
    /// validation trace and the traces shown, off the GUI thread: `schedule`
    /// "REQ:SEV,...", `adapt` "share=S,max-drop=D[,window=W][,refit=R]".
    /// Returns the job id; 0 with errorString() set when the input is bad.
    quint64 simulateDrift(const QString& schedule, const QString& adapt, int64_t requests);
    /// The last drift result's text (per policy: drop, MACs, share run to the end); empty before one.
    QString driftSummary() const;
    JobRunner* driftRunner() const { return m_runner; }

signals:
    /// The user asked to see the trace at `path` in the gallery and the other views.
    void showTraceRequested(const QString& path);
    /// The user asked to add traces (the app opens a file dialog).
    void addTracesRequested();

private:
    struct Entry;
    void refresh();
    void showDrift(const QVariant& result);

    Explorer* m_explorer;
    std::vector<std::unique_ptr<Entry>> m_entries;  // ascending severity
    QString m_kind;
    QString m_error;
    QLabel* m_note;
    QCustomPlot* m_plot;
    QTableWidget* m_table;
    QComboBox* m_show;
    QLineEdit* m_schedule;
    QLineEdit* m_adapt;
    QSpinBox* m_requests;
    QCustomPlot* m_driftPlot;
    QLabel* m_driftNote;
    JobRunner* m_runner;
};

} // namespace exitscope::widgets
