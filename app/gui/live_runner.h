#pragma once

// Wiring into the main window (the integrator's part):
//
//   auto* live = new app::LiveRunner(this);
//   live->setCheckpoint(weightsPath);                 // after File > Open weights
//   live->setExitMs(trace.exitMs);                    // only anytime budgets in ms need it
//   connect(live, &app::LiveRunner::pathReady, this, [=](const widgets::SamplePath& p) {
//       networkView->setPath(p);                      // drawn with the LIVE badge
//   });
//   connect(live, &app::LiveRunner::liveFailed, this, &MainWindow::reportError);
//   // drop of an image file / "run this data-set image live":
//   live->runImageFile(path, explorer->currentPolicy());
//   live->runImage(images, index, policy, QStringLiteral("test image 17"));
//
//   statusBarProgress->setRunner(live->backgroundRunner());   // widgets::JobProgressWidget
//   live->profile(QStringLiteral("fashion-mnist"), options, outPath);
//   live->train(spec, QStringLiteral("fashion-mnist"), trainOptions, outPath);
//   connect(live, &app::LiveRunner::jobFinished, this, [=](app::LiveRunner::JobKind kind, const QString& out) {
//       kind == app::LiveRunner::JobKind::Profile ? openTrace(out) : openWeights(out);  // replace only now
//   });
//   connect(live, &app::LiveRunner::jobFailed, this, &MainWindow::reportError);

#include "core/data/dataset.h"
#include "core/model/model_info.h"
#include "core/policy/policy.h"
#include "core/profile/profiler.h"
#include "core/train/trainer.h"
#include "widgets/network/network_view.h"

#include <QImage>
#include <QList>
#include <QObject>
#include <QStringList>
#include <QString>

#include <memory>
#include <vector>

namespace exitscope::widgets {
class JobRunner;
}

namespace exitscope::app {

/// Runs the real network from the app, always off the GUI thread (through
/// widgets::JobRunner and the network plugin, app/gui/network_backend.h):
/// one image through the early-exit executor giving a live
/// widgets::SamplePath for the network view, and profile or train jobs
/// writing a trace or a checkpoint. Live images go through their own runner,
/// where the newest image replaces one still running; profile and train
/// jobs share a second runner and run one at a time (a second request while
/// one runs is refused with jobFailed, never silently replaces it).
class LiveRunner : public QObject {
    Q_OBJECT

public:
    enum class JobKind { Profile, Train, Export };
    Q_ENUM(JobKind)

    explicit LiveRunner(QObject* parent = nullptr);
    ~LiveRunner() override;

    /// The weights live images and profiling use; loaded on the worker
    /// thread at the first use and kept until the path changes.
    void setCheckpoint(const QString& path);
    QString checkpoint() const { return m_checkpoint; }
    /// Measured per-exit times of a trace of these weights (anytime budgets in ms).
    void setExitMs(std::vector<float> exitMs) { m_exitMs = std::move(exitMs); }

    /// Runs an image file (any format OpenCV reads), converted to the model's
    /// input shape exactly as an image-folder data set would be. Its label is
    /// unknown (-1). Returns the job id.
    quint64 runImageFile(const QString& imagePath, const core::PolicyConfig& policy);
    /// Runs image `index` of `images` (a loaded data set split); its label is known.
    quint64 runImage(std::shared_ptr<const core::ImageSet> images, int64_t index, const core::PolicyConfig& policy,
                     const QString& title);

    /// Profiles the current checkpoint on a data set (name or path, see
    /// core::loadDataset) into a trace at `outPath`. 0 when a job already runs.
    quint64 profile(const QString& dataset, const core::ProfileOptions& options, const QString& outPath);
    /// Trains a zoo model (`spec.name`, `spec.options`; input shape and
    /// classes come from the data set) and saves it at `outPath`. 0 when a job already runs.
    quint64 train(const core::ModelSpec& spec, const QString& dataset, const core::TrainOptions& options,
                  const QString& outPath);

    /// Exports the current checkpoint with the tuned config at `configPath`
    /// as a deployable TorchScript file at `outPath` (and its halves when
    /// `splitAfter` >= 0). 0 when a job already runs.
    quint64 exportDeployable(const QString& configPath, const QString& outPath, int64_t splitAfter);

    /// What each exit saw: Grad-CAM overlays (core/explain/overlay.h) of
    /// exits 0..lastExit for image `index` of `images`, captioned with each
    /// exit's class (`classNames`) and confidence; emits attentionReady with
    /// `row`. The newest request replaces one still running.
    quint64 explainImage(std::shared_ptr<const core::ImageSet> images, int64_t index, int64_t lastExit,
                         const QStringList& classNames, int row);

    widgets::JobRunner* liveRunner() const { return m_live; }
    widgets::JobRunner* explainRunner() const { return m_explain; }
    widgets::JobRunner* backgroundRunner() const { return m_background; }

signals:
    /// A live image's path (SamplePath::live is set).
    void pathReady(const exitscope::widgets::SamplePath& path);
    /// A live image could not be run (no weights, unreadable image, ...).
    void liveFailed(const QString& error);
    /// A profile, train or export job finished; `outputPath` is the trace or
    /// checkpoint written, or for an export its files joined by ", ".
    void jobFinished(exitscope::app::LiveRunner::JobKind kind, const QString& outputPath);
    /// Grad-CAM overlays for the sample at `row` (explainImage).
    void attentionReady(int row, const QList<QImage>& overlays, const QStringList& captions);
    /// A profile or train job failed, or could not start; cancellation is JobRunner::cancelled.
    void jobFailed(const QString& error);

private:
    /// Emits jobFailed and returns true when a background job already runs.
    bool refuseWhenBusy(const QString& what);
    quint64 runLive(std::shared_ptr<const core::ImageSet> images, int64_t index, bool labelKnown,
                    const core::PolicyConfig& policy, const QString& title, const QString& imagePath);

    widgets::JobRunner* m_live;
    widgets::JobRunner* m_background;
    widgets::JobRunner* m_explain;
    QString m_checkpoint;
    std::vector<float> m_exitMs;
    JobKind m_runningKind = JobKind::Profile;
};

} // namespace exitscope::app
