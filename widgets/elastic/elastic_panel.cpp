// The elastic panel's settings, state and background jobs; the controls are
// built in elastic_panel_controls.cpp, the plots and table drawn in elastic_panel_plots.cpp.
#include "widgets/elastic/elastic_panel.h"

#include "core/common/error.h"
#include "core/trace/trace.h"
#include "widgets/common/job_runner.h"
#include "widgets/common/vector_state.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QTableWidget>
#include <nlohmann/json.hpp>

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

bool ElasticPanel::setTraces(const core::Trace& val, const core::Trace& test) {
    return setTraces(std::make_shared<const core::Trace>(val), std::make_shared<const core::Trace>(test));
}

bool ElasticPanel::setTraces(std::shared_ptr<const core::Trace> valPtr, std::shared_ptr<const core::Trace> testPtr) {
    try {
        if (!valPtr || !testPtr) throw core::Error("elastic panel: no trace given");
        const core::Trace& val = *valPtr;
        const core::Trace& test = *testPtr;
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
        m_val = std::move(valPtr);
        m_test = std::move(testPtr);
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
