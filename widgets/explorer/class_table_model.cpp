#include "widgets/explorer/class_table_model.h"

#include "widgets/explorer/explorer.h"

#include <cmath>

namespace exitscope::widgets {

ClassTableModel::ClassTableModel(Explorer* explorer, QObject* parent)
    : QAbstractTableModel(parent), m_explorer(explorer) {
    connect(explorer, &Explorer::tracesChanged, this, [this] {
        beginResetModel();
        m_names = m_explorer->classNames();
        endResetModel();
    });
    connect(explorer, &Explorer::outcomeChanged, this, [this] {
        if (!m_names.isEmpty()) emit dataChanged(index(0, 0), index(static_cast<int>(m_names.size()) - 1, ColumnCount - 1));
    });
    m_names = explorer->classNames();
}

int ClassTableModel::rowCount(const QModelIndex& parent) const {
    const auto& confusion = m_explorer->metrics().confusion;
    return parent.isValid() ? 0 : std::min(static_cast<int>(m_names.size()), static_cast<int>(confusion.size()));
}

int ClassTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ClassTableModel::data(const QModelIndex& index, int role) const {
    const core::OutcomeMetrics& m = m_explorer->metrics();
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const auto c = static_cast<std::size_t>(index.row());
    int64_t count = 0;
    for (int64_t v : m.confusion[c]) count += v;
    const double accuracy = count > 0 ? static_cast<double>(m.confusion[c][c]) / static_cast<double>(count) : NAN;
    const double meanExit = c < m.classMeanExit.size() ? m.classMeanExit[c] : NAN;
    if (role == Qt::TextAlignmentRole && index.column() != ClassColumn) {
        return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
    }
    if (role == ValueRole) {
        switch (index.column()) {
        case ClassColumn: return index.row();
        case CountColumn: return static_cast<qlonglong>(count);
        case AccuracyColumn: return accuracy;
        case MeanExitColumn: return meanExit;
        default: return {};
        }
    }
    if (role != Qt::DisplayRole) return {};
    const QString dash = QStringLiteral("\u2013");
    switch (index.column()) {
    case ClassColumn: return m_names.value(index.row());
    case CountColumn: return QString::number(count);
    case AccuracyColumn: return std::isnan(accuracy) ? dash : QString::number(accuracy * 100.0, 'f', 1);
    case MeanExitColumn: return std::isnan(meanExit) ? dash : QString::number(meanExit, 'f', 2);
    default: return {};
    }
}

QVariant ClassTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case ClassColumn: return QStringLiteral("True class");
        case CountColumn: return QStringLiteral("Images");
        case AccuracyColumn: return QStringLiteral("Accuracy (%)");
        case MeanExitColumn: return QStringLiteral("Mean exit");
        default: return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case AccuracyColumn: return QStringLiteral("Share of this class's images answered correctly");
        case MeanExitColumn:
            return QStringLiteral("The average exit this class's images leave at: easy classes leave early");
        default: return {};
        }
    }
    return {};
}

} // namespace exitscope::widgets
