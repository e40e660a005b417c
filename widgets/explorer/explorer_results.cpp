// The computing half of Explorer: the outcome of the current settings, the
// trade-off curves and the per-sample scores, all by calling core.
#include "widgets/explorer/explorer.h"

#include "core/common/error.h"
#include "core/policy/baselines.h"
#include "core/policy/budgeted_fitter.h"
#include "core/policy/gates.h"

#include <algorithm>
#include <cmath>

namespace exitscope::widgets {

namespace {

constexpr int kConfidenceGridPoints = 101;
constexpr int kBudgetCurvePoints = 15;

QString formatMacs(double macs) {
    return QStringLiteral("%1 M MACs").arg(macs / 1e6, 0, 'f', 3);
}

} // namespace

const std::shared_ptr<const core::ConfidenceScores>& Explorer::scoresFor(core::ConfidenceCriterion criterion,
                                                                         bool calibrated) const {
    const bool scaled = calibrated && !m_temperatures.empty();
    const auto key = std::make_pair(static_cast<int>(criterion), scaled);
    auto it = m_scores.find(key);
    if (it == m_scores.end()) {
        it = m_scores
                 .emplace(key, std::make_shared<const core::ConfidenceScores>(core::computeScores(
                                   *m_test, criterion, scaled ? m_temperatures : std::vector<float>{})))
                 .first;
    }
    return it->second;
}

const core::BudgetedBatchFit& Explorer::fitFor(double budget) const {
    auto it = m_fits.find(budget);
    if (it == m_fits.end()) {
        // A slider drag visits many budgets; keep the cache from growing without bound.
        if (m_fits.size() > 256) m_fits.clear();
        const core::Trace& fit = *fitTrace();
        if (!m_fitter) {
            // Probabilities are read and each exit's confidences sorted once
            // per trace; every budget after that is a walk down the orders.
            const core::ConfidenceScores scores = core::computeScores(fit, core::ConfidenceCriterion::MaxSoftmax);
            m_fitter = std::make_shared<const core::BudgetedBatchFitter>(scores.scores, fit.numSamples, fit.exitMacs);
        }
        it = m_fits.emplace(budget, m_fitter->fit(budget)).first;
    }
    return it->second;
}

TradeoffPoint Explorer::pointOf(const core::ExitOutcome& outcome, double parameter) const {
    const core::OutcomeMetrics m = core::evaluateOutcome(*m_test, outcome);
    return {parameter, m.accuracy, m.macs.mean, m.paramFraction.mean, m.ms.mean};
}

void Explorer::recompute() {
    m_fit.reset();
    m_outcomeNote.clear();
    if (!m_test) {
        m_decider.reset();
        m_metrics = {};
        return;
    }
    const ExplorerSettings& s = m_settings;
    try {
        if (s.policy == PolicyChoice::Oracle) {
            m_decider = core::Decider::oracle(m_test);
        } else if (s.policy == PolicyChoice::Gates && !s.configGates && gateGridReady()) {
            m_decider = m_gateDeciders[static_cast<std::size_t>(s.alphaIndex)];
        } else if (const auto policy = policyConfig()) {
            if (policy->kind == core::PolicyKind::Budgeted) m_fit = policy->budgeted;
            const bool confidence = policy->kind == core::PolicyKind::Confidence;
            m_decider.emplace(m_test, *policy,
                              scoresFor(confidence ? s.criterion : core::ConfidenceCriterion::MaxSoftmax,
                                        confidence && s.calibrated));
        } else {
            // Gates not trained yet: every image runs the whole network, and the controls say why.
            core::PolicyConfig last;
            last.kind = core::PolicyKind::Static;
            last.staticExit = m_test->numExits - 1;
            m_decider.emplace(m_test, last, scoresFor(core::ConfidenceCriterion::MaxSoftmax, false));
        }
        m_metrics = core::evaluateOutcome(*m_test, m_decider->outcome());
    } catch (const core::Error& e) {
        // The previous outcome stays on screen with the reason next to it.
        m_outcomeNote = QString::fromStdString(e.what());
    }
}

const core::ExitOutcome& Explorer::outcome() const {
    static const core::ExitOutcome none;
    return m_decider ? m_decider->outcome() : none;
}

core::SampleDecision Explorer::decision(int n) const {
    if (!m_decider || n < 0 || n >= numSamples()) return {};
    return m_decider->decide(n);
}

void Explorer::recomputeCurves() {
    m_curves = {};
    if (!m_test || m_test->numSamples == 0) return;
    try {
        for (int64_t k = 0; k < m_test->numExits; ++k) {
            m_curves.staticExits.push_back(pointOf(core::staticExit(*m_test, k), static_cast<double>(k)));
        }
        m_curves.oracle = pointOf(core::oracleExit(*m_test), 0.0);

        const core::ConfidenceScores& scores = *scoresFor(m_settings.criterion, m_settings.calibrated);
        const core::ThresholdSweep sweep =
            core::sweepGlobalThresholds(scores, core::uniformThresholdGrid(kConfidenceGridPoints));
        const auto K = static_cast<std::size_t>(m_test->numExits);
        const double fullParams = static_cast<double>(m_test->exitParams.back());
        for (std::size_t g = 0; g < sweep.thresholds.size(); ++g) {
            // The parameter share follows from the exit histogram: each image pays its exit's share.
            double shares = 0.0;
            for (std::size_t k = 0; k < K; ++k) {
                shares += static_cast<double>(sweep.exitHistograms[g * K + k]) *
                          static_cast<double>(m_test->exitParams[k]) / fullParams;
            }
            m_curves.confidence.push_back({sweep.thresholds[g], sweep.accuracy[g], sweep.meanMacs[g],
                                           shares / static_cast<double>(m_test->numSamples), sweep.meanMs[g]});
        }

        const auto [lo, hi] = budgetRange();
        for (int i = 0; i < kBudgetCurvePoints; ++i) {
            const double budget = lo + (hi - lo) * i / (kBudgetCurvePoints - 1);
            m_curves.budgeted.push_back(
                pointOf(core::evaluateBudgetedBatch(*scoresFor(core::ConfidenceCriterion::MaxSoftmax, false), fitFor(budget)),
                        budget));
        }
        for (std::size_t i = 0; i < m_gateDeciders.size(); ++i) {
            m_curves.gates.push_back(pointOf(m_gateDeciders[i].outcome(), m_alphas[i]));
        }
    } catch (const core::Error& e) {
        // A property of the traces (missing costs, say), so it stays with them.
        m_note = (m_note + QStringLiteral(" Some trade-off curves are missing: %1").arg(QString::fromStdString(e.what()))).trimmed();
    }
}

float Explorer::score(int n, int k) const {
    if (!m_decider || n < 0 || n >= numSamples() || k < 0 || k >= numExits()) return 0.0f;
    return m_decider->score(n, k);
}

float Explorer::scoreAtExit(int n) const {
    const core::ExitOutcome& o = outcome();
    if (n < 0 || n >= static_cast<int>(o.exitTaken.size())) return 0.0f;
    return score(n, static_cast<int>(o.exitTaken[static_cast<std::size_t>(n)]));
}

const core::GateSet* Explorer::currentGates() const {
    if (!m_decider || m_decider->rule() != core::DecisionRule::GateAbove) return nullptr;
    return &m_decider->policy().gates;
}

double Explorer::expectedAnytimeAccuracy(const core::BudgetDistribution& distribution) const {
    if (!m_test || m_test->numSamples == 0) return NAN;
    try {
        return core::expectedAnytimeAccuracy(core::anytimeProfile(*m_test, m_settings.anytimeUnit), distribution);
    } catch (const core::Error&) {
        return NAN;
    }
}

std::vector<float> Explorer::displayedThresholds() const {
    return m_decider ? m_decider->boundaries() : std::vector<float>{};
}

QString Explorer::describePolicy() const {
    const ExplorerSettings& s = m_settings;
    QString text = policyChoiceTitle(s.policy);
    switch (s.policy) {
    case PolicyChoice::Confidence: {
        text += QStringLiteral(", %1").arg(QString::fromStdString(core::criterionName(s.criterion)));
        if (s.perExit) {
            QStringList values;
            for (float t : s.exitThresholds) values << QString::number(t, 'f', 3);
            text += QStringLiteral(", thresholds %1").arg(values.join(QStringLiteral(" / ")));
        } else {
            text += QStringLiteral(", threshold %1").arg(s.threshold, 0, 'f', 3);
        }
        if (s.calibrated) text += QStringLiteral(", calibrated");
        break;
    }
    case PolicyChoice::Budgeted: text += QStringLiteral(", budget %1 per image").arg(formatMacs(s.budgetMacs)); break;
    case PolicyChoice::Anytime:
        text += s.anytimeUnit == core::BudgetUnit::Macs
                    ? QStringLiteral(", budget %1 per image").arg(formatMacs(s.anytimeBudget))
                    : QStringLiteral(", budget %1 ms per image").arg(s.anytimeBudget, 0, 'f', 4);
        break;
    case PolicyChoice::Gates:
        text += s.configGates ? QStringLiteral(", gates from the tuned config")
                              : QStringLiteral(", alpha %1").arg(m_alphas[static_cast<std::size_t>(s.alphaIndex)], 0,
                                                                 'f', 2);
        break;
    case PolicyChoice::Static: text += QStringLiteral(", exit %1").arg(s.staticExit); break;
    case PolicyChoice::Oracle: break;
    }
    return text;
}

} // namespace exitscope::widgets
