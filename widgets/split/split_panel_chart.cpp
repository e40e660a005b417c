// The split panel's chart, tooltips and tables; controls and re-planning are in split_panel.cpp.
#include "widgets/split/split_panel.h"
#include "widgets/common/plot_export.h"

#include "simulator/schedule/latency_model.h"

#include <QTableWidget>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace exitscope::widgets {

namespace {

const QColor kDeviceColor(0x4c, 0x9b, 0xe8);
const QColor kEncodeColor(0x8e, 0x6c, 0xc8);
const QColor kTransferColor(0xf2, 0xa1, 0x3a);
const QColor kServerColor(0xe0, 0x6a, 0x4f);

QString bytesText(double bytes) {
    if (bytes >= 1024.0 * 1024.0) return QString::number(bytes / (1024.0 * 1024.0), 'f', 2) + QStringLiteral(" MiB");
    if (bytes >= 1024.0) return QString::number(bytes / 1024.0, 'f', 1) + QStringLiteral(" KiB");
    return QString::number(bytes, 'f', 0) + QStringLiteral(" B");
}

QString msText(double ms) {
    if (ms >= 1000.0) return QString::number(ms / 1000.0, 'f', 2) + QStringLiteral(" s");
    return QString::number(ms, 'f', ms < 10 ? 2 : 1) + QStringLiteral(" ms");
}

} // namespace

QString SplitPanel::barToolTip(std::size_t i) const {
    if (i >= m_bars.size()) return {};
    const SplitBar& b = m_bars[i];
    QString text = QStringLiteral("<b>%1</b><br>").arg(b.label);
    if (!b.feasible) text += QStringLiteral("Cannot meet the goal: %1<br>Shown: %2<br>").arg(b.note, b.profile);
    else text += QStringLiteral("Exit profile: %1<br>").arg(b.profile);
    text += QStringLiteral("device %1 + encode %2 + transfer %3 + server %4 = %5<br>accuracy %6%, %7 sent per image")
                .arg(msText(b.deviceMs), msText(b.encodeMs), msText(b.transferMs), msText(b.serverMs),
                     msText(b.totalMs()))
                .arg(100.0 * b.accuracy, 0, 'f', 2)
                .arg(bytesText(b.meanBytes));
    return text;
}

void SplitPanel::updateChart() {
    m_plot->clearPlottables();
    m_plot->clearItems();
    auto ticker = qSharedPointerCast<QCPAxisTickerText>(m_plot->xAxis->ticker());
    ticker->clear();
    const QString names[4] = {QStringLiteral("device compute"), QStringLiteral("encode"),
                              QStringLiteral("transfer (upload, RTT, reply)"), QStringLiteral("server compute")};
    const QColor colors[4] = {kDeviceColor, kEncodeColor, kTransferColor, kServerColor};
    QCPBars* stacks[2][4] = {};
    for (int set = 0; set < 2; ++set) {
        for (int c = 0; c < 4; ++c) {
            auto* bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
            bars->setWidth(0.62);
            bars->setStackingGap(0);
            QColor fill = colors[c];
            if (set == 1) fill.setAlpha(60);
            bars->setBrush(fill);
            bars->setPen(QPen(fill.darker(130), 0.8));
            bars->setName(names[c]);
            if (c > 0) bars->moveAbove(stacks[set][c - 1]);
            if (set == 1) bars->removeFromLegend();
            stacks[set][c] = bars;
        }
    }
    double top = 0.0, smallest = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < m_bars.size(); ++i) {
        const SplitBar& b = m_bars[i];
        const double key = static_cast<double>(i);
        const double parts[4] = {b.deviceMs, b.encodeMs, b.transferMs, b.serverMs};
        for (int c = 0; c < 4; ++c) stacks[b.feasible ? 0 : 1][c]->addData(key, parts[c]);
        ticker->addTick(key, b.label);
        top = std::max(top, b.totalMs());
        smallest = std::min(smallest, b.totalMs());
    }
    const int64_t chosen = chosenBlocksOnDevice();
    double chosenTotal = 0.0;
    for (const SplitBar& b : m_bars)
        if (b.blocksOnDevice == chosen) chosenTotal = b.totalMs();
    // One very slow split (a big state over a slow link) would flatten every
    // other bar; the axis stops at a few times the interesting ones instead.
    const double cap = 4.0 * std::max({chosenTotal, std::isfinite(smallest) ? smallest : 0.0, 1e-3});
    const double axisTop = std::min(top, cap) * 1.3 + 1e-9;
    for (std::size_t i = 0; i < m_bars.size(); ++i) {
        const SplitBar& b = m_bars[i];
        const double key = static_cast<double>(i);
        auto* label = new QCPItemText(m_plot);
        label->position->setCoords(key, std::min(b.totalMs(), axisTop / 1.3));
        label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
        label->setPadding(QMargins(0, 0, 0, 3));
        QString text = b.feasible ? QStringLiteral("%1%").arg(100.0 * b.accuracy, 0, 'f', 1) : QStringLiteral("\u2718 goal");
        text += QStringLiteral("\n") + bytesText(b.meanBytes);
        if (b.totalMs() > axisTop / 1.3) text = msText(b.totalMs()) + QStringLiteral(" \u2191\n") + text;
        label->setText(text);
        label->setColor(b.feasible ? Qt::black : Qt::gray);
        if (b.blocksOnDevice == chosen) {
            auto* frame = new QCPItemRect(m_plot);
            frame->topLeft->setCoords(key - 0.45, std::min(b.totalMs(), axisTop / 1.3) + axisTop * 0.13);
            frame->bottomRight->setCoords(key + 0.45, 0.0);
            frame->setPen(QPen(QColor(0x20, 0x20, 0x20), 2.0, Qt::DashLine));
            frame->setBrush(Qt::NoBrush);
            label->setFont([&] {
                QFont f = font();
                f.setBold(true);
                return f;
            }());
        }
    }
    m_plot->xAxis->setRange(-0.6, static_cast<double>(std::max<std::size_t>(m_bars.size(), 1)) - 0.4);
    m_plot->yAxis->setRange(0.0, axisTop > 1e-6 ? axisTop : 1.0);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void SplitPanel::updateTables() {
    const auto& splits = m_scheduler->model().splits();
    auto row = [&](const QString& name, bool feasible, const simulator::DesignFigures& f, bool bold) {
        const int r = m_baselines->rowCount();
        m_baselines->insertRow(r);
        const QStringList cells{name,
                                feasible ? QStringLiteral("yes") : QStringLiteral("no"),
                                QString::fromStdString(simulator::splitLabel(splits[f.split].blocksOnDevice, m_numBlocks)),
                                QStringLiteral("%1%").arg(100.0 * f.accuracy, 0, 'f', 2),
                                msText(f.meanMs),
                                msText(f.p95Ms),
                                bytesText(f.meanBytes)};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            QFont font = item->font();
            font.setBold(bold);
            item->setFont(font);
            if (c == 1) item->setForeground(feasible ? QColor(0x2c, 0xa0, 0x2c) : QColor(0xb0, 0x00, 0x20));
            m_baselines->setItem(r, c, item);
        }
    };
    m_baselines->setRowCount(0);
    if (m_plan.feasible) row(QStringLiteral("Chosen design"), true, m_plan.best, true);
    for (const auto& b : m_plan.baselines) row(QString::fromStdString(b.name), b.feasible, b.figures, false);

    const QString goal = QString::fromStdString(simulator::describeGoal(m_goal));
    if (m_plan.feasible) {
        const auto& f = m_plan.best;
        const auto& profile = m_scheduler->profiles()[f.profile];
        m_chosen->setText(
            QStringLiteral("<b>Goal:</b> %1<br><b>Chosen:</b> %2, %3 \u2014 accuracy %4%, mean %5, 95th pct. %6, "
                           "%7 sent per image (%8% of images finish on the device), %9 images/s")
                .arg(goal.toHtmlEscaped(),
                     QString::fromStdString(simulator::splitLabel(splits[f.split].blocksOnDevice, m_numBlocks)),
                     profile.threshold >= 0 ? QStringLiteral("exit when confidence \u2265 %1").arg(profile.threshold, 0, 'f', 2)
                                            : QString::fromStdString(profile.label).toHtmlEscaped())
                .arg(100.0 * f.accuracy, 0, 'f', 2)
                .arg(msText(f.meanMs), msText(f.p95Ms), bytesText(f.meanBytes))
                .arg(100.0 * f.fractionOnDevice, 0, 'f', 0)
                .arg(f.throughputPerS, 0, 'f', 0));
        m_explanation->hide();
    } else {
        m_chosen->setText(QStringLiteral("<b>Goal:</b> %1<br><b>No design meets the goal.</b>").arg(goal.toHtmlEscaped()));
        m_explanation->setText(QString::fromStdString(m_plan.explanation));
        m_explanation->show();
    }
}

bool SplitPanel::savePlot(const QString& path, QString* error) const { return savePlotFile(m_plot, path, error); }

} // namespace exitscope::widgets
