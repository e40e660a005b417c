#include "widgets/explorer/tradeoff_plot.h"

#include "widgets/explorer/explorer.h"
#include "widgets/common/plot_export.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace exitscope::widgets {

namespace {

enum Layer { ConfidenceCurve, BudgetedCurve, GatesCurve, StaticPoints, OraclePoint, CurrentPoint, LayerCount };

const char* const kCurveNames[] = {"confidence", "budgeted", "gates", "static", "oracle", "current"};

QCPCurve* curveAt(QCustomPlot* plot, int layer) {
    return static_cast<QCPCurve*>(plot->plottable(layer));
}

} // namespace

TradeoffPlot::TradeoffPlot(Explorer* explorer, QWidget* parent)
    : QWidget(parent), m_explorer(explorer), m_unitBox(new QComboBox), m_plot(new QCustomPlot) {
    m_unitBox->addItems({QStringLiteral("MACs per image"), QStringLiteral("Share of parameters used"),
                         QStringLiteral("Measured ms per image")});
    m_unitBox->setToolTip(QStringLiteral("How to count the cost of an image: multiply-accumulates, the share of "
                                         "the model's parameters it used, or measured time on the profiling CPU"));

    struct Style {
        QString name;
        QColor color;
        QCPScatterStyle::ScatterShape shape;
        double size;
        bool line;
    };
    const Style styles[] = {
        {QStringLiteral("Confidence sweep"), QColor(0x1f, 0x77, 0xb4), QCPScatterStyle::ssNone, 0, true},
        {QStringLiteral("Budgeted batch"), QColor(0xff, 0x7f, 0x0e), QCPScatterStyle::ssCircle, 5, true},
        {QStringLiteral("LEENet gates"), QColor(0x94, 0x67, 0xbd), QCPScatterStyle::ssDiamond, 6, true},
        {QStringLiteral("Fixed exit (anytime)"), QColor(0x40, 0x40, 0x40), QCPScatterStyle::ssSquare, 8, false},
        {QStringLiteral("Oracle"), QColor(0x2c, 0xa0, 0x2c), QCPScatterStyle::ssStar, 12, false},
        {QStringLiteral("You are here"), QColor(0xd6, 0x27, 0x28), QCPScatterStyle::ssDisc, 14, false},
    };
    for (const Style& s : styles) {
        auto* curve = new QCPCurve(m_plot->xAxis, m_plot->yAxis);
        curve->setName(s.name);
        curve->setPen(s.line ? QPen(s.color, 2) : QPen(Qt::NoPen));
        curve->setLineStyle(s.line ? QCPCurve::lsLine : QCPCurve::lsNone);
        if (s.shape != QCPScatterStyle::ssNone) curve->setScatterStyle(QCPScatterStyle(s.shape, s.color, s.color, s.size));
    }
    // The moving dot has a buffered layer of its own, so that a control
    // change redraws only the dot, not every curve.
    m_plot->addLayer(QStringLiteral("current"), m_plot->layer(QStringLiteral("main")), QCustomPlot::limAbove);
    m_plot->layer(QStringLiteral("current"))->setMode(QCPLayer::lmBuffered);
    curveAt(m_plot, CurrentPoint)->setLayer(QStringLiteral("current"));
    m_plot->xAxis->setLabel(QStringLiteral("Mean cost per image"));
    m_plot->yAxis->setLabel(QStringLiteral("Accuracy on the test images (%)"));
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(QFont(font().family(), std::max(7, font().pointSize() - 1)));
    // The legend goes below the axes, where it hides no curve.
    m_plot->plotLayout()->addElement(1, 0, m_plot->legend);
    m_plot->plotLayout()->setRowStretchFactor(1, 0.001);
    m_plot->legend->setWrap(3);
    m_plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->plotLayout()->insertRow(0);
    m_plot->plotLayout()->addElement(
        0, 0, new QCPTextElement(m_plot, QStringLiteral("Accuracy against cost: up and to the left is better")));
    m_plot->setToolTip(QStringLiteral("Each curve is one policy with its parameter swept; the red dot is where the "
                                      "current controls put you."));
    m_plot->setMinimumSize(320, 220);

    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(QStringLiteral("Cost:")));
    bar->addWidget(m_unitBox);
    bar->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(m_plot, 1);

    connect(m_unitBox, &QComboBox::currentIndexChanged, this,
            [this](int i) { setCostUnit(static_cast<CostUnit>(i)); });
    connect(explorer, &Explorer::curvesChanged, this, &TradeoffPlot::rebuildCurves);
    connect(explorer, &Explorer::outcomeChanged, this, &TradeoffPlot::updateCurrent);
    rebuildCurves();
}

void TradeoffPlot::setCostUnit(CostUnit unit) {
    m_unit = unit;
    {
        const QSignalBlocker block(m_unitBox);
        m_unitBox->setCurrentIndex(static_cast<int>(unit));
    }
    rebuildCurves();
}

double TradeoffPlot::costOf(const TradeoffPoint& p) const {
    switch (m_unit) {
    case CostUnit::Macs: return p.macs / 1e6;
    case CostUnit::ParamFraction: return p.paramFraction;
    case CostUnit::Milliseconds: return p.ms;
    }
    return p.macs;
}

void TradeoffPlot::rebuildCurves() {
    static const QString labels[] = {QStringLiteral("Mean MACs per image (millions)"),
                                     QStringLiteral("Mean share of the parameters used (1 = whole network)"),
                                     QStringLiteral("Mean measured time per image (ms)")};
    m_plot->xAxis->setLabel(labels[static_cast<int>(m_unit)]);
    m_plot->clearItems();
    const TradeoffCurves& c = m_explorer->curves();
    auto fill = [this](int layer, const std::vector<TradeoffPoint>& points) {
        QVector<double> t, x, y;
        for (std::size_t i = 0; i < points.size(); ++i) {
            if (!std::isfinite(points[i].accuracy)) continue;
            t << static_cast<double>(i);
            x << costOf(points[i]);
            y << points[i].accuracy * 100.0;
        }
        curveAt(m_plot, layer)->setData(t, x, y);
    };
    fill(ConfidenceCurve, c.confidence);
    fill(BudgetedCurve, c.budgeted);
    fill(GatesCurve, c.gates);
    fill(StaticPoints, c.staticExits);
    fill(OraclePoint, c.oracle ? std::vector<TradeoffPoint>{*c.oracle} : std::vector<TradeoffPoint>{});
    // A policy without points (gates still training) leaves the legend too.
    for (int layer : {GatesCurve, BudgetedCurve}) {
        const bool shown = curveAt(m_plot, layer)->dataCount() > 0;
        curveAt(m_plot, layer)->setVisible(shown);
        if (shown) curveAt(m_plot, layer)->addToLegend();
        else curveAt(m_plot, layer)->removeFromLegend();
    }
    // Up to 8 exits all carry their number; beyond, every few and the last
    // (32 labels run into each other); every exit keeps its square.
    const std::size_t labelStep = std::max<std::size_t>(1, (c.staticExits.size() + 7) / 8);
    for (std::size_t k = 0; k < c.staticExits.size(); ++k) {
        if (k % labelStep != 0 && k + 1 != c.staticExits.size()) continue;
        auto* label = new QCPItemText(m_plot);
        label->position->setCoords(costOf(c.staticExits[k]), c.staticExits[k].accuracy * 100.0);
        label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        label->setPadding(QMargins(6, 2, 0, 0));
        label->setText(QStringLiteral("exit %1").arg(k));
        label->setColor(QColor(0x40, 0x40, 0x40));
    }
    if (c.staticExits.empty()) {
        m_plot->xAxis->setRange(0, 1);
        m_plot->yAxis->setRange(0, 100);
    } else {
        bool found = false;
        const QCPRange x = curveAt(m_plot, StaticPoints)->getKeyRange(found);
        double lowest = 100.0, highest = 0.0;
        for (int layer = ConfidenceCurve; layer <= OraclePoint; ++layer) {
            bool ok = false;
            const QCPRange r = curveAt(m_plot, layer)->getValueRange(ok);
            if (ok) {
                lowest = std::min(lowest, r.lower);
                highest = std::max(highest, r.upper);
            }
        }
        m_plot->xAxis->setRange(0.0, x.upper * 1.15 + 1e-9);
        const double span = std::max(highest - lowest, 2.0);
        m_plot->yAxis->setRange(std::max(0.0, lowest - 0.08 * span), std::min(100.0, highest + 0.08 * span) + 0.5);
    }
    setCurrentData();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void TradeoffPlot::updateCurrent() {
    setCurrentData();
    // The legend's dot does not move, so only the dot's layer is redrawn.
    m_plot->layer(QStringLiteral("current"))->replot();
}

void TradeoffPlot::setCurrentData() {
    const core::OutcomeMetrics& m = m_explorer->metrics();
    QVector<double> t, x, y;
    if (m_explorer->hasData() && m.n > 0) {
        TradeoffPoint p{0.0, m.accuracy, m.macs.mean, m.paramFraction.mean, m.ms.mean};
        t << 0;
        x << costOf(p);
        y << p.accuracy * 100.0;
    }
    curveAt(m_plot, CurrentPoint)->setData(t, x, y);
}

QPointF TradeoffPlot::currentPoint() const {
    const auto data = curveAt(m_plot, CurrentPoint)->data();
    if (data->isEmpty()) return {};
    return {data->constBegin()->key, data->constBegin()->value};
}

int TradeoffPlot::curvePointCount(const QString& name) const {
    for (int layer = 0; layer < LayerCount; ++layer) {
        if (name == QLatin1String(kCurveNames[layer])) return curveAt(m_plot, layer)->dataCount();
    }
    return -1;
}

bool TradeoffPlot::savePlot(const QString& path, QString* error) const {
    return savePlotFile(m_plot, path, error);
}

QWidget* TradeoffPlot::plotWidget() const {
    return m_plot;
}

} // namespace exitscope::widgets
