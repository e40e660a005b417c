#pragma once

#include <QAbstractTableModel>

namespace exitscope::widgets {

class Explorer;

/// Per true class under the current policy: how many test images, the share
/// answered correctly and the mean exit they left at (core's confusion
/// matrix and per-class mean exit). ValueRole gives plain numbers.
class ClassTableModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { ClassColumn, CountColumn, AccuracyColumn, MeanExitColumn, ColumnCount };
    static constexpr int ValueRole = Qt::UserRole;

    explicit ClassTableModel(Explorer* explorer, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    int columnCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    Explorer* m_explorer;
    QStringList m_names;
};

} // namespace exitscope::widgets
