// The elastic panel's plots (deadline density, the selected image's online
// plan) and comparison table; settings and jobs are in elastic_panel.cpp,
// controls in elastic_panel_controls.cpp.
#include "widgets/elastic/elastic_panel.h"

#include "core/policy/confidence.h"
#include "core/trace/trace.h"
#include "widgets/common/vector_state.h"
#include "widgets/common/plot_export.h"

#include <QLabel>
#include <QTableWidget>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace exitscope::widgets {

namespace {

const QColor kDensityColor(0x4c, 0x9b, 0xe8);
const QColor kBackboneColors[2] = {QColor(0x5d, 0x7f, 0xb0), QColor(0x8d, 0xa9, 0xd0)};
const QColor kRightColor(0x2c, 0xa0, 0x2c);
const QColor kWrongColor(0xd6, 0x27, 0x28);
const QColor kSkippedColor(0x9a, 0x9a, 0x9a);
const QColor kDeadlineColor(0xc0, 0x30, 0x60);
const QColor kMarkColor(0x60, 0x60, 0x60);

constexpr double kBranchRowLow = 1.13, kBranchRowHigh = 1.29;
constexpr double kBackboneRowLow = 1.35, kBackboneRowHigh = 1.51;

QString ms(double v) { return QString::number(v, 'g', 4) + QStringLiteral(" ms"); }

void setUpPlot(QCustomPlot* plot, const QString& xLabel, const QString& yLabel) {
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    if (plot->plotLayout()->rowCount() == 1) {
        // Title above, legend below: nothing covers the data. The same left
        // margin on both plots lines up their time axes.
        plot->plotLayout()->insertRow(0);
        plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, QString(), QFont(plot->font().family(), 9, QFont::Bold)));
        plot->plotLayout()->addElement(2, 0, plot->legend);
        plot->plotLayout()->setRowStretchFactor(2, 0.001);
        plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
        plot->legend->setBorderPen(Qt::NoPen);
        plot->legend->setVisible(true);
        plot->axisRect()->setMinimumMargins(QMargins(120, 8, 12, 8));
    }
}

// As many legend columns as the plot's width holds.
void fitLegend(QCustomPlot* plot) {
    const int columns = plot->width() >= 900 ? 4 : plot->width() >= 600 ? 3 : 2;
    if (plot->legend->wrap() == columns) return;
    plot->legend->setWrap(columns);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);  // re-flows the items
    plot->replot(QCustomPlot::rpQueuedReplot);
}

void setTitle(QCustomPlot* plot, const QString& text) {
    if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0))) title->setText(text);
}

// Empty plottables that only name a box or a line in the legend.
void legendSwatch(QCustomPlot* plot, const QString& name, const QPen& pen, const QBrush& brush) {
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setName(name);
    bars->setPen(pen);
    bars->setBrush(brush);
}

void legendLine(QCustomPlot* plot, const QString& name, const QPen& pen) {
    auto* graph = plot->addGraph();
    graph->setName(name);
    graph->setPen(pen);
}

QCPItemRect* box(QCustomPlot* plot, double x0, double x1, double y0, double y1, const QPen& pen, const QBrush& brush) {
    auto* r = new QCPItemRect(plot);
    r->topLeft->setCoords(x0, y1);
    r->bottomRight->setCoords(x1, y0);
    r->setPen(pen);
    r->setBrush(brush);
    return r;
}

QCPItemText* text(QCustomPlot* plot, double x, double y, const QString& s, const QColor& color,
                  Qt::Alignment align = Qt::AlignCenter) {
    auto* t = new QCPItemText(plot);
    t->position->setCoords(x, y);
    t->setPositionAlignment(align);
    t->setText(s);
    t->setColor(color);
    t->setClipToAxisRect(true);
    return t;
}

} // namespace

void ElasticPanel::replanSelected() {
    m_run = {};
    m_branches.clear();
    QString failure;
    if (m_test && m_selected >= 0) {
        const int64_t K = m_test->numExits;
        try {
            clearUpperVectorState();
            std::mt19937_64 rng(0);
            m_run = core::runOnline(m_profile, m_distMs, planningPredictor(),
                                    m_testConfidence.data() + static_cast<std::size_t>(m_selected) * K, m_method,
                                    m_search, &rng);
        } catch (const std::exception& e) {
            failure = QString::fromUtf8(e.what());
            m_run = {};
        }
        if (failure.isEmpty()) {
            double t = 0.0;
            std::size_t next = 0;
            for (int64_t k = 0; k < K; ++k) {
                t += m_profile.backboneMs[static_cast<std::size_t>(k)];
                PlanBranch b;
                b.exit = k;
                b.startMs = t;
                b.finishMs = t;
                if (next < m_run.exits.size() && m_run.exits[next] == k) {
                    b.run = true;
                    b.finishMs = m_run.finishMs[next++];
                    t = b.finishMs;
                }
                b.confidence = m_testConfidence[static_cast<std::size_t>(m_selected * K + k)];
                b.prediction = core::argmaxOf(m_test->probsOf(m_selected, k), m_test->numClasses);
                b.correct = b.prediction == m_test->labels[static_cast<std::size_t>(m_selected)];
                m_branches.push_back(b);
            }
        }
    }
    drawPlan();
    if (!failure.isEmpty()) m_planSummary->setText(
            QStringLiteral("<span style='color:#b00020'>Planning failed: %1</span>").arg(failure.toHtmlEscaped()));
}

int64_t ElasticPanel::answerAt(double forcedExitMs) const {
    const int64_t i = core::answerIndex(m_run, forcedExitMs);
    return i < 0 ? -1 : m_run.exits[static_cast<std::size_t>(i)];
}

QString ElasticPanel::planSummary() const { return m_planSummary->text(); }

std::vector<double> ElasticPanel::finishMarksMs() const {
    std::vector<double> xs;
    for (const auto* mark : m_finishMarks) xs.push_back(mark->point1->coords().x());
    return xs;
}

bool ElasticPanel::saveDensityPlot(const QString& path, QString* error) const {
    return savePlotFile(m_densityPlot, path, error);
}

bool ElasticPanel::savePlanPlot(const QString& path, QString* error) const {
    return savePlotFile(m_planPlot, path, error);
}

void ElasticPanel::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    fitLegend(m_densityPlot);
    fitLegend(m_planPlot);
}

double ElasticPanel::timeAxisEnd() const {
    if (!m_test) return 1.0;
    const auto range = m_distMs.plotRange();
    return std::max(m_profile.fullMs(), range.second) * 1.04;
}

void ElasticPanel::drawDensity() {
    QCustomPlot* plot = m_densityPlot;
    setUpPlot(plot, QStringLiteral("time since the inference started (ms)"), QStringLiteral("density of T (1/ms)"));
    plot->clearPlottables();
    plot->clearItems();
    m_finishMarks.clear();
    if (!m_test) {
        setTitle(plot, QStringLiteral("Forced-exit time T: load a validation and a test trace"));
        // An empty legend would cap the width of the plot's only column.
        legendLine(plot, QStringLiteral("no traces loaded"), QPen(Qt::gray));
        plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const double end = timeAxisEnd();
    const bool fixed = m_distMs.kind() == core::ForcedExitDistribution::Kind::Fixed;
    double top = 1.0;
    if (fixed) {
        auto* line = new QCPItemStraightLine(plot);
        line->point1->setCoords(m_distMs.mean(), 0.0);
        line->point2->setCoords(m_distMs.mean(), 1.0);
        line->setPen(QPen(kDeadlineColor, 3.0));
        legendLine(plot, QStringLiteral("T (always at this time)"), QPen(kDeadlineColor, 3.0));
        plot->yAxis->setTickLabels(false);
        plot->yAxis->setTicks(false);
        plot->yAxis->setLabel(QString());
    } else {
        auto* graph = plot->addGraph();
        graph->setName(QStringLiteral("density of T"));
        graph->setPen(QPen(kDensityColor.darker(120), 1.6));
        QColor fill = kDensityColor;
        fill.setAlpha(70);
        graph->setBrush(fill);
        constexpr int kPoints = 600;
        QVector<double> xs(kPoints + 1), ys(kPoints + 1);
        top = 0.0;
        for (int i = 0; i <= kPoints; ++i) {
            xs[i] = end * i / kPoints;
            ys[i] = m_distMs.density(xs[i]);
            top = std::max(top, ys[i]);
        }
        graph->setData(xs, ys, true);
        top = top > 0.0 ? top * 1.22 : 1.0;
        auto* mean = new QCPItemStraightLine(plot);
        mean->point1->setCoords(m_distMs.mean(), 0.0);
        mean->point2->setCoords(m_distMs.mean(), 1.0);
        mean->setPen(QPen(kDeadlineColor, 1.4, Qt::DashLine));
        legendLine(plot, QStringLiteral("mean of T"), QPen(kDeadlineColor, 1.4, Qt::DashLine));
        plot->yAxis->setTickLabels(true);
        plot->yAxis->setTicks(true);
    }
    const QPen markPen(kMarkColor, 1.0, Qt::DotLine);
    for (int64_t k = 0; k < m_profile.numExits(); ++k) {
        const double x = m_profile.allBranchesFinishMs(k);
        auto* mark = new QCPItemStraightLine(plot);
        mark->point1->setCoords(x, 0.0);
        mark->point2->setCoords(x, 1.0);
        mark->setPen(markPen);
        m_finishMarks.push_back(mark);
        auto* label = text(plot, x, 0.0, QString::number(k), kMarkColor, Qt::AlignHCenter | Qt::AlignTop);
        label->position->setAxisRect(plot->axisRect());
        label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        label->position->setCoords(x, 0.0);
        label->setFont(QFont(plot->font().family(), 8));
    }
    legendLine(plot, QStringLiteral("branch k finishes (every branch run: %1 in all)").arg(ms(m_profile.fullMs())),
               markPen);
    setTitle(plot, QStringLiteral("Forced-exit time T in ms ~ %1, mean %2")
                       .arg(QString::fromStdString(m_distMs.describe()), ms(m_distMs.mean())));
    plot->xAxis->setRange(0.0, end);
    plot->yAxis->setRange(0.0, top);
    fitLegend(plot);
    plot->replot(QCustomPlot::rpQueuedReplot);
}

void ElasticPanel::drawPlan() {
    QCustomPlot* plot = m_planPlot;
    setUpPlot(plot, QStringLiteral("forced-exit time T (ms)"), QStringLiteral("confidence of the answer"));
    plot->clearPlottables();
    plot->clearItems();
    const double end = timeAxisEnd();
    plot->xAxis->setRange(0.0, end);
    plot->yAxis->setRange(0.0, 1.58);
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    ticker->addTicks({{0.0, QStringLiteral("0")},
                      {0.25, QStringLiteral("0.25")},
                      {0.5, QStringLiteral("0.5")},
                      {0.75, QStringLiteral("0.75")},
                      {1.0, QStringLiteral("1")},
                      {(kBranchRowLow + kBranchRowHigh) / 2, QStringLiteral("branches")},
                      {(kBackboneRowLow + kBackboneRowHigh) / 2, QStringLiteral("backbone")}});
    plot->yAxis->setTicker(ticker);
    if (m_branches.empty()) {
        setTitle(plot, QStringLiteral("The selected image's plan"));
        m_planTitle->setText(m_test ? QStringLiteral("Select an image to see the branches EINet runs for it.")
                                    : QString());
        m_planSummary->clear();
        legendLine(plot, QStringLiteral("no image selected"), QPen(Qt::gray));  // see drawDensity
        plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const int64_t K = static_cast<int64_t>(m_branches.size());
    const double chance = 1.0 / static_cast<double>(m_test->numClasses);
    const double minWidth = end * 0.006;

    legendSwatch(plot, QStringLiteral("backbone"), Qt::NoPen, kBackboneColors[0]);
    legendSwatch(plot, QStringLiteral("branch run, right"), Qt::NoPen, kRightColor);
    legendSwatch(plot, QStringLiteral("branch run, wrong"), Qt::NoPen, kWrongColor);
    legendSwatch(plot, QStringLiteral("branch skipped"), QPen(kSkippedColor, 1.2, Qt::DashLine), Qt::NoBrush);
    for (int64_t k = 0; k < K; ++k) {
        const PlanBranch& b = m_branches[static_cast<std::size_t>(k)];
        const double segStart = b.startMs - m_profile.backboneMs[static_cast<std::size_t>(k)];
        box(plot, segStart, b.startMs, kBackboneRowLow, kBackboneRowHigh, QPen(Qt::white, 0.5), kBackboneColors[k % 2]);
        const double mid = (kBranchRowLow + kBranchRowHigh) / 2;
        if (b.run) {
            const QColor c = b.correct ? kRightColor : kWrongColor;
            box(plot, b.startMs, std::max(b.finishMs, b.startMs + minWidth), kBranchRowLow, kBranchRowHigh,
                QPen(c.darker(130), 0.8), c);
            text(plot, (b.startMs + b.finishMs) / 2, kBranchRowHigh, QString::number(k), c.darker(140),
                 Qt::AlignHCenter | Qt::AlignBottom);
        } else {
            box(plot, b.startMs - minWidth / 2, b.startMs + minWidth / 2, kBranchRowLow + 0.02, kBranchRowHigh - 0.02,
                QPen(kSkippedColor, 1.2, Qt::DashLine), Qt::NoBrush);
            text(plot, b.startMs, mid - 0.12, QString::number(k), kSkippedColor, Qt::AlignHCenter | Qt::AlignTop)
                ->setFont(QFont(plot->font().family(), 7));
        }
    }

    // The answer at each T: a guess before the first branch finishes, then the latest finished branch.
    auto* step = plot->addGraph();
    step->setName(QStringLiteral("answer if T comes then"));
    step->setLineStyle(QCPGraph::lsStepLeft);
    step->setPen(QPen(QColor(0x30, 0x30, 0x30), 1.8));
    auto* right = plot->addGraph();
    right->setName(QStringLiteral("answer right"));
    right->setLineStyle(QCPGraph::lsNone);
    right->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kRightColor, kRightColor, 8));
    auto* wrong = plot->addGraph();
    wrong->setName(QStringLiteral("answer wrong"));
    wrong->setLineStyle(QCPGraph::lsNone);
    wrong->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCross, QPen(kWrongColor, 2.2), Qt::NoBrush, 9));
    step->addData(0.0, chance);
    double last = chance;
    for (const PlanBranch& b : m_branches) {
        if (!b.run) continue;
        step->addData(b.finishMs, b.confidence);
        (b.correct ? right : wrong)->addData(b.finishMs, b.confidence);
        last = b.confidence;
    }
    step->addData(end, last);
    text(plot, 0.0, chance, QStringLiteral(" guess (1/C)"), QColor(0x50, 0x50, 0x50), Qt::AlignLeft | Qt::AlignBottom)
        ->setFont(QFont(plot->font().family(), 7));

    const bool fixed = m_distMs.kind() == core::ForcedExitDistribution::Kind::Fixed;
    const double tShown = m_distMs.mean();
    if (fixed) {
        // The run is cut at T: what the plan would do later never happens.
        box(plot, tShown, end, 0.0, 1.58, Qt::NoPen, QColor(0x80, 0x80, 0x80, 45));
        text(plot, tShown, 0.02, QStringLiteral(" stopped at T: later work is never used"), QColor(0x50, 0x50, 0x50),
             Qt::AlignLeft | Qt::AlignBottom)
            ->setFont(QFont(plot->font().family(), 8));
    }
    auto* tLine = new QCPItemStraightLine(plot);
    tLine->point1->setCoords(tShown, 0.0);
    tLine->point2->setCoords(tShown, 1.0);
    tLine->setPen(QPen(kDeadlineColor, fixed ? 2.4 : 1.4, fixed ? Qt::SolidLine : Qt::DashLine));
    legendLine(plot, fixed ? QStringLiteral("T") : QStringLiteral("mean of T"),
               QPen(kDeadlineColor, fixed ? 2.4 : 1.4, fixed ? Qt::SolidLine : Qt::DashLine));

    const int row = m_selected;
    const int64_t label = m_test->labels[static_cast<std::size_t>(row)];
    const auto className = [this](int64_t c) {
        return c >= 0 && c < m_classNames.size() ? QStringLiteral("%1 (%2)").arg(c).arg(m_classNames[static_cast<int>(c)])
                                                 : QString::number(c);
    };
    setTitle(plot, QStringLiteral("Test image %1, label %2: its online plan against time").arg(row).arg(className(label)));
    m_planTitle->setText(QStringLiteral(
        "Top strips: what runs, in time order \u2014 backbone blocks and the exit branches run for this image "
        "(green right, red wrong; hollow grey: skipped so later branches finish sooner). Line: if the forced exit "
        "comes at time T, the confidence of the answer given then (the latest finished branch; before the first, "
        "a guess)."));

    QStringList ran, skipped;
    for (const PlanBranch& b : m_branches) (b.run ? ran : skipped) << QString::number(b.exit);
    const int64_t answer = answerAt(tShown);
    QString at;
    if (answer < 0) {
        at = QStringLiteral("no branch has finished, so it guesses");
    } else {
        const PlanBranch& b = m_branches[static_cast<std::size_t>(answer)];
        at = QStringLiteral("it answers with branch %1: class %2, confidence %3, %4")
                 .arg(answer)
                 .arg(className(b.prediction))
                 .arg(b.confidence, 0, 'f', 2)
                 .arg(b.correct ? QStringLiteral("right") : QStringLiteral("wrong"));
    }
    QString summary = QStringLiteral("Runs branches %1 of %2").arg(ran.isEmpty() ? QStringLiteral("none") : ran.join(QStringLiteral(", "))).arg(K);
    if (!skipped.isEmpty()) summary += QStringLiteral(" (skips %1)").arg(skipped.join(QStringLiteral(", ")));
    summary += QStringLiteral("; planned %1 time(s)").arg(m_run.searches);
    if (!m_run.steps.empty())
        summary += QStringLiteral(", expected accuracy at the start %1").arg(m_run.steps.front().expectedAccuracy, 0, 'f', 3);
    summary += QStringLiteral(". At %1 = %2 %3.").arg(fixed ? QStringLiteral("T") : QStringLiteral("the mean T"), ms(tShown), at);
    m_planSummary->setText(summary);
    fitLegend(plot);
    plot->replot(QCustomPlot::rpQueuedReplot);
}

void ElasticPanel::fillTable() {
    if (!m_evaluation) {
        m_table->setRowCount(0);
        m_tableCaption->setText(m_test ? QStringLiteral("Comparison with EINet's baselines: evaluating\u2026")
                                       : QStringLiteral("Comparison with EINet's baselines: load traces first."));
        return;
    }
    const auto& ev = *m_evaluation;
    m_table->setRowCount(static_cast<int>(ev.rows.size()));
    for (int i = 0; i < static_cast<int>(ev.rows.size()); ++i) {
        const auto& r = ev.rows[static_cast<std::size_t>(i)];
        const bool oracle = r.key == "oracle";
        const QString cells[5] = {
            QString::fromStdString(r.name), QString::number(100.0 * r.accuracy, 'f', 2) + QStringLiteral("%"),
            QString::number(100.0 * r.expectedAccuracy, 'f', 2) + QStringLiteral("%"),
            oracle ? QStringLiteral("\u2013") : QString::number(r.meanBranchesRun, 'f', 2),
            oracle ? QStringLiteral("\u2013") : QString::number(r.meanAnswered, 'f', 2)};
        for (int c = 0; c < 5; ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            item->setData(Qt::UserRole, QString::fromStdString(r.key));
            if (c > 0) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            if (r.key == "einet") {
                QFont f = item->font();
                f.setBold(true);
                item->setFont(f);
                item->setBackground(QColor(0xff, 0xf6, 0xd5));
            }
            m_table->setItem(i, c, item);
        }
    }
    m_tableCaption->setText(
        QStringLiteral("Comparison with EINet's baselines: %1 test images \u00d7 %2 forced-exit times (mean %3), "
                       "evaluated in %4 s. Accuracy over the drawn times; expected accuracy exactly over T's "
                       "distribution; the oracle knows which exits are right.%5")
            .arg(ev.numSamples)
            .arg(ev.timesPerSample)
            .arg(ms(ev.meanForcedExitMs))
            .arg(m_evalSeconds, 0, 'f', 2)
            .arg(m_predictorOn ? QString()
                               : QStringLiteral(" The CS-Predictor is off: the \u201c+ predictor\u201d rows plan "
                                                "with each exit's mean confidence too.")));
}

} // namespace exitscope::widgets
