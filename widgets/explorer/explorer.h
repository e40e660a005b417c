#pragma once

#include "core/config/tuned_config.h"
#include "core/eval/metrics.h"
#include "core/policy/budgeted.h"
#include "core/policy/budgeted_fitter.h"
#include "core/policy/decision.h"
#include "core/policy/policy.h"
#include "core/trace/trace.h"
#include "widgets/common/sample_path.h"
#include "widgets/explorer/explorer_settings.h"

#include <QImage>

#include <QObject>
#include <QString>
#include <QStringList>

#include <map>
#include <memory>
#include <optional>
#include <vector>

class QUndoStack;

namespace exitscope::widgets {

class GateGridWorker;

/// One point of a trade-off curve: the parameter that made it and the
/// accuracy and mean cost per sample in every cost unit.
struct TradeoffPoint {
    double parameter = 0.0;
    double accuracy = 0.0;       ///< fraction in [0, 1]
    double macs = 0.0;           ///< mean cumulative MACs per sample
    double paramFraction = 0.0;  ///< mean share of the parameters used
    double ms = 0.0;             ///< mean measured ms per sample
};

/// Every policy's accuracy-cost curve on the test trace, for the trade-off plot.
struct TradeoffCurves {
    std::vector<TradeoffPoint> confidence;   ///< global threshold sweep of the current criterion
    std::vector<TradeoffPoint> budgeted;     ///< budgets fitted on val
    std::vector<TradeoffPoint> gates;        ///< one point per alpha of the grid (empty until trained)
    std::vector<TradeoffPoint> staticExits;  ///< [K], also anytime's operating points
    std::optional<TradeoffPoint> oracle;
};

/// The explorer's controller, shared by every view: the loaded validation
/// and test traces, the current control settings (policy and its
/// parameters), the outcome of that policy on the test trace and the
/// selected sample. Views read it and listen to its signals; controls change
/// it through the setters, each of which is one undoable step on undoStack()
/// and is followed by exactly one policyChanged() and one outcomeChanged().
/// Everything is computed by core; slow work (the LEENet alpha grid) runs on
/// a worker thread, and a newer request replaces an older one.
class Explorer : public QObject {
    Q_OBJECT

public:
    explicit Explorer(QObject* parent = nullptr);
    ~Explorer() override;

    // --- data -------------------------------------------------------------
    /// Reads a trace and installs it as the validation trace (metadata split
    /// "val") or the test trace (anything else). On failure returns false,
    /// errorString() names the file and the problem, and nothing changes.
    bool loadTrace(const QString& path);
    /// Installs a trace read elsewhere the way loadTrace() does (by its split).
    void addTrace(std::shared_ptr<const core::Trace> trace, const QString& source);
    /// Installs traces read elsewhere; a null test trace clears everything.
    /// A validation trace of another model (exits, classes, weights) than the
    /// test trace is dropped with a note.
    void setTraces(std::shared_ptr<const core::Trace> val, std::shared_ptr<const core::Trace> test,
                   const QString& valSource = {}, const QString& testSource = {});
    bool hasData() const { return m_test != nullptr; }
    /// The trace the outcome is computed on (null when none).
    const core::Trace* testTrace() const { return m_test.get(); }
    /// The trace policies are fitted on: the validation trace, or the test
    /// trace when no validation trace is loaded (fittedOnTest() says so).
    const core::Trace* fitTrace() const { return m_val ? m_val.get() : m_test.get(); }
    const core::Trace* valTrace() const { return m_val.get(); }
    bool fittedOnTest() const { return m_test && !m_val; }
    QString testSource() const { return m_testSource; }
    QString valSource() const { return m_valSource; }
    int numSamples() const;
    int numExits() const;
    QStringList classNames() const;
    QString errorString() const { return m_error; }
    /// A short remark on the current state for the user ("no validation
    /// trace: fitted on test", "budget clamped to ..."), or empty.
    QString note() const;

    // --- controls ---------------------------------------------------------
    const ExplorerSettings& settings() const { return m_settings; }
    /// The defaults for the loaded traces (budgets in the middle of their range).
    ExplorerSettings defaultSettings() const;
    /// `s` with every value clamped into its valid range for the loaded traces.
    ExplorerSettings sanitized(ExplorerSettings s) const;
    /// Makes `s` current as one undoable step called `what`; consecutive
    /// changes with the same non-negative `mergeKey` within a second merge into
    /// one step (a slider drag). Does nothing when `s` equals the current settings.
    void changeSettings(const ExplorerSettings& s, const QString& what, int mergeKey = -1);
    void setPolicy(PolicyChoice policy);
    void setCriterion(core::ConfidenceCriterion criterion);
    void setCalibrated(bool on);
    void setPerExit(bool on);
    void setThreshold(float threshold);
    void setExitThreshold(int exit, float threshold);
    void setBudgetMacs(double budget);
    void setAnytimeBudget(double budget);
    void setAnytimeUnit(core::BudgetUnit unit);
    void setAlphaIndex(int index);
    void setStaticExit(int exit);
    void resetToDefaults();
    QUndoStack* undoStack() const { return m_undo; }

    /// The budgeted batch range [C_0, C_{K-1}] in MACs per sample (0, 0 without data).
    std::pair<double, double> budgetRange() const;
    /// The anytime range [cost of exit 0, cost of the last exit] in `unit`.
    std::pair<double, double> anytimeRange(core::BudgetUnit unit) const;

    // --- LEENet gates ----------------------------------------------------
    /// The alphas of the grid (0, 0.05, ..., 1).
    const std::vector<double>& alphas() const { return m_alphas; }
    bool gateGridReady() const { return !m_gateGrid.empty(); }
    /// Whether the trace has the gate inputs the gates need.
    bool gatesAvailable() const;
    /// Fraction of the grid trained so far while training runs.
    double gateGridProgress() const { return m_gateProgress; }
    /// Installs a grid trained elsewhere (tests, a cache); the next training replaces it.
    void setGateGrid(std::vector<core::GateSet> grid);

    // --- tuned configs -------------------------------------------------------
    /// The current policy as a deployable config; nullopt for the oracle and
    /// for gates not trained yet (whyNotDeployable() says so).
    std::optional<core::PolicyConfig> policyConfig() const;
    QString whyNotDeployable() const;
    /// Applies a tuned config's policy as one undoable step. False with
    /// errorString() set when it was tuned for another model than the test
    /// trace, or there is no trace; the settings are then untouched.
    bool applyTunedConfig(const core::TunedConfig& config);
    bool loadTunedConfig(const QString& path);

    // --- results -----------------------------------------------------------
    const core::ExitOutcome& outcome() const;
    const core::OutcomeMetrics& metrics() const { return m_metrics; }
    /// The one decision behind every view (core::Decider): the current
    /// policy on the test trace, the oracle included; null without data.
    /// Views take exits, scores, boundaries and their names from it only.
    const core::Decider* decider() const { return m_decider ? &*m_decider : nullptr; }
    /// Sample n's way through the exits under the current policy (sample -1 without data).
    core::SampleDecision decision(int n) const;
    /// decider()->score(n, k): the value the current policy compares at exit
    /// k (the criterion on calibrated probabilities, the gate probability,
    /// max softmax for budgeted); max softmax where nothing is compared.
    float score(int n, int k) const;
    /// score() at the exit the sample took.
    float scoreAtExit(int n) const;
    /// decider()->boundaries(): what score() is compared with at each
    /// non-final exit; empty for fixed exits and the oracle.
    std::vector<float> displayedThresholds() const;
    /// The LEENet gate set behind the current outcome (null unless the gates
    /// policy has gates to use).
    const core::GateSet* currentGates() const;
    /// Expected anytime accuracy on the test trace when the per-image budget,
    /// in the anytime unit, is drawn from `distribution` (EINet's
    /// unpredictable forced exit); NaN without data.
    double expectedAnytimeAccuracy(const core::BudgetDistribution& distribution) const;
    /// The budgeted batch fit behind the current outcome (nullopt for other policies).
    const std::optional<core::BudgetedBatchFit>& budgetedFit() const { return m_fit; }
    const TradeoffCurves& curves() const { return m_curves; }
    /// A one-line description of the current policy and its parameters.
    QString describePolicy() const;

    // --- weights and the live network --------------------------------------
    /// The model weights the live runner uses (absolute path; empty: none).
    QString weightsPath() const { return m_weights; }
    void setWeightsPath(const QString& path);
    /// The last image run through the real network, with the picture that
    /// ran; it belongs to the policy it ran with and the image that was
    /// selected, so a policy or selection change clears it.
    struct LiveImage {
        SamplePath path;
        QImage image;
    };
    const std::optional<LiveImage>& liveResult() const { return m_live; }
    void setLiveResult(const SamplePath& path, const QImage& image);
    void clearLiveResult();

    // --- selection -----------------------------------------------------------
    /// The selected row of the test trace, or -1.
    int selectedSample() const { return m_selected; }
    void selectSample(int row);

signals:
    /// New traces: views rebuild their structure (exits, classes); an
    /// outcomeChanged() follows.
    void tracesChanged();
    /// The control settings changed (also by undo, redo or a tuned config).
    void policyChanged();
    /// The outcome on the test trace was recomputed; once per control change.
    void outcomeChanged();
    /// Another sample was selected (-1: none).
    void selectionChanged(int row);
    /// The trade-off curves changed (criterion, calibration, gates trained).
    void curvesChanged();
    /// The alpha grid started, progressed or finished training.
    void gateGridChanged();
    /// Other weights were opened.
    void weightsChanged(const QString& path);
    /// A live result arrived or was cleared.
    void liveResultChanged();

private:
    friend class SettingsCommand;
    void applyNow(const ExplorerSettings& s);
    void recompute();
    void recomputeCurves();
    void startGateGrid();
    void onGateGrid(quint64 generation, std::vector<core::GateSet> grid);
    const std::shared_ptr<const core::ConfidenceScores>& scoresFor(core::ConfidenceCriterion criterion,
                                                                   bool calibrated) const;
    const core::BudgetedBatchFit& fitFor(double budget) const;
    TradeoffPoint pointOf(const core::ExitOutcome& outcome, double parameter) const;

    std::shared_ptr<const core::Trace> m_val, m_test;
    QString m_valSource, m_testSource, m_error;
    QString m_note;        // about the loaded traces
    QString m_gateNote;    // about the LEENet gates
    QString m_outcomeNote; // about the last evaluation, cleared by the next
    std::vector<float> m_temperatures;  // fitted on fitTrace()
    mutable std::map<std::pair<int, bool>, std::shared_ptr<const core::ConfidenceScores>> m_scores;
    mutable std::map<double, core::BudgetedBatchFit> m_fits;
    mutable std::shared_ptr<const core::BudgetedBatchFitter> m_fitter;  // fitTrace()'s confidences, sorted once
    std::vector<double> m_alphas;
    std::vector<core::GateSet> m_gateGrid;
    std::vector<core::Decider> m_gateDeciders;  // one per alpha of m_gateGrid
    std::optional<core::GateSet> m_configGates;
    double m_gateProgress = 0.0;
    GateGridWorker* m_worker;
    ExplorerSettings m_settings;
    std::optional<core::Decider> m_decider;
    core::OutcomeMetrics m_metrics;
    std::optional<core::BudgetedBatchFit> m_fit;
    TradeoffCurves m_curves;
    int m_selected = -1;
    QString m_weights;
    std::optional<LiveImage> m_live;
    QUndoStack* m_undo;
};

} // namespace exitscope::widgets
