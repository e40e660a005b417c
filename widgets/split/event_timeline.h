#pragma once

#include "simulator/platform/link.h"
#include "simulator/schedule/latency_model.h"
#include "simulator/simulate/event_sim.h"
#include "widgets/split/split_panel.h"

#include <QString>
#include <QWidget>

#include <cstdint>
#include <memory>
#include <vector>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace exitscope::core {
struct Trace;
}

namespace exitscope::widgets {

class JobProgressWidget;
class JobRunner;

/// The event simulation (simulator/simulate/event_sim.h) of a request
/// stream through device, link and server under a changing bandwidth, with
/// the scheduler re-planning online, drawn against time: each request's
/// latency (coloured by the split it used), the bandwidth schedule and the
/// moments the design switched. Runs off the GUI thread through a
/// JobRunner; a new request (a changed condition, Run) replaces an older
/// one still running, and the plot changes only when a run has finished.
class EventTimeline : public QWidget {
    Q_OBJECT

public:
    /// How the bandwidth changes over the run.
    enum class ScheduleKind { Constant, RandomWalk, Csv };

    /// Everything about a run except the conditions (see setConditions).
    struct Settings {
        simulator::ArrivalKind arrivals = simulator::ArrivalKind::Poisson;
        double periodMs = 50.0;
        double ratePerS = 20.0;
        int64_t numRequests = 1000;
        uint64_t seed = 1;
        double replanIntervalMs = 1000.0;
        ScheduleKind schedule = ScheduleKind::RandomWalk;
        /// Random walk around the link's bandwidth: [bw / spread, bw * spread], one step a second.
        double walkSpread = 10.0;
        double walkVolatility = 0.3;
        QString csvPath;  ///< "time_s,mbps" lines when schedule is Csv
    };

    /// What one finished run gave.
    struct Outcome {
        simulator::SimResult result;
        std::vector<simulator::BandwidthSchedule::Step> bandwidth;  ///< the schedule used
        std::vector<QString> profileLabels;                         ///< the scheduler's exit profiles
        std::vector<QString> splitLabels;                           ///< the scheduler's split points
        double durationS = 0.0;                                     ///< time axis of the plot
    };

    explicit EventTimeline(QWidget* parent = nullptr);
    ~EventTimeline() override;

    /// The model to simulate and its split points (a measured split profile
    /// when `splitsPath` fits the trace, else the estimate). False with
    /// errorString() when the trace cannot be simulated.
    bool setTrace(const core::Trace& trace, const QString& splitsPath = QString());
    /// Device, server, link and goal (SplitPanel::conditions()); re-runs when auto-run is on.
    void setConditions(const SplitConditions& conditions);
    void setSettings(const Settings& settings);
    Settings settings() const;
    void setAutoRun(bool on);

    /// Starts a run with the current trace, conditions and settings; an
    /// older run still going is replaced. Does nothing without a trace.
    void run();
    bool isRunning() const;
    /// The last finished run (nullptr before the first).
    const Outcome* outcome() const { return m_outcome.get(); }
    /// Whether the shown run is older than the current conditions or
    /// settings (auto-run off); the summary then says so.
    bool isStale() const { return m_stale; }
    QString errorString() const { return m_error; }
    JobRunner* runner() const { return m_runner; }
    /// Saves the latency-over-time plot as PNG or PDF (by suffix; savePlotFile).
    bool savePlot(const QString& path, QString* error) const;

signals:
    /// A run finished and is now shown.
    void simulationFinished();
    /// A run failed (the goal was infeasible at t = 0, a bad CSV file, ...).
    void simulationFailed(const QString& error);

private:
    void buildUi();
    void readControls();
    void showInterval();
    void showOutcome();
    void inputsChanged();

    std::shared_ptr<const core::Trace> m_trace;
    std::vector<simulator::SplitPoint> m_splits;
    SplitConditions m_conditions;
    Settings m_settings;
    bool m_autoRun = false;
    bool m_stale = false;
    std::shared_ptr<const Outcome> m_outcome;
    QString m_error;

    JobRunner* m_runner;
    JobProgressWidget* m_progress;
    QComboBox *m_arrivals, *m_scheduleKind;
    QDoubleSpinBox* m_interval;
    QSpinBox *m_requests, *m_seed;
    QDoubleSpinBox* m_replan;
    QCheckBox* m_auto;
    QPushButton* m_run;
    QCustomPlot* m_plot;
    QLabel* m_summary;
};

} // namespace exitscope::widgets
