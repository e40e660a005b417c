#pragma once

#include <QImage>
#include <QObject>
#include <QString>
#include <QTemporaryDir>

#include <cstdint>
#include <memory>
#include <string>

class QAction;
class QDockWidget;


namespace exitscope::widgets {
class ElasticPanel;
class ShiftPanel;
class EventTimeline;
class JobProgressWidget;
class NetworkView;
class SplitPanel;
}

namespace exitscope::app {

class LiveRunner;
class MainWindow;

/// The panels that simulate or run the real network, wired into the main
/// window: the network view (the selected image's path, or a live image's),
/// the split panel and its event timeline, the elastic (EINet) panel, and
/// the LiveRunner behind dropped images and the background profile and
/// train jobs (Run menu, progress with Cancel in the status bar). It only
/// connects widgets to the explorer and to each other.
class AnalysisPanels : public QObject {
    Q_OBJECT

public:
    explicit AnalysisPanels(MainWindow& window);

    widgets::NetworkView* networkView() const { return m_network; }
    widgets::SplitPanel* splitPanel() const { return m_split; }
    widgets::EventTimeline* timeline() const { return m_timeline; }
    widgets::ElasticPanel* elasticPanel() const { return m_elastic; }
    widgets::ShiftPanel* shiftPanel() const { return m_shift; }
    LiveRunner* liveRunner() const { return m_live; }
    /// The current policy and weights as one TorchScript file that really
    /// exits at `outPath`, and its device and server halves when
    /// `splitAfter` >= 0 (core/export/deploy.h), written by a background job
    /// (LiveRunner::jobFinished with JobKind::Export). 0, with the reason
    /// reported, when no trace, weights or deployable policy is there or a
    /// job already runs.
    quint64 exportDeployableModel(const QString& outPath, int64_t splitAfter);
    /// Grad-CAM of every exit the selected sample reached, shown in the
    /// image inspector when the background job ends; 0 when nothing is selected.
    quint64 explainSelected();

private:
    void onTracesChanged();
    void showSelectedPath();
    void createRunMenu();
    void profileInBackground();
    void trainInBackground();
    void runSelectedLive();
    /// Export > Deployable Model...: asks for the file and the split.
    void exportDeployableModel();
    bool checkDeployable();
    /// The measured split profile next to the test trace, when there is one.
    QString splitsPathForTrace() const;

    MainWindow& m_window;
    widgets::NetworkView* m_network;
    widgets::SplitPanel* m_split;
    widgets::EventTimeline* m_timeline;
    widgets::ElasticPanel* m_elastic;
    widgets::ShiftPanel* m_shift = nullptr;
    LiveRunner* m_live;
    widgets::JobProgressWidget* m_progress;
    QDockWidget* m_networkDock = nullptr;
    QImage m_liveImage;        // the picture of the live run in flight
    std::string m_livePolicy;  // its policy (JSON): a result for another one is not shown
    std::unique_ptr<QTemporaryDir> m_exportDir;  // the tuned config a deployable export reads
};

} // namespace exitscope::app
