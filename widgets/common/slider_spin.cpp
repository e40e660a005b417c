#include "widgets/common/slider_spin.h"

#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>

#include <algorithm>
#include <cmath>

namespace exitscope::widgets {

SliderSpin::SliderSpin(const QString& label, QWidget* parent)
    : QWidget(parent), m_label(new QLabel(label)), m_slider(new QSlider(Qt::Horizontal)), m_spin(new QDoubleSpinBox) {
    m_slider->setRange(0, 1000);
    m_spin->setKeyboardTracking(false);
    m_spin->setAccelerated(true);
    m_spin->setMinimumWidth(90);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_label);
    layout->addWidget(m_slider, 1);
    layout->addWidget(m_spin);
    if (label.isEmpty()) m_label->hide();

    connect(m_slider, &QSlider::valueChanged, this, [this](int position) {
        if (m_updating) return;
        const double lo = m_spin->minimum(), hi = m_spin->maximum();
        const double value = lo + (hi - lo) * position / std::max(1, m_slider->maximum());
        {
            const QSignalBlocker block(m_spin);
            m_spin->setValue(value);
        }
        emit valueEdited(m_spin->value());
    });
    connect(m_spin, &QDoubleSpinBox::valueChanged, this, [this](double value) {
        if (m_updating) return;
        {
            const QSignalBlocker block(m_slider);
            m_slider->setValue(sliderPosition(value));
        }
        emit valueEdited(value);
    });
}

void SliderSpin::setRange(double minimum, double maximum, int decimals, const QString& suffix) {
    m_updating = true;
    m_spin->setDecimals(decimals);
    m_spin->setRange(minimum, std::max(minimum, maximum));
    m_spin->setSingleStep(decimals == 0 ? 1.0 : std::max(std::pow(10.0, -decimals), (maximum - minimum) / 100.0));
    m_spin->setSuffix(suffix.isEmpty() ? QString() : QStringLiteral(" ") + suffix);
    m_slider->setValue(sliderPosition(m_spin->value()));
    m_updating = false;
}

void SliderSpin::setSteps(int steps) {
    m_updating = true;
    const double value = m_spin->value();
    m_slider->setRange(0, std::max(1, steps));
    m_slider->setPageStep(std::max(1, steps / 10));
    m_slider->setValue(sliderPosition(value));
    m_updating = false;
}

void SliderSpin::setValue(double value) {
    m_updating = true;
    m_spin->setValue(value);
    m_slider->setValue(sliderPosition(m_spin->value()));
    m_updating = false;
}

double SliderSpin::value() const {
    return m_spin->value();
}

double SliderSpin::minimum() const {
    return m_spin->minimum();
}

double SliderSpin::maximum() const {
    return m_spin->maximum();
}

void SliderSpin::setToolTip(const QString& text) {
    QWidget::setToolTip(text);
    m_slider->setToolTip(text);
    m_spin->setToolTip(text);
    m_label->setToolTip(text);
}

int SliderSpin::sliderPosition(double value) const {
    const double lo = m_spin->minimum(), hi = m_spin->maximum();
    if (hi <= lo) return 0;
    return static_cast<int>(std::lround((value - lo) / (hi - lo) * m_slider->maximum()));
}

} // namespace exitscope::widgets
