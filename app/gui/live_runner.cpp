#include "app/gui/live_runner.h"

#include "app/gui/network_backend.h"
#include "core/common/error.h"
#include "core/data/image_folder.h"
#include "core/explain/overlay.h"
#include "core/policy/decision.h"
#include "core/trace/trace.h"
#include "widgets/common/job_runner.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStringList>
#include <QTemporaryDir>

#include <algorithm>

namespace exitscope::app {

namespace {

// A single file becomes a one-class image folder, so that it is converted to
// the model's input exactly as image-folder data sets are (OpenCV, channels,
// INTER_AREA / INTER_LINEAR resize).
core::ImageSet readSingleImage(const QString& imagePath, const core::ModelSpec& spec) {
    const QFileInfo info(imagePath);
    if (!info.isFile()) throw core::Error(imagePath.toStdString() + ": no such image file");
    QTemporaryDir dir;
    if (!dir.isValid()) throw core::Error("cannot create a temporary folder for " + imagePath.toStdString());
    const QString classDir = dir.filePath(QStringLiteral("image"));
    QDir().mkpath(classDir);
    const QString copy = QDir(classDir).filePath(QStringLiteral("input.") + info.suffix());
    if (!QFile::copy(imagePath, copy)) throw core::Error(imagePath.toStdString() + ": cannot read the file");
    try {
        return core::readImageFolder(dir.path().toStdString(), spec.channels, spec.height, spec.width,
                                     imagePath.toStdString());
    } catch (const core::Error&) {
        // The copy's name means nothing to the user; name their file.
        throw core::Error(imagePath.toStdString() + ": not an image OpenCV can read (png, jpg, bmp, pgm, ppm, tif, webp)");
    }
}

widgets::SamplePath toSamplePath(const LiveResult& s, const core::PolicyConfig& policy, int64_t numExits) {
    widgets::SamplePath path;
    path.exitsEvaluated = s.exitsEvaluated;
    // What the policy compared, with the names the decision API gives them, as a trace's path shows.
    path.confidences = s.scores;
    path.scoreName = QString::fromStdString(core::policyScoreName(policy));
    path.boundaryName = QString::fromStdString(core::policyBoundaryName(policy));
    path.comparison = QString::fromStdString(core::policyComparison(policy));
    if (!path.comparison.isEmpty())
        for (int64_t k = 0; k + 1 < numExits; ++k) path.thresholds.push_back(core::exitBoundary(policy, k));
    path.exitTaken = s.exitTaken;
    path.predicted = s.prediction;
    path.live = true;
    return path;
}

} // namespace

LiveRunner::LiveRunner(QObject* parent)
    : QObject(parent), m_live(new widgets::JobRunner(this)), m_background(new widgets::JobRunner(this)),
      m_explain(new widgets::JobRunner(this)) {
    qRegisterMetaType<widgets::SamplePath>();
    connect(m_live, &widgets::JobRunner::finished, this,
            [this](const QVariant& result) { emit pathReady(result.value<widgets::SamplePath>()); });
    connect(m_live, &widgets::JobRunner::failed, this, &LiveRunner::liveFailed);
    connect(m_background, &widgets::JobRunner::finished, this,
            [this](const QVariant& result) { emit jobFinished(m_runningKind, result.toString()); });
    connect(m_background, &widgets::JobRunner::failed, this, &LiveRunner::jobFailed);
    connect(m_explain, &widgets::JobRunner::finished, this, [this](const QVariant& result) {
        const QVariantList parts = result.toList();
        QList<QImage> overlays;
        for (const QVariant& v : parts.value(1).toList()) overlays << v.value<QImage>();
        emit attentionReady(parts.value(0).toInt(), overlays, parts.value(2).toStringList());
    });
    connect(m_explain, &widgets::JobRunner::failed, this, &LiveRunner::liveFailed);
}

quint64 LiveRunner::explainImage(std::shared_ptr<const core::ImageSet> images, int64_t index, int64_t lastExit,
                                 const QStringList& classNames, int row) {
    const std::string weights = m_checkpoint.toStdString();
    return m_explain->start(
        [=](const core::ProgressFn& progress, const core::CancelFlag& cancel) -> QVariant {
            if (weights.empty()) throw core::Error("no model weights are loaded; open a checkpoint first");
            if (!images) throw core::Error("the data set's images are not loaded");
            progress({0.1, "loading " + weights});
            const auto maps = networkBackend().explainImage(weights, *images, index, lastExit);
            core::throwIfCancelled(&cancel);
            const uint8_t* pixels = images->image(static_cast<std::size_t>(index));
            QVariantList overlays;
            QStringList captions;
            for (const auto& a : maps) {
                const auto rgb = core::attentionOverlay(pixels, images->channels, images->height, images->width, a.map, 8);
                QImage img(rgb.rgb.data(), static_cast<int>(rgb.width), static_cast<int>(rgb.height),
                           static_cast<int>(rgb.width * 3), QImage::Format_RGB888);
                overlays << QVariant::fromValue(img.copy());
                captions << QStringLiteral("exit %1: %2 (%3)")
                                .arg(a.exit)
                                .arg(classNames.value(static_cast<int>(a.prediction), QStringLiteral("class %1").arg(a.prediction)))
                                .arg(a.confidence, 0, 'f', 2);
            }
            return QVariantList{row, overlays, captions};
        },
        QStringLiteral("Grad-CAM of the exits of image %1").arg(index));
}

LiveRunner::~LiveRunner() = default;

void LiveRunner::setCheckpoint(const QString& path) { m_checkpoint = path; }

quint64 LiveRunner::runImageFile(const QString& imagePath, const core::PolicyConfig& policy) {
    return runLive(nullptr, 0, false, policy, QFileInfo(imagePath).fileName(), imagePath);
}

quint64 LiveRunner::runImage(std::shared_ptr<const core::ImageSet> images, int64_t index,
                             const core::PolicyConfig& policy, const QString& title) {
    return runLive(std::move(images), index, true, policy, title, QString());
}

quint64 LiveRunner::runLive(std::shared_ptr<const core::ImageSet> images, int64_t index, bool labelKnown,
                            const core::PolicyConfig& policy, const QString& title, const QString& imagePath) {
    const std::string weights = m_checkpoint.toStdString();
    const auto exitMs = m_exitMs;
    return m_live->start(
        [=](const core::ProgressFn& progress, const core::CancelFlag& cancel) -> QVariant {
            if (weights.empty()) throw core::Error("no model weights are loaded; open a checkpoint first");
            progress({0.1, "loading " + weights});
            NetworkBackend& backend = networkBackend();
            const core::ModelSpec spec = backend.modelSpec(weights);
            core::throwIfCancelled(&cancel);
            core::ImageSet single;
            const core::ImageSet* set = images.get();
            if (!set) {
                single = readSingleImage(imagePath, spec);
                set = &single;
            }
            progress({0.4, "running the network"});
            const LiveResult result = backend.runImage(weights, *set, index, policy, exitMs);
            widgets::SamplePath path = toSamplePath(result, policy, result.numExits);
            path.label = labelKnown ? set->labels[static_cast<std::size_t>(index)] : -1;
            path.title = title;
            return QVariant::fromValue(path);
        },
        QStringLiteral("Running %1 through the network").arg(title));
}

bool LiveRunner::refuseWhenBusy(const QString& what) {
    if (!m_background->isBusy()) return false;
    emit jobFailed(QStringLiteral("%1 is still running; cancel it before %2").arg(m_background->currentLabel(), what));
    return true;
}

quint64 LiveRunner::profile(const QString& dataset, const core::ProfileOptions& options, const QString& outPath) {
    if (refuseWhenBusy(QStringLiteral("profiling"))) return 0;
    if (m_checkpoint.isEmpty()) {
        emit jobFailed(QStringLiteral("no model weights are loaded; open a checkpoint before profiling"));
        return 0;
    }
    m_runningKind = JobKind::Profile;
    const std::string weights = m_checkpoint.toStdString(), data = dataset.toStdString(), out = outPath.toStdString();
    return m_background->start(
        [=](const core::ProgressFn& progress, const core::CancelFlag& cancel) -> QVariant {
            networkBackend().profile(weights, data, options, out, progress, cancel);
            return QString::fromStdString(out);
        },
        QStringLiteral("Profiling %1 on %2").arg(QFileInfo(m_checkpoint).fileName(), dataset));
}

quint64 LiveRunner::train(const core::ModelSpec& spec, const QString& dataset, const core::TrainOptions& options,
                          const QString& outPath) {
    if (refuseWhenBusy(QStringLiteral("training"))) return 0;
    m_runningKind = JobKind::Train;
    const std::string data = dataset.toStdString(), out = outPath.toStdString();
    return m_background->start(
        [=](const core::ProgressFn& progress, const core::CancelFlag& cancel) -> QVariant {
            networkBackend().train(spec, data, options, out, progress, cancel);
            return QString::fromStdString(out);
        },
        QStringLiteral("Training %1 on %2").arg(QString::fromStdString(spec.name), dataset));
}

quint64 LiveRunner::exportDeployable(const QString& configPath, const QString& outPath, int64_t splitAfter) {
    if (refuseWhenBusy(QStringLiteral("exporting"))) return 0;
    if (m_checkpoint.isEmpty()) {
        emit jobFailed(QStringLiteral("no model weights are loaded; open the checkpoint the trace was profiled from"));
        return 0;
    }
    m_runningKind = JobKind::Export;
    const std::string weights = m_checkpoint.toStdString(), config = configPath.toStdString(), out = outPath.toStdString();
    return m_background->start(
        [=](const core::ProgressFn& progress, const core::CancelFlag& cancel) -> QVariant {
            QStringList files;
            for (const auto& f : networkBackend().exportDeployable(weights, config, out, splitAfter, progress, cancel))
                files << QString::fromStdString(f);
            return files.join(QStringLiteral(", "));
        },
        QStringLiteral("Exporting %1 as a deployable model").arg(QFileInfo(m_checkpoint).fileName()));
}

} // namespace exitscope::app
