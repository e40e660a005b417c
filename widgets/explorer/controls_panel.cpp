#include "widgets/explorer/controls_panel.h"

#include "widgets/explorer/explorer.h"
#include "widgets/common/slider_spin.h"
#include "widgets/common/wrap_label.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QStackedWidget>
#include <QUndoStack>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace exitscope::widgets {

namespace {

QLabel* helpLabel(const QString& text = {}) {
    auto* label = new WrapLabel(text);
    label->setTextFormat(Qt::PlainText);
    label->setStyleSheet(QStringLiteral("color: #555555;"));
    return label;
}

const core::ConfidenceCriterion kCriteria[] = {core::ConfidenceCriterion::MaxSoftmax,
                                               core::ConfidenceCriterion::Entropy,
                                               core::ConfidenceCriterion::Margin};

} // namespace

ControlsPanel::ControlsPanel(Explorer* explorer, QWidget* parent)
    : QWidget(parent), m_explorer(explorer), m_policy(new QComboBox), m_help(helpLabel()),
      m_pages(new QStackedWidget), m_result(new WrapLabel), m_note(helpLabel()),
      m_undo(new QPushButton(QStringLiteral("Undo"))), m_redo(new QPushButton(QStringLiteral("Redo"))),
      m_reset(new QPushButton(QStringLiteral("Reset"))) {
    for (PolicyChoice choice : allPolicyChoices()) m_policy->addItem(policyChoiceTitle(choice));
    m_policy->setToolTip(QStringLiteral("The rule that decides at which exit each image leaves the network"));
    m_pages->addWidget(makeConfidencePage());
    m_pages->addWidget(makeBudgetedPage());
    m_pages->addWidget(makeAnytimePage());
    m_pages->addWidget(makeGatesPage());
    m_pages->addWidget(makeStaticPage());
    m_pages->addWidget(new QWidget);  // the oracle has no parameter

    m_result->setWordWrap(true);
    m_result->setTextFormat(Qt::RichText);
    m_result->setToolTip(QStringLiteral("What the policy gives on the test images"));
    m_note->setStyleSheet(QStringLiteral("color: #905000;"));

    m_undo->setToolTip(QStringLiteral("Undo the last control change (Ctrl+Z)"));
    m_redo->setToolTip(QStringLiteral("Redo the control change undone last (Ctrl+Shift+Z)"));
    m_reset->setToolTip(QStringLiteral("Every control back to its default"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_undo);
    buttons->addWidget(m_redo);
    buttons->addStretch(1);
    buttons->addWidget(m_reset);

    auto* policyLabel = new QLabel(QStringLiteral("<b>Exit policy</b>"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(policyLabel);
    layout->addWidget(m_policy);
    layout->addWidget(m_help);
    layout->addWidget(m_pages);
    layout->addWidget(m_result);
    layout->addWidget(m_note);
    layout->addLayout(buttons);
    layout->addStretch(1);

    connect(m_policy, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (i >= 0) m_explorer->setPolicy(allPolicyChoices()[static_cast<std::size_t>(i)]);
    });
    QUndoStack* stack = explorer->undoStack();
    connect(m_undo, &QPushButton::clicked, stack, &QUndoStack::undo);
    connect(m_redo, &QPushButton::clicked, stack, &QUndoStack::redo);
    connect(m_reset, &QPushButton::clicked, explorer, &Explorer::resetToDefaults);
    connect(stack, &QUndoStack::canUndoChanged, m_undo, &QWidget::setEnabled);
    connect(stack, &QUndoStack::canRedoChanged, m_redo, &QWidget::setEnabled);
    connect(stack, &QUndoStack::undoTextChanged, m_undo,
            [this](const QString& text) { m_undo->setToolTip(QStringLiteral("Undo: %1").arg(text)); });
    m_undo->setEnabled(stack->canUndo());
    m_redo->setEnabled(stack->canRedo());

    connect(explorer, &Explorer::tracesChanged, this, &ControlsPanel::rebuildForTraces);
    connect(explorer, &Explorer::policyChanged, this, &ControlsPanel::syncFromExplorer);
    connect(explorer, &Explorer::outcomeChanged, this, &ControlsPanel::updateResult);
    connect(explorer, &Explorer::gateGridChanged, this, &ControlsPanel::updateGateStatus);
    rebuildForTraces();
}

QWidget* ControlsPanel::makeConfidencePage() {
    auto* page = new QWidget;
    m_criterion = new QComboBox;
    m_criterion->addItems({QStringLiteral("Max softmax"), QStringLiteral("1 - normalised entropy"),
                           QStringLiteral("Margin (top-1 minus top-2)")});
    m_criterion->setToolTip(QStringLiteral(
        "How sure an exit is: the top class probability, how peaked the whole distribution is, or how far "
        "the best class is ahead of the second. All lie in [0, 1]; higher means surer."));
    m_calibrated = new QCheckBox(QStringLiteral("Calibrate (temperature scaling)"));
    m_calibrated->setToolTip(QStringLiteral(
        "Rescale each exit's probabilities with a temperature fitted on the validation images, so that a "
        "confidence of 0.9 means right about 90 % of the time."));
    m_perExit = new QCheckBox(QStringLiteral("A separate threshold for each exit"));
    m_threshold = new SliderSpin(QStringLiteral("Threshold"));
    m_threshold->setRange(0.0, 1.0, 3);
    m_threshold->setToolTip(QStringLiteral("An image leaves at the first exit whose confidence is at least this"));
    m_exitBox = new QWidget;
    m_exitLayout = new QVBoxLayout(m_exitBox);
    m_exitLayout->setContentsMargins(0, 0, 0, 0);

    auto* form = new QFormLayout;
    form->addRow(QStringLiteral("Confidence"), m_criterion);
    auto* layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(form);
    layout->addWidget(m_calibrated);
    layout->addWidget(m_perExit);
    layout->addWidget(m_threshold);
    layout->addWidget(m_exitBox);

    connect(m_criterion, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (i >= 0 && i < 3) m_explorer->setCriterion(kCriteria[i]);
    });
    connect(m_calibrated, &QCheckBox::toggled, m_explorer, &Explorer::setCalibrated);
    connect(m_perExit, &QCheckBox::toggled, m_explorer, &Explorer::setPerExit);
    connect(m_threshold, &SliderSpin::valueEdited, this,
            [this](double v) { m_explorer->setThreshold(static_cast<float>(v)); });
    return page;
}

QWidget* ControlsPanel::makeBudgetedPage() {
    auto* page = new QWidget;
    m_budget = new SliderSpin(QStringLiteral("Budget"));
    m_budget->setToolTip(QStringLiteral("Average multiply-accumulates per image the whole batch may spend"));
    m_budgetInfo = helpLabel();
    auto* layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_budget);
    layout->addWidget(m_budgetInfo);
    connect(m_budget, &SliderSpin::valueEdited, this, [this](double v) { m_explorer->setBudgetMacs(v * 1e6); });
    return page;
}

QWidget* ControlsPanel::makeAnytimePage() {
    auto* page = new QWidget;
    m_anytimeUnit = new QComboBox;
    m_anytimeUnit->addItems({QStringLiteral("MACs per image"), QStringLiteral("Measured ms per image")});
    m_anytime = new SliderSpin(QStringLiteral("Budget"));
    m_anytime->setToolTip(QStringLiteral("Every image is stopped after this much work"));
    m_anytimeInfo = helpLabel();
    auto* form = new QFormLayout;
    form->addRow(QStringLiteral("Unit"), m_anytimeUnit);
    auto* layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(form);
    layout->addWidget(m_anytime);
    layout->addWidget(m_anytimeInfo);
    connect(m_anytimeUnit, &QComboBox::currentIndexChanged, this, [this](int i) {
        m_explorer->setAnytimeUnit(i == 1 ? core::BudgetUnit::Milliseconds : core::BudgetUnit::Macs);
    });
    connect(m_anytime, &SliderSpin::valueEdited, this, [this](double v) {
        m_explorer->setAnytimeBudget(m_explorer->settings().anytimeUnit == core::BudgetUnit::Macs ? v * 1e6 : v);
    });
    return page;
}

QWidget* ControlsPanel::makeGatesPage() {
    auto* page = new QWidget;
    m_alpha = new SliderSpin(QStringLiteral("Alpha"));
    m_alpha->setToolTip(QStringLiteral("0: only accuracy matters; 1: only cost matters. Gates for 21 alphas are "
                                       "trained once in the background."));
    m_gateStatus = helpLabel();
    auto* layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_alpha);
    layout->addWidget(m_gateStatus);
    connect(m_alpha, &SliderSpin::valueEdited, this, [this](double v) {
        const std::vector<double>& alphas = m_explorer->alphas();
        int best = 0;
        for (std::size_t i = 0; i < alphas.size(); ++i) {
            if (std::abs(alphas[i] - v) < std::abs(alphas[static_cast<std::size_t>(best)] - v)) best = static_cast<int>(i);
        }
        m_explorer->setAlphaIndex(best);
    });
    return page;
}

QWidget* ControlsPanel::makeStaticPage() {
    auto* page = new QWidget;
    m_static = new SliderSpin(QStringLiteral("Exit"));
    m_static->setToolTip(QStringLiteral("The exit every image answers at (0 is the earliest)"));
    auto* layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_static);
    connect(m_static, &SliderSpin::valueEdited, this,
            [this](double v) { m_explorer->setStaticExit(static_cast<int>(std::lround(v))); });
    return page;
}

void ControlsPanel::rebuildForTraces() {
    qDeleteAll(m_exitThresholds);
    m_exitThresholds.clear();
    const int k = m_explorer->numExits();
    for (int e = 0; e + 1 < k; ++e) {
        auto* editor = new SliderSpin(QStringLiteral("Exit %1").arg(e));
        editor->setRange(0.0, 1.0, 3);
        editor->setToolTip(QStringLiteral("Threshold of exit %1; the last exit always answers").arg(e));
        connect(editor, &SliderSpin::valueEdited, this,
                [this, e](double v) { m_explorer->setExitThreshold(e, static_cast<float>(v)); });
        m_exitLayout->addWidget(editor);
        m_exitThresholds << editor;
    }
    const auto [lo, hi] = m_explorer->budgetRange();
    m_budget->setRange(lo / 1e6, hi / 1e6, 4, QStringLiteral("M MACs"));
    const std::vector<double>& alphas = m_explorer->alphas();
    m_alpha->setRange(alphas.empty() ? 0.0 : alphas.front(), alphas.empty() ? 1.0 : alphas.back(), 2);
    m_alpha->setSteps(std::max(1, static_cast<int>(alphas.size()) - 1));
    m_static->setRange(0, std::max(0, k - 1), 0);
    m_static->setSteps(std::max(1, k - 1));
    setEnabled(m_explorer->hasData());
    syncFromExplorer();
    updateGateStatus();
}

void ControlsPanel::syncFromExplorer() {
    const ExplorerSettings& s = m_explorer->settings();
    {
        const QSignalBlocker b1(m_policy), b2(m_criterion), b3(m_calibrated), b4(m_perExit), b5(m_anytimeUnit);
        const auto& choices = allPolicyChoices();
        m_policy->setCurrentIndex(static_cast<int>(std::find(choices.begin(), choices.end(), s.policy) - choices.begin()));
        for (int i = 0; i < 3; ++i) {
            if (kCriteria[i] == s.criterion) m_criterion->setCurrentIndex(i);
        }
        m_calibrated->setChecked(s.calibrated);
        m_perExit->setChecked(s.perExit);
        m_anytimeUnit->setCurrentIndex(s.anytimeUnit == core::BudgetUnit::Milliseconds ? 1 : 0);
    }
    m_pages->setCurrentIndex(m_policy->currentIndex());
    m_help->setText(policyChoiceHelp(s.policy));
    m_threshold->setValue(s.threshold);
    m_threshold->setVisible(!s.perExit);
    m_exitBox->setVisible(s.perExit);
    for (int e = 0; e < m_exitThresholds.size() && e < static_cast<int>(s.exitThresholds.size()); ++e) {
        m_exitThresholds[e]->setValue(s.exitThresholds[static_cast<std::size_t>(e)]);
    }
    m_budget->setValue(s.budgetMacs / 1e6);
    const auto [alo, ahi] = m_explorer->anytimeRange(s.anytimeUnit);
    if (s.anytimeUnit == core::BudgetUnit::Macs) {
        m_anytime->setRange(alo / 1e6, ahi / 1e6, 4, QStringLiteral("M MACs"));
        m_anytime->setValue(s.anytimeBudget / 1e6);
    } else {
        m_anytime->setRange(alo, ahi, 4, QStringLiteral("ms"));
        m_anytime->setValue(s.anytimeBudget);
    }
    const std::vector<double>& alphas = m_explorer->alphas();
    if (!alphas.empty()) m_alpha->setValue(alphas[static_cast<std::size_t>(s.alphaIndex)]);
    m_static->setValue(s.staticExit);
    updateResult();
}

void ControlsPanel::updateGateStatus() {
    if (!m_explorer->gatesAvailable()) {
        m_gateStatus->setText(QStringLiteral("This trace has no gate inputs, so no gates can be trained."));
    } else if (m_explorer->settings().configGates) {
        m_gateStatus->setText(QStringLiteral("Using the gates of the opened tuned config; move alpha to use the "
                                             "gates trained here."));
    } else if (!m_explorer->gateGridReady()) {
        m_gateStatus->setText(QStringLiteral("Training gates for every alpha in the background: %1 %. Until then "
                                             "every image runs the whole network.")
                                  .arg(std::lround(m_explorer->gateGridProgress() * 100)));
    } else {
        m_gateStatus->setText(QStringLiteral("Gates trained on %1 for %2 alphas.")
                                  .arg(m_explorer->fittedOnTest() ? QStringLiteral("the test trace")
                                                                  : QStringLiteral("the validation trace"))
                                  .arg(m_explorer->alphas().size()));
    }
}

QString ControlsPanel::resultText() const {
    return m_result->text();
}

void ControlsPanel::updateResult() {
    const core::OutcomeMetrics& m = m_explorer->metrics();
    if (!m_explorer->hasData() || m.n == 0) {
        m_result->setText(QStringLiteral("No test trace loaded."));
    } else {
        const core::Trace* t = m_explorer->testTrace();
        const double full = static_cast<double>(t->exitMacs.back());
        m_result->setText(QStringLiteral("<b>Accuracy %1 %</b> on %2 test images<br>"
                                         "Mean cost %3 M MACs per image (%4 % of the full network)")
                              .arg(m.accuracy * 100.0, 0, 'f', 2)
                              .arg(m.n)
                              .arg(m.macs.mean / 1e6, 0, 'f', 3)
                              .arg(full > 0 ? 100.0 * m.macs.mean / full : 0.0, 0, 'f', 1));
    }
    if (const auto& fit = m_explorer->budgetedFit()) {
        m_budgetInfo->setText(QStringLiteral("Fitted on %1: q = %2; it spends %3 M MACs per image there.")
                                  .arg(m_explorer->fittedOnTest() ? QStringLiteral("test") : QStringLiteral("validation"))
                                  .arg(fit->q, 0, 'g', 3)
                                  .arg(fit->realisedValCost / 1e6, 0, 'f', 4));
    }
    if (m_explorer->settings().policy == PolicyChoice::Anytime && m.n > 0) {
        // The same mean budget, but not known in advance (EINet's forced exit):
        // the expected accuracy drops, more so the wider the spread.
        const double b = m_explorer->settings().anytimeBudget;
        auto percent = [](double a) { return QString::number(a * 100.0, 'f', 1); };
        QString text = QStringLiteral("Every image answers at exit %1, the deepest finished in time.")
                           .arg(m_explorer->outcome().exitTaken.front());
        if (b > 0.0) {
            text += QStringLiteral("\nIf the budget varied per image with the same mean: uniform from 0 to twice "
                                   "it %1 %, normal with 25 % spread %2 %, exponential %3 %.")
                        .arg(percent(m_explorer->expectedAnytimeAccuracy(core::BudgetDistribution::uniform(0.0, 2.0 * b))),
                             percent(m_explorer->expectedAnytimeAccuracy(core::BudgetDistribution::normal(b, 0.25 * b))),
                             percent(m_explorer->expectedAnytimeAccuracy(core::BudgetDistribution::exponential(1.0 / b))));
        }
        m_anytimeInfo->setText(text);
    }
    m_note->setText(m_explorer->note());
    m_note->setVisible(!m_explorer->note().isEmpty());
    updateGateStatus();
}

} // namespace exitscope::widgets
