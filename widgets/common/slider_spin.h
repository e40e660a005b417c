#pragma once

#include <QWidget>

class QDoubleSpinBox;
class QLabel;
class QSlider;

namespace exitscope::widgets {

/// A slider with a number box next to it, kept in step: drag for a feel,
/// type for an exact value. The box's range is the slider's, so a value
/// outside it cannot be entered (the box clamps on Enter). valueEdited() is
/// emitted only for the user's edits, never for setValue().
class SliderSpin : public QWidget {
    Q_OBJECT

public:
    explicit SliderSpin(const QString& label, QWidget* parent = nullptr);

    /// The range in the shown unit, the number of decimals and the unit text.
    void setRange(double minimum, double maximum, int decimals, const QString& suffix = {});
    /// Snaps the slider to `steps` + 1 evenly spaced values (an index slider when decimals are 0).
    void setSteps(int steps);
    void setValue(double value);
    double value() const;
    double minimum() const;
    double maximum() const;
    void setToolTip(const QString& text);
    QDoubleSpinBox* spinBox() const { return m_spin; }
    QSlider* slider() const { return m_slider; }

signals:
    void valueEdited(double value);

private:
    int sliderPosition(double value) const;

    QLabel* m_label;
    QSlider* m_slider;
    QDoubleSpinBox* m_spin;
    bool m_updating = false;
};

} // namespace exitscope::widgets
