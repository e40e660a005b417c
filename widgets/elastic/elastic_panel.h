#pragma once

#include "core/elastic/elastic_config.h"
#include "core/elastic/evaluation.h"

#include <QString>
#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <memory>
#include <vector>

class QCheckBox;
class QComboBox;
class QCPItemStraightLine;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace exitscope::core {
struct Trace;
}

namespace exitscope::widgets {

class JobProgressWidget;
class JobRunner;

/// EINet's elastic inference (core/elastic), explored: an inference may be
/// stopped at an unpredictable forced-exit time T and must then answer with
/// its latest finished exit branch, so each image runs some branches and
/// skips others to get deeper sooner. The panel holds the deadline
/// distribution (fixed, uniform, normal, exponential or a CSV of times, in
/// fractions of the time with every branch run), the search (hybrid with m,
/// greedy, random) and the CS-Predictor switch; it draws T's density over
/// the model's time axis with every branch's finish marked, the selected
/// test image's online plan against time (backbone segments, branches run
/// and skipped, the answer's confidence at each forced-exit time) and
/// EINet's comparison table against its baselines. The predictor is trained
/// and the table evaluated on worker threads (progress, Cancel; a newer
/// request replaces an older one); the selected image's plan is re-planned
/// on the GUI thread (microseconds).
class ElasticPanel : public QWidget {
    Q_OBJECT

public:
    /// The deadline kinds of the controls (Csv: an empirical distribution of measured times).
    enum class DeadlineKind { Fixed, Uniform, Normal, Exponential, Csv };

    /// One exit branch of the selected image's online run, as drawn.
    struct PlanBranch {
        int64_t exit = 0;
        bool run = false;         ///< false: skipped (drawn hollow and grey)
        double startMs = 0.0;     ///< run: when the branch starts; skipped: when the backbone passes its exit point
        double finishMs = 0.0;    ///< run: when its answer is ready; skipped: == startMs
        double confidence = 0.0;  ///< the trace's confidence (max softmax) at this exit
        int64_t prediction = 0;   ///< the class it predicts (argmax)
        bool correct = false;     ///< its prediction equals the label
    };

    explicit ElasticPanel(QWidget* parent = nullptr);
    ~ElasticPanel() override;

    /// Plans for `test`'s model with the predictor trained on `val` (started
    /// in the background when the predictor is on) and re-evaluates the
    /// table. Returns false (keeping the previous state; see errorString())
    /// when the traces disagree or lack the timing the profile needs.
    bool setTraces(const core::Trace& val, const core::Trace& test);
    /// The same without copying traces the caller already shares (both non-null).
    bool setTraces(std::shared_ptr<const core::Trace> val, std::shared_ptr<const core::Trace> test);
    bool hasTraces() const { return m_test != nullptr; }
    /// Exits of the traces' model (0 without traces).
    int64_t numExits() const { return m_test ? m_test->numExits : 0; }
    QString errorString() const { return m_error; }
    /// The test image whose plan is drawn; out of range (e.g. -1): none.
    void setSelectedSample(int testRow);
    int selectedSample() const { return m_selected; }

    /// Sets the forced-exit distribution from times given as fractions of
    /// the full network's time: Fixed {a}, Uniform {a, b}, Normal {mean a,
    /// stddev b}, Exponential {mean a}. Returns false, keeping the previous
    /// settings and showing why (deadlineError()), for values core refuses.
    bool setDeadline(DeadlineKind kind, double a, double b = 0.0);
    /// Measured times from a CSV file (core::ForcedExitDistribution::loadCsv),
    /// as fractions of the full time or in milliseconds. False (previous
    /// settings kept, deadlineError() says why) when the file cannot be read.
    bool setDeadlineCsv(const QString& path, bool inMs = false);
    /// A spec as the CLI's --deadline takes it ("uniform:0.2,1.0", "csv:FILE"), in `unit` "fraction" or "ms".
    bool setDeadlineSpec(const QString& spec, const QString& unit = QStringLiteral("fraction"));
    QString deadlineSpec() const { return m_spec; }
    QString deadlineUnit() const { return m_unit; }
    /// Why the last deadline change was refused; empty after an accepted one.
    QString deadlineError() const { return m_deadlineError; }
    /// The distribution of T in milliseconds (needs traces for fractions).
    const core::ForcedExitDistribution& distributionMs() const { return m_distMs; }

    /// Hybrid with `enumerate` = m (0..24), greedy or random search.
    void setSearch(core::SearchMethod method, int enumerate = 4);
    core::SearchMethod searchMethod() const { return m_method; }
    /// On: plan with the CS-Predictor trained on the validation trace; off:
    /// with each exit's mean validation confidence.
    void setPredictorEnabled(bool on);
    bool predictorEnabled() const { return m_predictorOn; }
    bool isTrainingPredictor() const;
    bool hasTrainedPredictor() const { return m_trained != nullptr; }

    /// Takes a tuned config's "elastic" section: search, deadline (spec and
    /// unit) and predictor (a trained MLP is used as it is until setTraces
    /// trains a new one; the mean profile switches the predictor off).
    /// False, changing nothing, when the deadline spec is refused (e.g. its
    /// CSV file is gone) or the predictor's exits differ from the model's.
    bool applySettings(const core::ElasticSettings& settings);
    /// The planner's settings for a tuned config's "elastic" section (the
    /// predictor in use; the expected test accuracy once the table for the
    /// current settings has arrived).
    core::ElasticSettings settings() const;

    const core::ExecutionProfile& profile() const { return m_profile; }
    /// The x positions (ms) of the branch-finish marks drawn on the density plot.
    std::vector<double> finishMarksMs() const;
    /// The selected image's online run (empty without traces or selection).
    const core::ElasticRun& selectedRun() const { return m_run; }
    /// Every branch of the selected image's run as drawn, in exit order.
    const std::vector<PlanBranch>& planBranches() const { return m_branches; }
    /// The exit that answers for the selected image at forced-exit time T (ms); -1: a uniform guess or nothing selected.
    int64_t answerAt(double forcedExitMs) const;
    /// The one-line description of the selected image's plan under the plot.
    QString planSummary() const;

    /// The comparison table for the current settings; nullptr until it arrives.
    const core::ElasticEvaluation* evaluation() const { return m_evaluation.get(); }
    /// Seconds the last evaluation took on its worker thread.
    double lastEvaluationSeconds() const { return m_evalSeconds; }
    QTableWidget* table() const { return m_table; }
    JobRunner* evaluationRunner() const { return m_evalRunner; }
    JobRunner* trainingRunner() const { return m_trainRunner; }
    /// Saves the deadline-density plot or the plan plot as PNG or PDF (by suffix; savePlotFile).
    bool saveDensityPlot(const QString& path, QString* error) const;
    bool savePlanPlot(const QString& path, QString* error) const;

signals:
    /// A setting the tuned config carries changed (deadline, search, predictor).
    void settingsChanged();
    /// The comparison table for the current settings arrived.
    void evaluationFinished();
    /// The evaluation threw; `error` names the problem.
    void evaluationFailed(const QString& error);
    /// The CS-Predictor finished training (or failed: `error` non-empty).
    void predictorTrained(const QString& error);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void buildUi();
    bool applyDistribution(const core::ForcedExitDistribution& given, const QString& spec, const QString& unit);
    void onControlsEdited();
    void syncControls(bool fromSettings = true);
    void updateStatus();
    void startTraining();
    void requestEvaluation();
    void replanSelected();
    const core::ConfidencePredictor& planningPredictor() const;
    // elastic_panel_plots.cpp
    double timeAxisEnd() const;
    void drawDensity();
    void drawPlan();
    void fillTable();

    std::shared_ptr<const core::Trace> m_val, m_test;
    quint64 m_generation = 0;  // bumped by setTraces: results of older traces are dropped
    quint64 m_serial = 0;      // bumped by every change the table depends on
    quint64 m_evaluationSerial = 0;
    QString m_trainError;
    core::ExecutionProfile m_profile;
    std::vector<float> m_testConfidence;  // [N, K]
    QStringList m_classNames;             // from the trace's metadata; may be empty
    core::ConfidencePredictor m_meanPredictor;
    std::shared_ptr<const core::ConfidencePredictor> m_trained;
    bool m_evalPending = false;

    QString m_spec = QStringLiteral("uniform:0.2,1");
    QString m_unit = QStringLiteral("fraction");
    core::ForcedExitDistribution m_given = core::ForcedExitDistribution::uniform(0.2, 1.0);
    core::ForcedExitDistribution m_distMs = core::ForcedExitDistribution::uniform(0.2, 1.0);
    QString m_deadlineError, m_error;
    core::SearchMethod m_method = core::SearchMethod::Hybrid;
    core::SearchOptions m_search;
    bool m_predictorOn = true;

    int m_selected = -1;
    core::ElasticRun m_run;
    std::vector<PlanBranch> m_branches;
    std::shared_ptr<const core::ElasticEvaluation> m_evaluation;
    double m_evalSeconds = 0.0;
    bool m_syncing = false;

    QComboBox *m_kind, *m_methodCombo, *m_csvUnit;
    QDoubleSpinBox *m_a, *m_b;
    QLabel *m_aLabel, *m_bLabel, *m_deadlineMsg, *m_status, *m_planTitle, *m_planSummary, *m_tableCaption;
    QLineEdit* m_csvPath;
    QPushButton* m_csvBrowse;
    QSpinBox* m_m;
    QCheckBox* m_predictor;
    QCustomPlot *m_densityPlot, *m_planPlot;
    std::vector<QCPItemStraightLine*> m_finishMarks;
    QTableWidget* m_table;
    JobRunner *m_trainRunner, *m_evalRunner;
    JobProgressWidget *m_trainProgress, *m_evalProgress;
};

} // namespace exitscope::widgets
