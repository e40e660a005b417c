#pragma once

#include <QPointF>
#include <QWidget>

class QComboBox;
class QCustomPlot;

namespace exitscope::widgets {

class Explorer;
struct TradeoffPoint;

/// Accuracy against mean cost per image on the test trace: the sweep of
/// the confidence threshold, budgeted batch over its budget range, LEENet
/// gates over alpha (once trained), the static exits (which are also
/// anytime's operating points) and the oracle; a red dot marks the current
/// operating point and moves as the controls move. Cost in MACs, share of
/// the parameters or measured milliseconds.
class TradeoffPlot : public QWidget {
    Q_OBJECT

public:
    enum class CostUnit { Macs, ParamFraction, Milliseconds };

    QSize sizeHint() const override { return {600, 400}; }
    explicit TradeoffPlot(Explorer* explorer, QWidget* parent = nullptr);

    void setCostUnit(CostUnit unit);
    CostUnit costUnit() const { return m_unit; }
    /// The current operating point as drawn (cost in the shown unit, accuracy in %).
    QPointF currentPoint() const;
    /// How many points the named curve has ("confidence", "budgeted", "gates", "static").
    int curvePointCount(const QString& name) const;
    bool savePlot(const QString& path, QString* error) const;
    QWidget* plotWidget() const;

private:
    double costOf(const TradeoffPoint& p) const;
    void rebuildCurves();
    void updateCurrent();
    void setCurrentData();

    Explorer* m_explorer;
    QComboBox* m_unitBox;
    QCustomPlot* m_plot;
    CostUnit m_unit = CostUnit::Macs;
};

} // namespace exitscope::widgets
