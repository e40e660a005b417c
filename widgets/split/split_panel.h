#pragma once

#include "simulator/platform/link.h"
#include "simulator/platform/platform.h"
#include "simulator/schedule/scheduler.h"

#include <QString>
#include <QWidget>

#include <cstdint>
#include <memory>
#include <vector>

class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSlider;
class QTableWidget;

namespace exitscope::core {
struct Trace;
}

namespace exitscope::widgets {

/// Everything the scheduler plans under: device, server, link and goal.
struct SplitConditions {
    simulator::Platform device;
    simulator::Platform server;
    simulator::Link link;
    simulator::Goal goal;
};

/// Where to cut the network between a device and a server (SPINN's
/// scheduler, simulator/schedule/scheduler.h), explored live: device,
/// server and link from presets or custom values (bandwidth on a log slider
/// from 0.1 to 1000 Mbit/s with a typed entry, RTT, speed, load) and one of
/// the four goals with its bounds. Shows a stacked bar per split point
/// (device compute, encoding, transfer, server compute; the best design at
/// that split, faded when none meets the goal) with the chosen design
/// framed, the accuracy and bytes sent per split, the baselines and, when
/// nothing is feasible, why. Every change re-plans on the GUI thread
/// (well under a millisecond) and emits designChanged when the choice moves.
class SplitPanel : public QWidget {
    Q_OBJECT

public:
    /// One bar of the chart: the best design at one split point.
    struct SplitBar {
        int64_t blocksOnDevice = 0;
        QString label;           ///< splitLabel: "server only", "after block 2", "device only"
        bool feasible = false;   ///< some design at this split meets the goal
        double deviceMs = 0.0;   ///< mean per image: device compute (blocks and heads)
        double encodeMs = 0.0;   ///< mean per image: encoding on the device
        double transferMs = 0.0; ///< mean per image: upload, RTT and reply
        double serverMs = 0.0;   ///< mean per image: decoding and compute on the server
        double accuracy = 0.0;
        double meanBytes = 0.0;  ///< sent per image
        double threshold = -1.0; ///< the design's global threshold; -1: no early exits
        QString profile;         ///< the design's exit profile
        QString note;            ///< why nothing at this split meets the goal
        double totalMs() const { return deviceMs + encodeMs + transferMs + serverMs; }
    };

    /// Bandwidth slider: kSliderSteps steps over four decades, 0.1 to 1000 Mbit/s.
    static constexpr int kSliderSteps = 4000;
    static constexpr double kMinMbps = 0.1;
    static constexpr double kMaxMbps = 1000.0;
    static double mbpsFromSlider(int value);
    static int sliderFromMbps(double mbps);

    explicit SplitPanel(QWidget* parent = nullptr);
    ~SplitPanel() override;

    /// Plans for `trace`'s model. `splitsPath`: a measured split profile
    /// (exitscope-cli profile-splits, e.g. assets/models/<m>-fashion-mnist-splits.safetensors);
    /// when it does not fit the trace the estimate is used and a warning says
    /// why. Returns false (keeping the previous state; see errorString()) when
    /// the trace cannot be planned for at all.
    bool setTrace(const core::Trace& trace, const QString& splitsPath = QString());
    bool hasTrace() const { return m_scheduler != nullptr; }
    QString errorString() const { return m_error; }
    /// Empty, or why the measured split profile was not used.
    QString splitWarning() const { return m_splitWarning; }
    bool usesMeasuredSplits() const { return m_measured; }

    /// Presets by name (simulator::platformPresetNames) or custom platforms.
    bool setDevicePreset(const QString& name);
    bool setServerPreset(const QString& name);
    void setDevice(const simulator::Platform& device);
    void setServer(const simulator::Platform& server);
    /// Load of the device in [0, 0.95].
    void setDeviceLoad(double load);
    /// Clamped to [kMinMbps, kMaxMbps].
    void setBandwidthMbps(double mbps);
    double bandwidthMbps() const { return m_link.bandwidthMbps; }
    /// What the typed entry does: false (nothing changes, the entry shows
    /// why) unless `text` is a number in [kMinMbps, kMaxMbps].
    bool setBandwidthText(const QString& text);
    void setRttMs(double ms);
    void setGoal(const simulator::Goal& goal);
    SplitConditions conditions() const;

    /// The last plan; its `best` is the chosen design when feasible.
    const simulator::Plan& plan() const { return m_plan; }
    /// Blocks on the device of the chosen design; -1 when nothing is feasible.
    int64_t chosenBlocksOnDevice() const;
    /// The chosen design's global threshold; -1 without early exits or design.
    double chosenThreshold() const;
    /// How many test images leave at each exit under the chosen design (empty when nothing is feasible).
    std::vector<int64_t> chosenExitHistogram() const;
    const std::vector<SplitBar>& bars() const { return m_bars; }
    /// Milliseconds the last re-plan took (every split, bars included).
    double lastReplanMs() const { return m_replanMs; }

    QSlider* bandwidthSlider() const { return m_bwSlider; }
    QLineEdit* bandwidthEdit() const { return m_bwEdit; }
    QString bandwidthError() const;
    /// Saves the per-split stacked bars as PNG or PDF (by suffix; savePlotFile).
    bool savePlot(const QString& path, QString* error) const;

signals:
    /// The chosen design moved: blocks [0, blocksOnDevice) run on the device
    /// (-1: nothing meets the goal) with this global threshold (-1: the
    /// network without early exits). Connect to NetworkView::setSplit.
    void designChanged(qint64 blocksOnDevice, double threshold);
    /// Device, server, link or goal changed (EventTimeline::setConditions).
    void conditionsChanged();

private:
    void buildUi();
    void replan();
    void updateChart();
    void updateTables();
    QString barToolTip(std::size_t i) const;
    void refreshPlatformControls();
    void readGoalControls();
    SplitBar barFor(const simulator::DesignFigures& f, std::size_t split, bool feasible) const;

    std::unique_ptr<simulator::Scheduler> m_scheduler;
    std::vector<simulator::Scheduler> m_perSplit;  // one split each: the best design at that split
    double m_profilingGflops = 0.0;
    int64_t m_numBlocks = 0;
    bool m_measured = false;
    QString m_error, m_splitWarning;

    simulator::Platform m_device, m_server;
    simulator::Link m_link;
    simulator::Goal m_goal;
    simulator::Plan m_plan;
    std::vector<SplitBar> m_bars;
    double m_replanMs = 0.0;
    int64_t m_lastBlocks = -2;
    double m_lastThreshold = -2.0;
    bool m_updating = false;

    QComboBox *m_deviceCombo, *m_serverCombo, *m_linkCombo, *m_goalCombo;
    QDoubleSpinBox *m_deviceSpeed, *m_serverSpeed, *m_rtt, *m_minAccuracy, *m_maxP95;
    QSlider *m_deviceLoad, *m_bwSlider;
    QLabel *m_deviceLoadLabel, *m_bwError, *m_warning, *m_chosen, *m_explanation, *m_timing;
    QLineEdit* m_bwEdit;
    QCustomPlot* m_plot;
    QTableWidget* m_baselines;
};

} // namespace exitscope::widgets
