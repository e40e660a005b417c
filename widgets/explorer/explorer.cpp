#include "widgets/explorer/explorer.h"

#include "core/common/error.h"
#include "core/policy/calibration.h"
#include "core/train/gate_trainer.h"
#include "widgets/explorer/gate_grid_worker.h"
#include "widgets/common/vector_state.h"

#include <QDateTime>
#include <QFileInfo>
#include <QUndoCommand>
#include <QUndoStack>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <exception>

namespace exitscope::widgets {

/// One control change on the undo stack: the settings before and after.
class SettingsCommand : public QUndoCommand {
public:
    SettingsCommand(Explorer* explorer, ExplorerSettings before, ExplorerSettings after, const QString& text,
                    int mergeKey)
        : QUndoCommand(text), m_explorer(explorer), m_before(std::move(before)), m_after(std::move(after)),
          m_mergeKey(mergeKey), m_time(QDateTime::currentMSecsSinceEpoch()) {}

    void redo() override { m_explorer->applyNow(m_after); }
    void undo() override { m_explorer->applyNow(m_before); }
    int id() const override { return m_mergeKey; }
    bool mergeWith(const QUndoCommand* other) override {
        const auto* next = static_cast<const SettingsCommand*>(other);
        // A slider drag is one step; the same slider touched again later is another.
        if (next->m_time - m_time > 1000) return false;
        m_after = next->m_after;
        m_time = next->m_time;
        return true;
    }

private:
    Explorer* m_explorer;
    ExplorerSettings m_before, m_after;
    int m_mergeKey;
    qint64 m_time;
};

namespace {

enum MergeKey { kThresholdKey = 1, kExitThresholdKey = 100, kBudgetKey = 2, kAnytimeKey = 3, kAlphaKey = 4 };

// Why `val` cannot serve as the validation trace of `test`; empty when it can.
QString incompatibility(const core::Trace& val, const core::Trace& test) {
    if (val.numExits != test.numExits || val.numClasses != test.numClasses) {
        return QStringLiteral("the validation trace has %1 exits and %2 classes, the test trace %3 and %4")
            .arg(val.numExits).arg(val.numClasses).arg(test.numExits).arg(test.numClasses);
    }
    const std::string a = val.meta("weights_hash"), b = test.meta("weights_hash");
    if (!a.empty() && !b.empty() && a != b) {
        return QStringLiteral("the validation trace comes from weights %1, the test trace from %2")
            .arg(QString::fromStdString(a), QString::fromStdString(b));
    }
    return {};
}

double clampOr(double value, double lo, double hi, double fallback) {
    if (!std::isfinite(value)) return fallback;
    return std::clamp(value, lo, hi);
}

} // namespace

Explorer::Explorer(QObject* parent)
    : QObject(parent), m_alphas(core::alphaGrid(0.05)), m_worker(new GateGridWorker(this)),
      m_undo(new QUndoStack(this)) {
    connect(m_worker, &GateGridWorker::progressed, this, [this](double fraction) {
        m_gateProgress = fraction;
        emit gateGridChanged();
    });
    connect(m_worker, &GateGridWorker::gridReady, this, [this] { setGateGrid(m_worker->takeGrid()); });
    connect(m_worker, &GateGridWorker::failed, this, [this](const QString& message) {
        m_gateNote = QStringLiteral("Training the LEENet gates failed: %1").arg(message);
        emit gateGridChanged();
    });
    // Connected first, so every view sees the live result gone before it redraws for the new policy.
    connect(this, &Explorer::policyChanged, this, &Explorer::clearLiveResult);
}

Explorer::~Explorer() = default;

bool Explorer::loadTrace(const QString& path) {
    std::shared_ptr<const core::Trace> trace;
    try {
        trace = std::make_shared<const core::Trace>(core::readTrace(path.toStdString()));
    } catch (const std::exception& e) {
        m_error = QString::fromStdString(e.what());
        if (!m_error.contains(path)) m_error = QStringLiteral("%1: %2").arg(path, m_error);
        return false;
    }
    m_error.clear();
    addTrace(std::move(trace), QFileInfo(path).absoluteFilePath());
    return true;
}

void Explorer::addTrace(std::shared_ptr<const core::Trace> trace, const QString& source) {
    if (!trace) return;
    const bool isVal = trace->meta("split") == "val";
    const bool shownIsVal = m_test && m_test->meta("split") == "val";
    if (isVal) {
        if (m_test && !shownIsVal && incompatibility(*trace, *m_test).isEmpty()) {
            setTraces(trace, m_test, source, m_testSource);
        } else {
            // Alone (or beside a test trace of another model) it is shown itself.
            setTraces(nullptr, trace, QString(), source);
        }
    } else {
        std::shared_ptr<const core::Trace> val = m_val;
        QString valSource = m_valSource;
        if (shownIsVal) {
            val = m_test;
            valSource = m_testSource;
        }
        setTraces(val, trace, valSource, source);
    }
}

void Explorer::setTraces(std::shared_ptr<const core::Trace> val, std::shared_ptr<const core::Trace> test,
                         const QString& valSource, const QString& testSource) {
    clearUpperVectorState();
    m_note.clear();
    m_gateNote.clear();
    m_alphas = core::alphaGrid(0.05);
    if (!test) val.reset();
    if (val && test) {
        const QString why = incompatibility(*val, *test);
        if (!why.isEmpty()) {
            m_note = QStringLiteral("Validation trace ignored: %1.").arg(why);
            val.reset();
        }
    }
    const bool sameShape = m_test && test && m_test->numExits == test->numExits &&
                           m_test->numClasses == test->numClasses;
    m_val = std::move(val);
    m_test = std::move(test);
    m_valSource = m_val ? valSource : QString();
    m_testSource = m_test ? testSource : QString();
    m_scores.clear();
    m_fits.clear();
    m_fitter.reset();
    m_gateGrid.clear();
    m_gateDeciders.clear();
    m_decider.reset();
    m_configGates.reset();
    m_gateProgress = 0.0;
    m_temperatures.clear();
    if (const core::Trace* fit = fitTrace(); fit && fit->numSamples > 0) {
        try {
            m_temperatures = core::fitTemperatures(*fit);
        } catch (const core::Error& e) {
            m_note += QStringLiteral(" Calibration unavailable: %1").arg(QString::fromStdString(e.what()));
        }
    }
    if (fittedOnTest()) {
        m_note += QStringLiteral(" No validation trace loaded: thresholds, budgets, calibration and gates are "
                                 "fitted on the test trace itself, so its figures are optimistic.");
    }
    m_note = m_note.trimmed();
    m_settings.configGates = false;
    if (!sameShape) {
        m_settings = defaultSettings();
        m_undo->clear();
    } else {
        m_settings = sanitized(m_settings);
    }
    m_selected = (m_test && m_test->numSamples > 0) ? 0 : -1;
    recomputeCurves();
    startGateGrid();
    recompute();
    emit tracesChanged();
    emit policyChanged();
    emit curvesChanged();
    emit outcomeChanged();
    emit selectionChanged(m_selected);
}

QString Explorer::note() const {
    QStringList parts;
    for (const QString& part : {m_note, m_gateNote, m_outcomeNote}) {
        if (!part.isEmpty()) parts << part;
    }
    return parts.join(QLatin1Char(' '));
}

int Explorer::numSamples() const {
    return m_test ? static_cast<int>(m_test->numSamples) : 0;
}

int Explorer::numExits() const {
    return m_test ? static_cast<int>(m_test->numExits) : 0;
}

QStringList Explorer::classNames() const {
    QStringList names;
    if (!m_test) return names;
    try {
        const auto j = nlohmann::json::parse(m_test->meta("class_names"));
        for (const auto& name : j) names << QString::fromStdString(name.get<std::string>());
    } catch (const std::exception&) {
        names.clear();
    }
    if (names.size() != m_test->numClasses) {
        names.clear();
        for (int64_t c = 0; c < m_test->numClasses; ++c) names << QStringLiteral("class %1").arg(c);
    }
    return names;
}

std::pair<double, double> Explorer::budgetRange() const {
    const core::Trace* t = fitTrace();
    if (!t || t->exitMacs.empty()) return {0.0, 0.0};
    return {static_cast<double>(t->exitMacs.front()), static_cast<double>(t->exitMacs.back())};
}

std::pair<double, double> Explorer::anytimeRange(core::BudgetUnit unit) const {
    if (!m_test || m_test->exitMacs.empty()) return {0.0, 0.0};
    if (unit == core::BudgetUnit::Macs) {
        return {static_cast<double>(m_test->exitMacs.front()), static_cast<double>(m_test->exitMacs.back())};
    }
    if (m_test->exitMs.empty()) return {0.0, 0.0};
    return {m_test->exitMs.front(), m_test->exitMs.back()};
}

ExplorerSettings Explorer::defaultSettings() const {
    ExplorerSettings s;
    const int k = numExits();
    s.exitThresholds.assign(static_cast<std::size_t>(std::max(0, k - 1)), s.threshold);
    const auto [lo, hi] = budgetRange();
    s.budgetMacs = (lo + hi) / 2.0;
    const auto [alo, ahi] = anytimeRange(core::BudgetUnit::Macs);
    s.anytimeBudget = (alo + ahi) / 2.0;
    s.alphaIndex = static_cast<int>(m_alphas.size() / 2);
    s.staticExit = std::max(0, k - 1);
    return s;
}

ExplorerSettings Explorer::sanitized(ExplorerSettings s) const {
    const ExplorerSettings d = defaultSettings();
    s.threshold = static_cast<float>(clampOr(s.threshold, 0.0, 1.0, d.threshold));
    s.exitThresholds.resize(d.exitThresholds.size(), s.threshold);
    for (float& t : s.exitThresholds) t = static_cast<float>(clampOr(t, 0.0, 1.0, s.threshold));
    const auto [lo, hi] = budgetRange();
    s.budgetMacs = clampOr(s.budgetMacs, lo, hi, d.budgetMacs);
    const auto [alo, ahi] = anytimeRange(s.anytimeUnit);
    s.anytimeBudget = clampOr(s.anytimeBudget, alo, ahi, (alo + ahi) / 2.0);
    s.alphaIndex = std::clamp(s.alphaIndex, 0, static_cast<int>(m_alphas.size()) - 1);
    s.configGates = s.configGates && m_configGates.has_value();
    s.staticExit = std::clamp(s.staticExit, 0, std::max(0, numExits() - 1));
    return s;
}

void Explorer::changeSettings(const ExplorerSettings& requested, const QString& what, int mergeKey) {
    const ExplorerSettings s = sanitized(requested);
    if (!m_test || s == m_settings) return;
    m_undo->push(new SettingsCommand(this, m_settings, s, what, mergeKey));
}

void Explorer::applyNow(const ExplorerSettings& s) {
    clearUpperVectorState();
    const bool curvesStale = s.criterion != m_settings.criterion || s.calibrated != m_settings.calibrated;
    m_settings = s;
    if (curvesStale) recomputeCurves();
    recompute();
    emit policyChanged();
    if (curvesStale) emit curvesChanged();
    emit outcomeChanged();
}

void Explorer::setPolicy(PolicyChoice policy) {
    ExplorerSettings s = m_settings;
    s.policy = policy;
    changeSettings(s, QStringLiteral("Policy: %1").arg(policyChoiceTitle(policy)));
}

void Explorer::setCriterion(core::ConfidenceCriterion criterion) {
    ExplorerSettings s = m_settings;
    s.criterion = criterion;
    changeSettings(s, QStringLiteral("Criterion: %1").arg(QString::fromStdString(core::criterionName(criterion))));
}

void Explorer::setCalibrated(bool on) {
    ExplorerSettings s = m_settings;
    s.calibrated = on;
    changeSettings(s, on ? QStringLiteral("Calibration on") : QStringLiteral("Calibration off"));
}

void Explorer::setPerExit(bool on) {
    ExplorerSettings s = m_settings;
    s.perExit = on;
    if (on) std::fill(s.exitThresholds.begin(), s.exitThresholds.end(), s.threshold);
    changeSettings(s, on ? QStringLiteral("Per-exit thresholds") : QStringLiteral("One threshold"));
}

void Explorer::setThreshold(float threshold) {
    ExplorerSettings s = m_settings;
    s.threshold = threshold;
    changeSettings(s, QStringLiteral("Threshold %1").arg(threshold, 0, 'f', 3), kThresholdKey);
}

void Explorer::setExitThreshold(int exit, float threshold) {
    if (exit < 0 || exit >= static_cast<int>(m_settings.exitThresholds.size())) return;
    ExplorerSettings s = m_settings;
    s.exitThresholds[static_cast<std::size_t>(exit)] = threshold;
    changeSettings(s, QStringLiteral("Exit %1 threshold %2").arg(exit).arg(threshold, 0, 'f', 3),
                   kExitThresholdKey + exit);
}

void Explorer::setBudgetMacs(double budget) {
    ExplorerSettings s = m_settings;
    s.budgetMacs = budget;
    changeSettings(s, QStringLiteral("Budget %1 M MACs").arg(budget / 1e6, 0, 'f', 3), kBudgetKey);
}

void Explorer::setAnytimeBudget(double budget) {
    ExplorerSettings s = m_settings;
    s.anytimeBudget = budget;
    changeSettings(s, QStringLiteral("Anytime budget %1").arg(budget), kAnytimeKey);
}

void Explorer::setAnytimeUnit(core::BudgetUnit unit) {
    if (unit == m_settings.anytimeUnit) return;
    ExplorerSettings s = m_settings;
    // Keep the same exit reachable: map the budget through the exits' costs.
    const auto [lo, hi] = anytimeRange(s.anytimeUnit);
    const auto [nlo, nhi] = anytimeRange(unit);
    const double share = hi > lo ? (s.anytimeBudget - lo) / (hi - lo) : 0.5;
    s.anytimeUnit = unit;
    s.anytimeBudget = nlo + share * (nhi - nlo);
    changeSettings(s, unit == core::BudgetUnit::Macs ? QStringLiteral("Anytime in MACs")
                                                     : QStringLiteral("Anytime in ms"));
}

void Explorer::setAlphaIndex(int index) {
    ExplorerSettings s = m_settings;
    s.alphaIndex = index;
    s.configGates = false;
    changeSettings(s, QStringLiteral("Alpha %1").arg(index), kAlphaKey);
}

void Explorer::setStaticExit(int exit) {
    ExplorerSettings s = m_settings;
    s.staticExit = exit;
    changeSettings(s, QStringLiteral("Static exit %1").arg(exit));
}

void Explorer::resetToDefaults() {
    changeSettings(defaultSettings(), QStringLiteral("Reset to defaults"));
}

bool Explorer::gatesAvailable() const {
    const core::Trace* t = fitTrace();
    return t && t->gateDim > 0 && t->numExits > 1;
}

void Explorer::startGateGrid() {
    if (!gatesAvailable() || fitTrace()->numSamples == 0) {
        m_worker->cancel();
        return;
    }
    m_worker->request(m_val ? m_val : m_test);
    emit gateGridChanged();
}

void Explorer::setGateGrid(std::vector<core::GateSet> grid) {
    if (!m_test) return;
    m_worker->cancel();
    clearUpperVectorState();
    std::vector<core::Decider> deciders;
    std::vector<TradeoffPoint> points;
    try {
        for (std::size_t i = 0; i < grid.size(); ++i) {
            core::PolicyConfig policy;
            policy.kind = core::PolicyKind::Gates;
            policy.gates = grid[i];
            deciders.emplace_back(m_test, policy, scoresFor(core::ConfidenceCriterion::MaxSoftmax, false));
            points.push_back(pointOf(deciders.back().outcome(), i < m_alphas.size() ? m_alphas[i] : grid[i].alpha));
        }
    } catch (const core::Error& e) {
        m_gateNote = QStringLiteral("LEENet gates do not fit the test trace: %1").arg(QString::fromStdString(e.what()));
        emit gateGridChanged();
        return;
    }
    if (grid.size() != m_alphas.size()) {
        m_alphas.clear();
        for (const core::GateSet& g : grid) m_alphas.push_back(g.alpha);
    }
    m_gateGrid = std::move(grid);
    m_gateDeciders = std::move(deciders);
    m_curves.gates = std::move(points);
    m_gateProgress = 1.0;
    m_settings = sanitized(m_settings);
    emit gateGridChanged();
    emit curvesChanged();
    if (m_settings.policy == PolicyChoice::Gates && !m_settings.configGates) {
        recompute();
        emit outcomeChanged();
    }
}

std::optional<core::PolicyConfig> Explorer::policyConfig() const {
    if (!m_test) return std::nullopt;
    core::PolicyConfig p;
    const ExplorerSettings& s = m_settings;
    switch (s.policy) {
    case PolicyChoice::Confidence:
        p.kind = core::PolicyKind::Confidence;
        p.confidence.criterion = s.criterion;
        p.confidence.thresholds = s.perExit ? s.exitThresholds : std::vector<float>{s.threshold};
        if (s.calibrated) p.confidence.temperatures = m_temperatures;
        return p;
    case PolicyChoice::Budgeted:
        p.kind = core::PolicyKind::Budgeted;
        p.budgeted = fitFor(s.budgetMacs);
        return p;
    case PolicyChoice::Anytime:
        p.kind = core::PolicyKind::Anytime;
        p.anytimeBudget = s.anytimeBudget;
        p.anytimeUnit = s.anytimeUnit;
        return p;
    case PolicyChoice::Gates:
        p.kind = core::PolicyKind::Gates;
        if (s.configGates && m_configGates) {
            p.gates = *m_configGates;
        } else if (gateGridReady()) {
            p.gates = m_gateGrid[static_cast<std::size_t>(s.alphaIndex)];
        } else {
            return std::nullopt;
        }
        return p;
    case PolicyChoice::Static:
        p.kind = core::PolicyKind::Static;
        p.staticExit = s.staticExit;
        return p;
    case PolicyChoice::Oracle: return std::nullopt;
    }
    return std::nullopt;
}

QString Explorer::whyNotDeployable() const {
    if (!m_test) return QStringLiteral("No trace is loaded.");
    if (m_settings.policy == PolicyChoice::Oracle)
        return QStringLiteral("The oracle is an upper bound that looks at the labels; it cannot be deployed. "
                              "Choose another policy to export a tuned config.");
    if (m_settings.policy == PolicyChoice::Gates && !policyConfig())
        return QStringLiteral("The LEENet gates are still training; try again in a moment.");
    return {};
}

bool Explorer::applyTunedConfig(const core::TunedConfig& config) {
    if (!m_test) {
        m_error = QStringLiteral("Open a trace before a tuned config: the config's policy is evaluated on it.");
        return false;
    }
    try {
        core::checkConfigMatchesTrace(config, *m_test, "tuned config");
        core::checkPolicyConfig(config.policy, m_test->numExits, m_test.get());
    } catch (const core::Error& e) {
        m_error = QString::fromStdString(e.what());
        return false;
    }
    ExplorerSettings s = m_settings;
    const core::PolicyConfig& p = config.policy;
    switch (p.kind) {
    case core::PolicyKind::Confidence:
        s.policy = PolicyChoice::Confidence;
        s.criterion = p.confidence.criterion;
        s.calibrated = !p.confidence.temperatures.empty();
        s.perExit = p.confidence.thresholds.size() > 1;
        if (s.perExit) {
            s.exitThresholds = core::thresholdsPerExit(p.confidence.thresholds, m_test->numExits);
        } else if (!p.confidence.thresholds.empty()) {
            s.threshold = p.confidence.thresholds.front();
        }
        break;
    case core::PolicyKind::Budgeted:
        s.policy = PolicyChoice::Budgeted;
        s.budgetMacs = p.budgeted.budgetPerSample;
        break;
    case core::PolicyKind::Anytime:
        s.policy = PolicyChoice::Anytime;
        s.anytimeUnit = p.anytimeUnit;
        s.anytimeBudget = p.anytimeBudget;
        break;
    case core::PolicyKind::Gates:
        s.policy = PolicyChoice::Gates;
        m_configGates = p.gates;
        s.configGates = true;
        break;
    case core::PolicyKind::Static:
        s.policy = PolicyChoice::Static;
        s.staticExit = static_cast<int>(p.staticExit);
        break;
    }
    m_error.clear();
    changeSettings(s, QStringLiteral("Apply tuned config"));
    return true;
}

bool Explorer::loadTunedConfig(const QString& path) {
    core::TunedConfig config;
    try {
        config = core::loadConfig(path.toStdString());
    } catch (const std::exception& e) {
        m_error = QString::fromStdString(e.what());
        if (!m_error.contains(path)) m_error = QStringLiteral("%1: %2").arg(path, m_error);
        return false;
    }
    if (!applyTunedConfig(config)) {
        m_error = QStringLiteral("%1: %2").arg(path, m_error);
        return false;
    }
    return true;
}

void Explorer::selectSample(int row) {
    if (row < -1 || row >= numSamples()) row = -1;
    if (row == m_selected) return;
    m_selected = row;
    clearLiveResult();
    emit selectionChanged(row);
}

void Explorer::setWeightsPath(const QString& path) {
    if (path == m_weights) return;
    m_weights = path;
    clearLiveResult();
    emit weightsChanged(path);
}

void Explorer::setLiveResult(const SamplePath& path, const QImage& image) {
    m_live = LiveImage{path, image};
    emit liveResultChanged();
}

void Explorer::clearLiveResult() {
    if (!m_live) return;
    m_live.reset();
    emit liveResultChanged();
}

} // namespace exitscope::widgets
