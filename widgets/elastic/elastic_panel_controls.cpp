// The elastic panel's controls: building them and showing the settings in
// them; what a change does is in elastic_panel.cpp.
#include "widgets/elastic/elastic_panel.h"

#include "widgets/common/job_runner.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

namespace exitscope::widgets {

void ElasticPanel::buildUi() {
    m_kind = new QComboBox;
    m_kind->addItems({QStringLiteral("fixed"), QStringLiteral("uniform"), QStringLiteral("normal"),
                      QStringLiteral("exponential"), QStringLiteral("measured times (CSV)")});
    m_kind->setToolTip(QStringLiteral("How the forced-exit time T is distributed"));
    const auto makeSpin = [] {
        auto* s = new QDoubleSpinBox;
        s->setRange(0.0, 1e6);
        s->setDecimals(3);
        s->setSingleStep(0.05);
        s->setKeyboardTracking(false);
        s->setToolTip(QStringLiteral("A fraction of the time the network takes with every branch run"));
        return s;
    };
    m_a = makeSpin();
    m_a->setObjectName(QStringLiteral("deadlineA"));
    m_b = makeSpin();
    m_b->setObjectName(QStringLiteral("deadlineB"));
    m_aLabel = new QLabel;
    m_bLabel = new QLabel;
    m_csvPath = new QLineEdit;
    m_csvPath->setPlaceholderText(QStringLiteral("CSV of times, one per line"));
    m_csvBrowse = new QPushButton(QStringLiteral("Load\u2026"));
    m_csvUnit = new QComboBox;
    m_csvUnit->addItems({QStringLiteral("fractions"), QStringLiteral("ms")});
    m_csvUnit->setToolTip(QStringLiteral("Unit of the times in the file"));

    m_methodCombo = new QComboBox;
    m_methodCombo->addItems({QStringLiteral("hybrid (EINet)"), QStringLiteral("greedy"), QStringLiteral("random")});
    m_m = new QSpinBox;
    m_m->setRange(0, 24);
    m_m->setPrefix(QStringLiteral("m = "));
    m_m->setKeyboardTracking(false);
    m_m->setToolTip(QStringLiteral("Hybrid search: the first m undecided branches are enumerated, the rest greedy"));
    m_predictor = new QCheckBox(QStringLiteral("CS-Predictor"));
    m_predictor->setToolTip(
        QStringLiteral("On: an MLP trained on the validation trace predicts each later exit's confidence from those "
                       "seen so far.\nOff: the planner assumes each exit's mean validation confidence."));
    m_deadlineMsg = new QLabel;
    m_deadlineMsg->setWordWrap(true);
    m_status = new QLabel;
    m_status->setWordWrap(true);

    auto* controls = new QGridLayout;
    controls->addWidget(new QLabel(QStringLiteral("Forced exit T:")), 0, 0);
    auto* deadlineRow = new QHBoxLayout;
    deadlineRow->addWidget(m_kind);
    deadlineRow->addWidget(m_aLabel);
    deadlineRow->addWidget(m_a);
    deadlineRow->addWidget(m_bLabel);
    deadlineRow->addWidget(m_b);
    deadlineRow->addWidget(m_csvPath, 1);
    deadlineRow->addWidget(m_csvUnit);
    deadlineRow->addWidget(m_csvBrowse);
    deadlineRow->addStretch();
    controls->addLayout(deadlineRow, 0, 1);
    controls->addWidget(new QLabel(QStringLiteral("Plan search:")), 1, 0);
    auto* searchRow = new QHBoxLayout;
    searchRow->addWidget(m_methodCombo);
    searchRow->addWidget(m_m);
    searchRow->addSpacing(12);
    searchRow->addWidget(m_predictor);
    searchRow->addWidget(m_status, 1);
    controls->addLayout(searchRow, 1, 1);
    controls->addWidget(m_deadlineMsg, 2, 0, 1, 2);
    controls->setColumnStretch(1, 1);

    auto* intro = new QLabel(QStringLiteral(
        "The inference may be stopped at an unpredictable moment T and must then answer with the latest exit branch "
        "that has finished. EINet plans, per image, which branches to run and which to skip (skipping one makes every "
        "later branch finish sooner), re-planning after each branch from its confidence."));
    intro->setWordWrap(true);

    m_densityPlot = new QCustomPlot;
    m_densityPlot->setMinimumHeight(170);
    m_planTitle = new QLabel;
    m_planTitle->setWordWrap(true);
    m_planPlot = new QCustomPlot;
    m_planPlot->setMinimumHeight(210);
    m_planSummary = new QLabel;
    m_planSummary->setWordWrap(true);
    m_planSummary->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_tableCaption = new QLabel;
    m_tableCaption->setWordWrap(true);
    m_table = new QTableWidget(0, 5);
    m_table->setHorizontalHeaderLabels({QStringLiteral("strategy"), QStringLiteral("accuracy"),
                                        QStringLiteral("expected accuracy"), QStringLiteral("branches run"),
                                        QStringLiteral("answered by T")});
    m_table->horizontalHeaderItem(1)->setToolTip(QStringLiteral("Over the drawn forced-exit times (no answer yet counts 1/C)"));
    m_table->horizontalHeaderItem(2)->setToolTip(QStringLiteral("Averaged exactly over the distribution of T"));
    m_table->horizontalHeaderItem(3)->setToolTip(QStringLiteral("Branches an image runs when never stopped"));
    m_table->horizontalHeaderItem(4)->setToolTip(QStringLiteral("Branches finished by the forced exit, on average"));
    m_table->verticalHeader()->setVisible(false);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    for (int c = 1; c < 5; ++c) m_table->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_table->setMinimumHeight(160);
    m_trainProgress = new JobProgressWidget;
    m_trainProgress->setRunner(m_trainRunner);
    m_evalProgress = new JobProgressWidget;
    m_evalProgress->setRunner(m_evalRunner);

    // Density, plan and table in a splitter: the user decides which gets the room.
    auto* planBox = new QWidget;
    auto* planLayout = new QVBoxLayout(planBox);
    planLayout->setContentsMargins(0, 0, 0, 0);
    planLayout->addWidget(m_planTitle);
    planLayout->addWidget(m_planPlot, 1);
    planLayout->addWidget(m_planSummary);
    auto* tableBox = new QWidget;
    auto* tableLayout = new QVBoxLayout(tableBox);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    tableLayout->addWidget(m_trainProgress);
    tableLayout->addWidget(m_tableCaption);
    tableLayout->addWidget(m_table, 1);
    tableLayout->addWidget(m_evalProgress);
    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(m_densityPlot);
    splitter->addWidget(planBox);
    splitter->addWidget(tableBox);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 5);
    splitter->setStretchFactor(2, 3);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(intro);
    layout->addWidget(splitter, 1);

    // Hovering the plan says which branch would answer if T came at that moment.
    connect(m_planPlot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
        if (m_branches.empty()) return;
        const double t = m_planPlot->xAxis->pixelToCoord(event->position().x());
        if (t < 0.0) return;
        const int64_t k = answerAt(t);
        QString tip = QStringLiteral("If T = %1 ms: ").arg(t, 0, 'f', 3);
        if (k < 0) {
            tip += QStringLiteral("no branch has finished yet, so the answer is a guess");
        } else {
            const PlanBranch& b = m_branches[static_cast<std::size_t>(k)];
            tip += QStringLiteral("branch %1 answers (finished at %2 ms), confidence %3, %4")
                       .arg(k)
                       .arg(b.finishMs, 0, 'f', 3)
                       .arg(b.confidence, 0, 'f', 2)
                       .arg(b.correct ? QStringLiteral("right") : QStringLiteral("wrong"));
        }
        QToolTip::showText(event->globalPosition().toPoint(), tip, m_planPlot);
    });
    connect(m_kind, &QComboBox::currentIndexChanged, this, [this] {
        if (m_syncing) return;
        syncControls(false);  // labels and visibility of the chosen kind
        onControlsEdited();
    });
    connect(m_a, &QDoubleSpinBox::valueChanged, this, [this] { onControlsEdited(); });
    connect(m_b, &QDoubleSpinBox::valueChanged, this, [this] { onControlsEdited(); });
    connect(m_csvPath, &QLineEdit::editingFinished, this, [this] { onControlsEdited(); });
    connect(m_csvUnit, &QComboBox::currentIndexChanged, this, [this] { onControlsEdited(); });
    connect(m_csvBrowse, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, QStringLiteral("Forced-exit times"), QString(),
                                                          QStringLiteral("CSV files (*.csv *.txt);;All files (*)"));
        if (path.isEmpty()) return;
        m_csvPath->setText(path);
        onControlsEdited();
    });
    const auto searchEdited = [this] {
        if (m_syncing) return;
        const int i = m_methodCombo->currentIndex();
        setSearch(i == 0 ? core::SearchMethod::Hybrid : i == 1 ? core::SearchMethod::Greedy : core::SearchMethod::Random,
                  m_m->value());
    };
    connect(m_methodCombo, &QComboBox::currentIndexChanged, this, searchEdited);
    connect(m_m, &QSpinBox::valueChanged, this, searchEdited);
    connect(m_predictor, &QCheckBox::toggled, this, [this](bool on) {
        if (!m_syncing) setPredictorEnabled(on);
    });
}

void ElasticPanel::syncControls(bool fromSettings) {
    m_syncing = true;
    // The kind comes from the settings, unless the user just picked another
    // one and has not given its values yet.
    auto kind = static_cast<DeadlineKind>(m_kind->currentIndex());
    const auto& p = m_given.parameters();
    if (fromSettings) {
        switch (m_given.kind()) {
        case core::ForcedExitDistribution::Kind::Fixed: kind = DeadlineKind::Fixed; break;
        case core::ForcedExitDistribution::Kind::Uniform: kind = DeadlineKind::Uniform; break;
        case core::ForcedExitDistribution::Kind::Normal: kind = DeadlineKind::Normal; break;
        case core::ForcedExitDistribution::Kind::Exponential: kind = DeadlineKind::Exponential; break;
        case core::ForcedExitDistribution::Kind::Empirical: kind = DeadlineKind::Csv; break;
        }
        m_kind->setCurrentIndex(static_cast<int>(kind));
        switch (kind) {
        case DeadlineKind::Fixed: m_a->setValue(p[0]); break;
        case DeadlineKind::Uniform:
        case DeadlineKind::Normal:
            m_a->setValue(p[0]);
            m_b->setValue(p[1]);
            break;
        case DeadlineKind::Exponential: m_a->setValue(1.0 / p[0]); break;
        case DeadlineKind::Csv:
            m_csvPath->setText(m_spec.mid(4));
            m_csvUnit->setCurrentIndex(m_unit == QStringLiteral("ms") ? 1 : 0);
            break;
        }
    }
    const bool csv = kind == DeadlineKind::Csv;
    const bool two = kind == DeadlineKind::Uniform || kind == DeadlineKind::Normal;
    m_aLabel->setText(kind == DeadlineKind::Fixed         ? QStringLiteral("at")
                      : kind == DeadlineKind::Uniform     ? QStringLiteral("from")
                                                          : QStringLiteral("mean"));
    m_bLabel->setText(kind == DeadlineKind::Uniform ? QStringLiteral("to") : QStringLiteral("std dev"));
    const bool ms = m_unit == QStringLiteral("ms") && m_given.kind() != core::ForcedExitDistribution::Kind::Empirical;
    m_a->setSuffix(ms ? QStringLiteral(" ms") : QStringLiteral(" \u00d7 full"));
    m_b->setSuffix(ms ? QStringLiteral(" ms") : QStringLiteral(" \u00d7 full"));
    m_aLabel->setVisible(!csv);
    m_a->setVisible(!csv);
    m_bLabel->setVisible(two);
    m_b->setVisible(two);
    m_csvPath->setVisible(csv);
    m_csvUnit->setVisible(csv);
    m_csvBrowse->setVisible(csv);
    m_methodCombo->setCurrentIndex(m_method == core::SearchMethod::Greedy ? 1
                                   : m_method == core::SearchMethod::Random ? 2
                                                                            : 0);
    m_m->setValue(static_cast<int>(m_search.enumerate));
    m_m->setEnabled(m_method == core::SearchMethod::Hybrid);
    m_predictor->setChecked(m_predictorOn);
    m_syncing = false;
}

} // namespace exitscope::widgets
