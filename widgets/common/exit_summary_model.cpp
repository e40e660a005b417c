#include "widgets/common/exit_summary_model.h"

#include "core/trace/trace.h"
#include "core/policy/confidence.h"

#include <cmath>

namespace exitscope::widgets {

ExitSummaryModel::ExitSummaryModel(QObject* parent) : QAbstractTableModel(parent) {}

void ExitSummaryModel::setTrace(const core::Trace& trace) {
    const std::vector<double> accuracy = core::perExitAccuracy(trace);
    QVector<ExitRow> rows;
    rows.reserve(static_cast<int>(trace.numExits));
    for (int64_t k = 0; k < trace.numExits; ++k) {
        const auto i = static_cast<std::size_t>(k);
        ExitRow row;
        row.exit = static_cast<int>(k);
        row.afterBlock = trace.exitBlock[i];
        row.cumulativeMacs = trace.exitMacs[i];
        row.cumulativeParams = trace.exitParams[i];
        row.msPerSample = trace.exitMs[i];
        row.accuracy = accuracy[i];
        rows.push_back(row);
    }
    beginResetModel();
    m_rows = std::move(rows);
    endResetModel();
}

void ExitSummaryModel::clear() {
    beginResetModel();
    m_rows.clear();
    endResetModel();
}

int ExitSummaryModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int ExitSummaryModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ExitSummaryModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_rows.size() || index.column() >= ColumnCount) {
        return {};
    }
    const ExitRow& row = m_rows.at(index.row());
    if (role == Qt::TextAlignmentRole) {
        return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
    }
    if (role == ValueRole) {
        switch (index.column()) {
        case ExitColumn: return row.exit;
        case BlockColumn: return row.afterBlock;
        case MacsColumn: return row.cumulativeMacs;
        case ParamsColumn: return row.cumulativeParams;
        case MsColumn: return row.msPerSample;
        case AccuracyColumn: return row.accuracy;
        default: return {};
        }
    }
    if (role != Qt::DisplayRole) {
        return {};
    }
    switch (index.column()) {
    case ExitColumn: return QString::number(row.exit);
    case BlockColumn: return QString::number(row.afterBlock);
    case MacsColumn: return QString::number(static_cast<double>(row.cumulativeMacs) / 1e6, 'f', 3);
    case ParamsColumn: return QString::number(static_cast<double>(row.cumulativeParams) / 1e3, 'f', 1);
    case MsColumn: return QString::number(row.msPerSample, 'f', 4);
    case AccuracyColumn:
        // An empty trace has no accuracy; a dash says so instead of a made-up 0 %.
        return std::isnan(row.accuracy) ? QStringLiteral("\u2013")
                                        : QString::number(row.accuracy * 100.0, 'f', 2);
    default: return {};
    }
}

QVariant ExitSummaryModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    if (role == Qt::DisplayRole) {
        switch (section) {
        case ExitColumn: return QStringLiteral("Exit");
        case BlockColumn: return QStringLiteral("After block");
        case MacsColumn: return QStringLiteral("MACs (M)");
        case ParamsColumn: return QStringLiteral("Params (k)");
        case MsColumn: return QStringLiteral("ms / sample");
        case AccuracyColumn: return QStringLiteral("Accuracy (%)");
        default: return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case ExitColumn: return QStringLiteral("Exit index, from the earliest (0)");
        case BlockColumn: return QStringLiteral("Backbone block after which the exit head reads its input");
        case MacsColumn:
            return QStringLiteral("Multiply-accumulates per sample to reach this exit, in millions "
                                  "(backbone blocks plus every head up to this one)");
        case ParamsColumn: return QStringLiteral("Parameters used up to this exit, in thousands");
        case MsColumn: return QStringLiteral("Measured median time per sample to reach this exit");
        case AccuracyColumn:
            return QStringLiteral("Share of samples whose top class at this exit alone is their label");
        default: return {};
        }
    }
    return {};
}

} // namespace exitscope::widgets
