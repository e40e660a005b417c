#include "widgets/explorer/exit_histogram.h"

#include "widgets/explorer/class_table_model.h"
#include "widgets/explorer/explorer.h"
#include "widgets/common/plot_export.h"

#include <QHeaderView>
#include <QResizeEvent>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace exitscope::widgets {

ExitHistogram::ExitHistogram(Explorer* explorer, QWidget* parent)
    : QWidget(parent), m_explorer(explorer), m_plot(new QCustomPlot), m_classes(new ClassTableModel(explorer, this)),
      m_table(new QTableView) {
    auto* correct = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    auto* wrong = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    correct->setName(QStringLiteral("answered correctly"));
    wrong->setName(QStringLiteral("answered wrongly"));
    correct->setBrush(QColor(0x2c, 0xa0, 0x2c));
    correct->setPen(Qt::NoPen);
    wrong->setBrush(QColor(0xd6, 0x27, 0x28));
    wrong->setPen(Qt::NoPen);
    wrong->moveAbove(correct);
    correct->setWidth(0.7);
    wrong->setWidth(0.7);
    m_plot->xAxis->setLabel(QStringLiteral("Exit where the image left (earliest = 0)"));
    m_plot->yAxis->setLabel(QStringLiteral("Test images"));
    m_ticker.reset(new QCPAxisTickerFixed);
    m_ticker->setTickStep(1.0);
    m_plot->xAxis->setTicker(m_ticker);
    m_plot->legend->setVisible(true);
    // Beside the title rather than over the bars.
    m_plot->plotLayout()->addElement(1, 0, m_plot->legend);
    m_plot->plotLayout()->setRowStretchFactor(1, 0.001);
    m_plot->legend->setWrap(2);
    m_plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->plotLayout()->insertRow(0);
    m_plot->plotLayout()->addElement(0, 0, new QCPTextElement(m_plot, QStringLiteral("Where the images leave")));
    m_plot->setMinimumHeight(130);
    m_plot->setToolTip(QStringLiteral("How many test images leave at each exit, and how many of those are right"));

    m_table->setModel(m_classes);
    m_table->verticalHeader()->hide();
    m_table->setAlternatingRowColors(true);
    m_table->setSortingEnabled(false);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 4);

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(m_plot);
    splitter->addWidget(m_table);
    splitter->setChildrenCollapsible(false);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(splitter);

    connect(explorer, &Explorer::outcomeChanged, this, &ExitHistogram::refresh);
    m_plot->installEventFilter(this);
    refresh();
}

bool ExitHistogram::eventFilter(QObject* watched, QEvent* event) {
    if (watched == m_plot && event->type() == QEvent::Resize) {
        // A short plot (a small dock) gets fewer count ticks, so their labels
        // do not overlap; about 28 pixels a tick, less the title and axis.
        const int height = static_cast<QResizeEvent*>(event)->size().height() - 90;
        m_plot->yAxis->ticker()->setTickCount(std::clamp(height / 28, 2, 5));
    }
    return QWidget::eventFilter(watched, event);
}

void ExitHistogram::refresh() {
    const core::OutcomeMetrics& m = m_explorer->metrics();
    QVector<double> keys, correct, wrong;
    double highest = 0.0;
    for (std::size_t k = 0; k < m.exitHistogram.size(); ++k) {
        const double total = static_cast<double>(m.exitHistogram[k]);
        const double right = std::isnan(m.exitAccuracy[k]) ? 0.0 : std::round(m.exitAccuracy[k] * total);
        keys << static_cast<double>(k);
        correct << right;
        wrong << total - right;
        highest = std::max(highest, total);
    }
    // The count above each bar: small exits stay readable next to a tall one.
    // With many exits the bars are too narrow for numbers; the table has them.
    m_plot->clearItems();
    for (int k = 0; k < keys.size() && keys.size() <= 16; ++k) {
        auto* label = new QCPItemText(m_plot);
        label->position->setCoords(keys[k], correct[k] + wrong[k]);
        label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
        label->setClipToAxisRect(false);  // the tallest bar's count may reach above a short plot's top
        label->setText(QString::number(correct[k] + wrong[k], 'f', 0));
    }
    static_cast<QCPBars*>(m_plot->plottable(0))->setData(keys, correct, true);
    static_cast<QCPBars*>(m_plot->plottable(1))->setData(keys, wrong, true);
    m_plot->xAxis->setRange(-0.6, std::max<double>(1.0, static_cast<double>(keys.size())) - 0.4);
    m_ticker->setTickStep(std::max(1.0, std::ceil(keys.size() / 16.0)));  // 32 numbers do not fit
    m_plot->yAxis->setRange(0.0, std::max(1.0, highest * 1.25));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QVector<double> ExitHistogram::correctBars() const {
    QVector<double> out;
    const auto data = static_cast<QCPBars*>(m_plot->plottable(0))->data();
    for (auto it = data->constBegin(); it != data->constEnd(); ++it) out << it->value;
    return out;
}

QVector<double> ExitHistogram::wrongBars() const {
    QVector<double> out;
    const auto data = static_cast<QCPBars*>(m_plot->plottable(1))->data();
    for (auto it = data->constBegin(); it != data->constEnd(); ++it) out << it->value;
    return out;
}

bool ExitHistogram::savePlot(const QString& path, QString* error) const {
    return savePlotFile(m_plot, path, error);
}

QWidget* ExitHistogram::plotWidget() const {
    return m_plot;
}

} // namespace exitscope::widgets
