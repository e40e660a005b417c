// The elastic panel's controls, state and background jobs; the plots and the
// table are drawn in elastic_panel_plots.cpp.
#include "widgets/elastic_panel.h"

#include "core/common/error.h"
#include "core/trace/trace.h"
#include "widgets/job_runner.h"
#include "widgets/vector_state.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <nlohmann/json.hpp>
#include <qcustomplot.h>

#include <algorithm>

namespace exitscope::widgets {

namespace {

// What a background job hands back; `generation` and `serial` say which
// traces and settings it was made for.
struct TrainedResult {
    quint64 generation = 0;
    std::shared_ptr<const core::ConfidencePredictor> predictor;
};
struct EvaluatedResult {
    quint64 generation = 0;
    quint64 serial = 0;
    double seconds = 0.0;
    std::shared_ptr<const core::ElasticEvaluation> evaluation;
};

} // namespace

} // namespace exitscope::widgets

Q_DECLARE_METATYPE(std::shared_ptr<const exitscope::widgets::TrainedResult>)
Q_DECLARE_METATYPE(std::shared_ptr<const exitscope::widgets::EvaluatedResult>)

namespace exitscope::widgets {

namespace {

using TrainedPtr = std::shared_ptr<const TrainedResult>;
using EvaluatedPtr = std::shared_ptr<const EvaluatedResult>;

QString number(double v) { return QString::number(v, 'g', 10); }

// The trace's class names; empty when it has none (or they do not parse).
QStringList classNamesOf(const core::Trace& trace) {
    QStringList names;
    const auto it = trace.metadata.find("class_names");
    if (it == trace.metadata.end()) return names;
    const auto j = nlohmann::json::parse(it->second, nullptr, false);
    if (!j.is_array()) return names;
    for (const auto& c : j) names << (c.is_string() ? QString::fromStdString(c.get<std::string>()) : QString());
    if (names.size() != trace.numClasses) names.clear();
    return names;
}

QString errorHtml(const QString& text) {
    return QStringLiteral("<span style='color:#b00020'>%1</span>").arg(text.toHtmlEscaped());
}

// The CLI's --deadline form of a parametric kind (Csv has none).
QString specFor(ElasticPanel::DeadlineKind kind, double a, double b) {
    switch (kind) {
    case ElasticPanel::DeadlineKind::Fixed: return QStringLiteral("fixed:%1").arg(number(a));
    case ElasticPanel::DeadlineKind::Uniform: return QStringLiteral("uniform:%1,%2").arg(number(a), number(b));
    case ElasticPanel::DeadlineKind::Normal: return QStringLiteral("normal:%1,%2").arg(number(a), number(b));
    case ElasticPanel::DeadlineKind::Exponential: return QStringLiteral("exponential:mean=%1").arg(number(a));
    case ElasticPanel::DeadlineKind::Csv: break;
    }
    return {};
}

} // namespace

ElasticPanel::ElasticPanel(QWidget* parent)
    : QWidget(parent), m_trainRunner(new JobRunner(this)), m_evalRunner(new JobRunner(this)) {
    qRegisterMetaType<TrainedPtr>();
    qRegisterMetaType<EvaluatedPtr>();
    buildUi();

    connect(m_trainRunner, &JobRunner::finished, this, [this](const QVariant& v) {
        const auto r = v.value<TrainedPtr>();
        if (!r || r->generation != m_generation) return;
        m_trained = r->predictor;
        m_trainError.clear();
        if (m_predictorOn) {
            replanSelected();
            emit settingsChanged();
        }
        updateStatus();
        emit predictorTrained(QString());
        if (m_evalPending || m_predictorOn) requestEvaluation();
    });
    const auto trainStopped = [this](const QString& why) {
        m_trainError = why;
        updateStatus();
        emit predictorTrained(why);
        if (m_evalPending) requestEvaluation();
    };
    connect(m_trainRunner, &JobRunner::failed, this, trainStopped);
    connect(m_trainRunner, &JobRunner::cancelled, this,
            [trainStopped] { trainStopped(QStringLiteral("training cancelled")); });
    connect(m_trainRunner, &JobRunner::busyChanged, this, [this] { updateStatus(); });

    connect(m_evalRunner, &JobRunner::finished, this, [this](const QVariant& v) {
        const auto r = v.value<EvaluatedPtr>();
        if (!r || r->generation != m_generation || r->serial != m_serial) return;
        m_evaluation = r->evaluation;
        m_evaluationSerial = r->serial;
        m_evalSeconds = r->seconds;
        fillTable();
        emit evaluationFinished();
    });
    connect(m_evalRunner, &JobRunner::failed, this, [this](const QString& error) {
        m_tableCaption->setText(errorHtml(QStringLiteral("The evaluation failed: ") + error));
        emit evaluationFailed(error);
    });
    connect(m_evalRunner, &JobRunner::cancelled, this, [this] {
        m_tableCaption->setText(QStringLiteral("Evaluation cancelled; change a setting to run it again."));
    });

    syncControls();
    updateStatus();
    drawDensity();
    drawPlan();
    fillTable();
}

ElasticPanel::~ElasticPanel() = default;

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

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(intro);
    layout->addWidget(m_densityPlot, 3);
    layout->addWidget(m_planTitle);
    layout->addWidget(m_planPlot, 4);
    layout->addWidget(m_planSummary);
    layout->addWidget(m_trainProgress);
    layout->addWidget(m_tableCaption);
    layout->addWidget(m_table, 3);
    layout->addWidget(m_evalProgress);

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

bool ElasticPanel::setTraces(const core::Trace& val, const core::Trace& test) {
    try {
        if (val.numExits != test.numExits)
            throw core::Error("elastic panel: the validation trace has " + std::to_string(val.numExits) +
                              " exits, the test trace " + std::to_string(test.numExits));
        if (test.numExits < 1 || test.numExits > 64)
            throw core::Error("elastic panel: the planner handles 1 to 64 exits, the trace has " +
                              std::to_string(test.numExits));
        if (val.numSamples < 1 || test.numSamples < 1) throw core::Error("elastic panel: a trace has no samples");
        clearUpperVectorState();
        auto profile = core::executionProfile(test);
        const double fullMs = profile.fullMs();
        if (!(fullMs > 0.0)) throw core::Error("elastic panel: the test trace's branches take no time (block_ms, head_ms)");
        auto testConfidence = core::exitConfidences(test);
        auto meanPredictor = core::ConfidencePredictor::meanProfile(core::exitConfidences(val), val.numExits);
        auto distMs = m_unit == QStringLiteral("ms") ? m_given : m_given.scaled(fullMs);
        m_val = std::make_shared<const core::Trace>(val);
        m_test = std::make_shared<const core::Trace>(test);
        m_profile = std::move(profile);
        m_testConfidence = std::move(testConfidence);
        m_meanPredictor = std::move(meanPredictor);
        m_distMs = std::move(distMs);
        m_classNames = classNamesOf(test);
    } catch (const std::exception& e) {
        m_error = QString::fromUtf8(e.what());
        return false;
    }
    m_error.clear();
    ++m_generation;
    ++m_serial;
    m_trained.reset();
    m_trainError.clear();
    m_evaluation.reset();
    m_trainRunner->cancel();
    if (m_selected >= m_test->numSamples) m_selected = -1;
    if (m_predictorOn) startTraining();
    drawDensity();
    replanSelected();
    fillTable();
    updateStatus();
    requestEvaluation();
    emit settingsChanged();
    return true;
}

void ElasticPanel::setSelectedSample(int testRow) {
    m_selected = m_test && testRow >= 0 && testRow < m_test->numSamples ? testRow : -1;
    replanSelected();
}

bool ElasticPanel::setDeadline(DeadlineKind kind, double a, double b) {
    if (kind == DeadlineKind::Csv) {
        m_deadlineError = QStringLiteral("A CSV deadline needs a file: use setDeadlineCsv");
        m_deadlineMsg->setText(errorHtml(m_deadlineError));
        return false;
    }
    return setDeadlineSpec(specFor(kind, a, b));
}

bool ElasticPanel::setDeadlineCsv(const QString& path, bool inMs) {
    return setDeadlineSpec(QStringLiteral("csv:") + path, inMs ? QStringLiteral("ms") : QStringLiteral("fraction"));
}

bool ElasticPanel::setDeadlineSpec(const QString& spec, const QString& unit) {
    try {
        if (unit != QStringLiteral("fraction") && unit != QStringLiteral("ms"))
            throw core::Error("deadline unit '" + unit.toStdString() + "' is not fraction or ms");
        return applyDistribution(core::ForcedExitDistribution::parse(spec.toStdString()), spec, unit);
    } catch (const std::exception& e) {
        m_deadlineError = QString::fromUtf8(e.what());
        m_deadlineMsg->setText(errorHtml(QStringLiteral("Refused: %1. Still planning for T ~ %2.")
                                             .arg(m_deadlineError, QString::fromStdString(m_given.describe()))));
        return false;
    }
}

bool ElasticPanel::applyDistribution(const core::ForcedExitDistribution& given, const QString& spec,
                                     const QString& unit) {
    if (m_test) m_distMs = unit == QStringLiteral("ms") ? given : given.scaled(m_profile.fullMs());
    else m_distMs = given;
    m_given = given;
    m_spec = spec;
    m_unit = unit;
    m_deadlineError.clear();
    m_deadlineMsg->clear();
    ++m_serial;
    syncControls();
    drawDensity();
    replanSelected();
    requestEvaluation();
    emit settingsChanged();
    return true;
}

void ElasticPanel::onControlsEdited() {
    if (m_syncing) return;
    const auto kind = static_cast<DeadlineKind>(m_kind->currentIndex());
    if (kind == DeadlineKind::Csv) {
        const QString path = m_csvPath->text().trimmed();
        if (path.isEmpty()) return;
        setDeadlineCsv(path, m_csvUnit->currentIndex() == 1);
        return;
    }
    // The boxes are in the unit of the current parametric setting (a spec
    // given in ms stays in ms); after a CSV they are fractions.
    const bool ms = m_unit == QStringLiteral("ms") && m_given.kind() != core::ForcedExitDistribution::Kind::Empirical;
    setDeadlineSpec(specFor(kind, m_a->value(), m_b->value()), ms ? QStringLiteral("ms") : QStringLiteral("fraction"));
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

void ElasticPanel::setSearch(core::SearchMethod method, int enumerate) {
    if (method == core::SearchMethod::Enumerate) method = core::SearchMethod::Hybrid;
    enumerate = std::clamp(enumerate, 0, 24);
    if (method == m_method && enumerate == m_search.enumerate) return;
    m_method = method;
    m_search.enumerate = enumerate;
    ++m_serial;
    syncControls();
    replanSelected();
    requestEvaluation();
    emit settingsChanged();
}

void ElasticPanel::setPredictorEnabled(bool on) {
    if (on == m_predictorOn) return;
    m_predictorOn = on;
    ++m_serial;
    if (on && !m_trained && m_val) {
        m_trainError.clear();
        if (!m_trainRunner->isBusy()) startTraining();
    }
    syncControls();
    updateStatus();
    replanSelected();
    requestEvaluation();
    emit settingsChanged();
}

bool ElasticPanel::applySettings(const core::ElasticSettings& s) {
    if (m_test && s.predictor.isTrained() && s.predictor.numExits() != m_test->numExits) {
        m_deadlineError = QStringLiteral("the settings' predictor has %1 exits, the model %2")
                              .arg(s.predictor.numExits())
                              .arg(m_test->numExits);
        m_deadlineMsg->setText(errorHtml(m_deadlineError));
        return false;
    }
    if (!setDeadlineSpec(QString::fromStdString(s.deadlineSpec), QString::fromStdString(s.deadlineUnit))) return false;
    if (s.search.randomPlans != m_search.randomPlans && s.search.randomPlans > 0) {
        m_search.randomPlans = s.search.randomPlans;
        ++m_serial;
    }
    setSearch(s.method, static_cast<int>(s.search.enumerate));
    if (!s.predictor.isMlp()) {
        setPredictorEnabled(false);
        return true;
    }
    // A trained predictor is used as it is (until new traces retrain one).
    m_trainRunner->cancel();
    m_trained = std::make_shared<const core::ConfidencePredictor>(s.predictor);
    m_trainError.clear();
    m_predictorOn = true;
    ++m_serial;
    syncControls();
    updateStatus();
    replanSelected();
    requestEvaluation();
    emit settingsChanged();
    return true;
}

bool ElasticPanel::isTrainingPredictor() const { return m_trainRunner->isBusy(); }

const core::ConfidencePredictor& ElasticPanel::planningPredictor() const {
    return m_predictorOn && m_trained ? *m_trained : m_meanPredictor;
}

void ElasticPanel::updateStatus() {
    QString text;
    if (!m_predictorOn) {
        text = QStringLiteral("off: the planner assumes each exit's mean validation confidence");
    } else if (!m_val) {
        text = QStringLiteral("trained when traces are loaded");
    } else if (m_trained) {
        QString layers = QString::number(2 * m_trained->numExits());
        for (int64_t h : m_trained->options().hidden) layers += QStringLiteral("-") + QString::number(h);
        text = QStringLiteral("MLP %1-%2 trained on %3 validation images")
                   .arg(layers)
                   .arg(m_trained->numExits())
                   .arg(m_val->numSamples);
    } else if (m_trainRunner->isBusy()) {
        text = QStringLiteral("<b>training\u2026</b> (meanwhile the plan uses mean confidences)");
    } else if (!m_trainError.isEmpty()) {
        text = errorHtml(QStringLiteral("not trained (%1); using mean confidences").arg(m_trainError));
    }
    m_status->setText(text);
}

void ElasticPanel::startTraining() {
    if (!m_val) return;
    const auto val = m_val;
    const quint64 generation = m_generation;
    m_trainRunner->start(
        [val, generation](const core::ProgressFn& progress, const core::CancelFlag& cancel) {
            clearUpperVectorState();
            auto out = std::make_shared<TrainedResult>();
            out->generation = generation;
            out->predictor = std::make_shared<const core::ConfidencePredictor>(core::ConfidencePredictor::train(
                core::exitConfidences(*val), val->numExits, core::PredictorOptions{}, progress, &cancel));
            return QVariant::fromValue(TrainedPtr(std::move(out)));
        },
        QStringLiteral("training the CS-Predictor"));
    updateStatus();
}

void ElasticPanel::requestEvaluation() {
    if (!m_test) return;
    if (m_predictorOn && !m_trained && m_trainError.isEmpty()) {
        // The table waits for the predictor; training finishing asks again.
        m_evalPending = true;
        if (!m_trainRunner->isBusy()) startTraining();
        m_tableCaption->setText(QStringLiteral("Waiting for the CS-Predictor before evaluating\u2026"));
        return;
    }
    m_evalPending = false;
    const auto test = m_test;
    const auto profile = m_profile;
    const auto dist = m_distMs;
    const auto predictor = planningPredictor();
    core::ElasticEvalOptions options;
    options.search = m_search;
    const quint64 generation = m_generation, serial = m_serial;
    if (m_evaluation) m_tableCaption->setText(m_tableCaption->text() + QStringLiteral(" \u2014 updating\u2026"));
    m_evalRunner->start(
        [=](const core::ProgressFn& progress, const core::CancelFlag& cancel) mutable {
            clearUpperVectorState();
            QElapsedTimer timer;
            timer.start();
            options.progress = progress;
            options.cancel = &cancel;
            auto out = std::make_shared<EvaluatedResult>();
            out->generation = generation;
            out->serial = serial;
            out->evaluation = std::make_shared<const core::ElasticEvaluation>(
                core::evaluateElastic(*test, profile, dist, predictor, options));
            out->seconds = static_cast<double>(timer.nsecsElapsed()) * 1e-9;
            return QVariant::fromValue(EvaluatedPtr(std::move(out)));
        },
        QStringLiteral("evaluating EINet and its baselines"));
}

core::ElasticSettings ElasticPanel::settings() const {
    core::ElasticSettings s;
    s.method = m_method;
    s.search = m_search;
    s.deadlineSpec = m_spec.toStdString();
    s.deadlineUnit = m_unit.toStdString();
    s.fullMs = m_test ? m_profile.fullMs() : 0.0;
    s.distributionMs = m_distMs;
    s.predictor = planningPredictor();
    if (m_evaluation && m_evaluationSerial == m_serial) s.expectedTestAccuracy = m_evaluation->row("einet").expectedAccuracy;
    return s;
}

} // namespace exitscope::widgets
