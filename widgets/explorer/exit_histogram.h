#pragma once

#include <QSharedPointer>
#include <QVector>
#include <QWidget>

class QCPAxisTickerFixed;
class QCustomPlot;
class QTableView;

namespace exitscope::widgets {

class ClassTableModel;
class Explorer;

/// Where the test images leave under the current policy: a bar per exit,
/// split into correct (green) and wrong (red) answers, and below it a
/// per-class table of image count, accuracy and mean exit.
class ExitHistogram : public QWidget {
    Q_OBJECT

public:
    QSize sizeHint() const override { return {540, 440}; }
    explicit ExitHistogram(Explorer* explorer, QWidget* parent = nullptr);

    /// The bar heights drawn: correct and wrong images per exit.
    QVector<double> correctBars() const;
    QVector<double> wrongBars() const;
    ClassTableModel* classModel() const { return m_classes; }
    QTableView* classTable() const { return m_table; }
    bool savePlot(const QString& path, QString* error) const;
    QWidget* plotWidget() const;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void refresh();

    Explorer* m_explorer;
    QCustomPlot* m_plot;
    QSharedPointer<QCPAxisTickerFixed> m_ticker;
    ClassTableModel* m_classes;
    QTableView* m_table;
};

} // namespace exitscope::widgets
