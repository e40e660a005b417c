#pragma once

#include <QVector>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;
class QStackedWidget;
class QVBoxLayout;

namespace exitscope::widgets {

class Explorer;
class SliderSpin;

/// The controls of the explorer: which policy decides where images leave
/// and its parameters (criterion, calibration, one or per-exit thresholds,
/// budgets, alpha, the static exit), each slider with a number box, plus
/// undo, redo and reset. Every edit goes to the Explorer as one undoable
/// step; the panel mirrors the Explorer's settings whenever they change
/// (undo, a tuned config), so it never holds state of its own.
class ControlsPanel : public QWidget {
    Q_OBJECT

public:
    explicit ControlsPanel(Explorer* explorer, QWidget* parent = nullptr);

    // The editors, for tests and the benchmark.
    QComboBox* policyBox() const { return m_policy; }
    SliderSpin* thresholdEditor() const { return m_threshold; }
    SliderSpin* exitThresholdEditor(int exit) const { return m_exitThresholds.value(exit); }
    SliderSpin* budgetEditor() const { return m_budget; }
    SliderSpin* anytimeEditor() const { return m_anytime; }
    SliderSpin* alphaEditor() const { return m_alpha; }
    SliderSpin* staticEditor() const { return m_static; }
    QCheckBox* perExitBox() const { return m_perExit; }
    QCheckBox* calibrationBox() const { return m_calibrated; }
    /// The result line ("Accuracy 91.20 % at 1.234 M MACs per image ...").
    QString resultText() const;

private:
    QWidget* makeConfidencePage();
    QWidget* makeBudgetedPage();
    QWidget* makeAnytimePage();
    QWidget* makeGatesPage();
    QWidget* makeStaticPage();
    void rebuildForTraces();
    void syncFromExplorer();
    void updateResult();
    void updateGateStatus();

    Explorer* m_explorer;
    QComboBox* m_policy;
    QLabel* m_help;
    QStackedWidget* m_pages;
    QComboBox* m_criterion;
    QCheckBox* m_calibrated;
    QCheckBox* m_perExit;
    SliderSpin* m_threshold;
    QWidget* m_exitBox;
    QVBoxLayout* m_exitLayout;
    QVector<SliderSpin*> m_exitThresholds;
    SliderSpin* m_budget;
    QLabel* m_budgetInfo;
    QComboBox* m_anytimeUnit;
    SliderSpin* m_anytime;
    QLabel* m_anytimeInfo;
    SliderSpin* m_alpha;
    QLabel* m_gateStatus;
    SliderSpin* m_static;
    QLabel* m_result;
    QLabel* m_note;
    QPushButton* m_undo;
    QPushButton* m_redo;
    QPushButton* m_reset;
};

} // namespace exitscope::widgets
