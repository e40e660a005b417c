#pragma once

#include <QAbstractTableModel>
#include <QVector>

#include <cstdint>

namespace exitscope::core {
struct Trace;
}

namespace exitscope::widgets {

/// A table with one row per exit of a trace: where the exit sits, what it
/// costs to reach (cumulative MACs and parameters, measured time) and how
/// accurate it is on its own. The model keeps only these per-exit figures,
/// not the trace. Qt::DisplayRole gives formatted text; ValueRole gives the
/// plain number (MACs and parameters as counts, milliseconds, accuracy as a
/// fraction in [0, 1], NaN when the trace has no samples).
class ExitSummaryModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        ExitColumn,
        BlockColumn,
        MacsColumn,
        ParamsColumn,
        MsColumn,
        AccuracyColumn,
        ColumnCount
    };
    static constexpr int ValueRole = Qt::UserRole;

    /// The figures of one exit, in plain units.
    struct ExitRow {
        int exit = 0;
        qint64 afterBlock = 0;
        qint64 cumulativeMacs = 0;
        qint64 cumulativeParams = 0;
        double msPerSample = 0.0;
        double accuracy = 0.0;  ///< fraction in [0, 1]; NaN without samples
    };

    explicit ExitSummaryModel(QObject* parent = nullptr);

    /// Replaces the rows with the exits of `trace` (a reset of the model).
    void setTrace(const core::Trace& trace);
    void clear();

    const QVector<ExitRow>& rows() const { return m_rows; }

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    int columnCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVector<ExitRow> m_rows;
};

} // namespace exitscope::widgets
