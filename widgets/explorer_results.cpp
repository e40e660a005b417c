// The computing half of Explorer: the outcome of the current settings, the
// trade-off curves and the per-sample scores, all by calling core.
#include "widgets/explorer.h"

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

const core::ConfidenceScores& Explorer::scoresFor(core::ConfidenceCriterion criterion, bool calibrated) const {
    const bool scaled = calibrated && !m_temperatures.empty();
    const auto key = std::make_pair(static_cast<int>(criterion), scaled);
    auto it = m_scores.find(key);
    if (it == m_scores.end()) {
        it = m_scores.emplace(key, core::computeScores(*m_test, criterion, scaled ? m_temperatures
                                                                                   : std::vector<float>{}))
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
        m_outcome = {};
        m_metrics = {};
        return;
    }
    const ExplorerSettings& s = m_settings;
    QString gatesNote;
    try {
        switch (s.policy) {
        case PolicyChoice::Confidence:
            m_outcome = core::evaluate(scoresFor(s.criterion, s.calibrated),
                                       s.perExit ? s.exitThresholds : std::vector<float>{s.threshold});
            break;
        case PolicyChoice::Budgeted:
            m_fit = fitFor(s.budgetMacs);
            // Budgeted batch leaves at the first exit whose max softmax reaches
            // theta_k: the confidence rule on the cached scores, no pass over probs.
            m_outcome = core::evaluateBudgetedBatch(scoresFor(core::ConfidenceCriterion::MaxSoftmax, false), *m_fit);
            break;
        case PolicyChoice::Anytime: {
            core::PolicyConfig p;
            p.kind = core::PolicyKind::Anytime;
            p.anytimeBudget = s.anytimeBudget;
            p.anytimeUnit = s.anytimeUnit;
            m_outcome = core::staticExit(*m_test, core::anytimeExitFor(p, m_test->exitMacs, m_test->exitMs));
            break;
        }
        case PolicyChoice::Gates:
            if (s.configGates && m_configGates) {
                m_outcome = core::applyGates(*m_test, *m_configGates);
            } else if (gateGridReady()) {
                m_outcome = m_gateOutcomes[static_cast<std::size_t>(s.alphaIndex)];
            } else {
                // Until the gates exist every image runs the whole network, and the controls say why.
                m_outcome = core::staticExit(*m_test, m_test->numExits - 1);
            }
            break;
        case PolicyChoice::Static: m_outcome = core::staticExit(*m_test, s.staticExit); break;
        case PolicyChoice::Oracle: m_outcome = core::oracleExit(*m_test); break;
        }
        m_metrics = core::evaluateOutcome(*m_test, m_outcome);
    } catch (const core::Error& e) {
        // The previous outcome stays on screen with the reason next to it.
        m_outcomeNote = QString::fromStdString(e.what());
    }
}

void Explorer::recomputeCurves() {
    m_curves = {};
    if (!m_test || m_test->numSamples == 0) return;
    try {
        for (int64_t k = 0; k < m_test->numExits; ++k) {
            m_curves.staticExits.push_back(pointOf(core::staticExit(*m_test, k), static_cast<double>(k)));
        }
        m_curves.oracle = pointOf(core::oracleExit(*m_test), 0.0);

        const core::ConfidenceScores& scores = scoresFor(m_settings.criterion, m_settings.calibrated);
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
                pointOf(core::evaluateBudgetedBatch(scoresFor(core::ConfidenceCriterion::MaxSoftmax, false), fitFor(budget)),
                        budget));
        }
        for (std::size_t i = 0; i < m_gateOutcomes.size(); ++i) {
            m_curves.gates.push_back(pointOf(m_gateOutcomes[i], m_alphas[i]));
        }
    } catch (const core::Error& e) {
        // A property of the traces (missing costs, say), so it stays with them.
        m_note = (m_note + QStringLiteral(" Some trade-off curves are missing: %1").arg(QString::fromStdString(e.what()))).trimmed();
    }
}

float Explorer::score(int n, int k) const {
    if (!m_test || n < 0 || n >= numSamples() || k < 0 || k >= numExits()) return 0.0f;
    if (m_settings.policy == PolicyChoice::Confidence) {
        return scoresFor(m_settings.criterion, m_settings.calibrated).score(n, k);
    }
    return scoresFor(core::ConfidenceCriterion::MaxSoftmax, false).score(n, k);
}

float Explorer::scoreAtExit(int n) const {
    if (n < 0 || n >= static_cast<int>(m_outcome.exitTaken.size())) return 0.0f;
    return score(n, static_cast<int>(m_outcome.exitTaken[static_cast<std::size_t>(n)]));
}

const core::GateSet* Explorer::currentGates() const {
    if (!m_test || m_settings.policy != PolicyChoice::Gates) return nullptr;
    if (m_settings.configGates && m_configGates) return &*m_configGates;
    if (gateGridReady()) return &m_gateGrid[static_cast<std::size_t>(m_settings.alphaIndex)];
    return nullptr;
}

float Explorer::gateProbability(int n, int k) const {
    const core::GateSet* gates = currentGates();
    if (!gates || n < 0 || n >= numSamples() || k < 0 || k + 1 >= numExits()) return NAN;
    const std::size_t row = static_cast<std::size_t>(n) * static_cast<std::size_t>(m_test->numExits) +
                            static_cast<std::size_t>(k);
    return core::gateProbability(*gates, k, m_test->gateInputs.data() + row * static_cast<std::size_t>(m_test->gateDim));
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
    if (!m_test) return {};
    if (m_settings.policy == PolicyChoice::Confidence) {
        return core::thresholdsPerExit(m_settings.perExit ? m_settings.exitThresholds
                                                          : std::vector<float>{m_settings.threshold},
                                       m_test->numExits);
    }
    if (m_settings.policy == PolicyChoice::Budgeted && m_fit) return m_fit->thresholds;
    if (currentGates()) return std::vector<float>(static_cast<std::size_t>(m_test->numExits - 1), 0.5f);
    return {};
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
