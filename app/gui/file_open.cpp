// Opening files in the main window: weights, traces, data sets and tuned
// configs, from the File menu, the command line, recent files or a drop.
#include "app/gui/main_window.h"

#include "app/gui/model_import.h"
#include "core/common/error.h"
#include "app/gui/network_backend.h"
#include "core/trace/trace.h"
#include "widgets/gallery/dataset_images.h"
#include "widgets/explorer/explorer.h"
#include "widgets/common/model_summary.h"
#include "widgets/common/trace_overview.h"

#include <QDir>
#include <QFile>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QMetaMethod>
#include <QMimeData>
#include <QStatusBar>
#include <QTabWidget>
#include <QUrl>

#include <exception>
#include <memory>

namespace exitscope::app {

namespace {

enum class FileKind { Weights, Trace, Config, Dataset, Image, Unknown };

FileKind kindOf(const QString& path) {
    const QFileInfo info(path);
    if (info.isDir()) return FileKind::Dataset;
    const QString suffix = info.suffix().toLower();
    if (suffix == QLatin1String("pt")) return FileKind::Weights;
    if (suffix == QLatin1String("safetensors")) return FileKind::Trace;
    if (suffix == QLatin1String("json")) return FileKind::Config;
    static const QStringList images = {QStringLiteral("png"), QStringLiteral("jpg"), QStringLiteral("jpeg"),
                                       QStringLiteral("bmp"), QStringLiteral("pgm"), QStringLiteral("ppm")};
    if (images.contains(suffix)) return FileKind::Image;
    return FileKind::Unknown;
}

bool isZipArchive(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) && file.read(4) == QByteArray("PK\x03\x04", 4);
}

} // namespace

bool MainWindow::openWeights(const QString& path) {
    try {
        core::ModelSpec spec;
        try {
            spec = networkBackend().readCheckpointSpec(path.toStdString());
        } catch (const core::Error&) {
            // Not a checkpoint: a zip archive may be a TorchScript model,
            // checked in a child process; anything else keeps the error.
            if (!isZipArchive(path)) throw;
            spec = inspectImportedModel(path, this, m_errorPopups);
        }
        m_model->setSpec(spec, QFileInfo(path).absoluteFilePath());
    } catch (const std::exception& e) {
        // core::Error carries a message naming the file; anything else still
        // must not take the window down.
        reportError(QString::fromStdString(e.what()));
        return false;
    }
    for (int i = 0; i < m_traceTabs->count(); ++i) {
        static_cast<widgets::TraceOverview*>(m_traceTabs->widget(i))->setReferenceWeightsHash(m_model->weightsHash());
    }
    m_lastDir = QFileInfo(path).absolutePath();
    m_explorer->setWeightsPath(QFileInfo(path).absoluteFilePath());
    statusBar()->showMessage(QStringLiteral("Loaded weights %1").arg(path));
    emit weightsOpened(QFileInfo(path).absoluteFilePath());
    return true;
}

bool MainWindow::openTrace(const QString& path) {
    const QString absolute = QFileInfo(path).absoluteFilePath();
    std::shared_ptr<const core::Trace> trace;
    try {
        trace = std::make_shared<const core::Trace>(core::readTrace(absolute.toStdString()));
    } catch (const std::exception& e) {
        QString message = QString::fromStdString(e.what());
        if (!message.contains(path) && !message.contains(absolute)) message = QStringLiteral("%1: %2").arg(path, message);
        reportError(message);
        return false;
    }
    widgets::TraceOverview* overview = nullptr;
    for (int i = 0; i < m_traceTabs->count() && !overview; ++i) {
        auto* page = static_cast<widgets::TraceOverview*>(m_traceTabs->widget(i));
        if (page->source() == absolute) overview = page;
    }
    if (!overview) overview = new widgets::TraceOverview;
    overview->setTrace(*trace, absolute);
    overview->setReferenceWeightsHash(m_model->weightsHash());
    const QString split = overview->summaryValue(QStringLiteral("split"));
    QString title = split.isEmpty() ? QFileInfo(path).completeBaseName() : split;
    for (int i = 0; i < m_traceTabs->count(); ++i) {
        // Two "val" tabs (two models, say) must be told apart at a glance.
        if (m_traceTabs->widget(i) != overview && m_traceTabs->tabText(i) == title) {
            title = QStringLiteral("%1 (%2)").arg(title, QFileInfo(absolute).fileName());
            break;
        }
    }
    int index = m_traceTabs->indexOf(overview);
    if (index < 0) index = m_traceTabs->addTab(overview, title);
    m_traceTabs->setTabText(index, title);
    m_traceTabs->setTabToolTip(index, absolute);

    m_explorer->addTrace(trace, absolute);
    m_lastDir = QFileInfo(path).absolutePath();
    statusBar()->showMessage(QStringLiteral("Loaded trace %1 (%2 samples)").arg(path).arg(trace->numSamples));
    return true;
}

bool MainWindow::openDataset(const QString& nameOrPath) {
    const QFileInfo info(nameOrPath);
    const bool knownName = !nameOrPath.contains(QLatin1Char('/')) && !info.exists();
    if (!knownName && !info.isDir()) {
        reportError(QStringLiteral("%1: not a directory; a data set is a folder of IDX files, CIFAR-10 binary "
                                   "batches or class folders of images")
                        .arg(nameOrPath));
        return false;
    }
    m_datasetOverride = knownName ? nameOrPath : info.absoluteFilePath();
    if (!m_explorer->hasData()) {
        statusBar()->showMessage(QStringLiteral("Data set %1 will be shown once a trace is open").arg(nameOrPath));
        return true;
    }
    requestImagesForTrace();
    statusBar()->showMessage(QStringLiteral("Loading the images of %1...").arg(nameOrPath));
    return true;
}

bool MainWindow::openTunedConfig(const QString& path) {
    if (!m_explorer->loadTunedConfig(path)) {
        reportError(m_explorer->errorString());
        return false;
    }
    m_lastDir = QFileInfo(path).absolutePath();
    statusBar()->showMessage(QStringLiteral("Applied the tuned config %1: %2").arg(path, m_explorer->describePolicy()));
    emit tunedConfigOpened(QFileInfo(path).absoluteFilePath());
    return true;
}

bool MainWindow::openPath(const QString& path) {
    bool ok = false;
    switch (kindOf(path)) {
    case FileKind::Weights: ok = openWeights(path); break;
    case FileKind::Trace: ok = openTrace(path); break;
    case FileKind::Config: ok = openTunedConfig(path); break;
    case FileKind::Dataset: ok = openDataset(path); break;
    case FileKind::Image:
        if (isSignalConnected(QMetaMethod::fromSignal(&MainWindow::imageDropped))) {
            emit imageDropped(path);
            ok = true;
        } else {
            reportError(QStringLiteral("%1: running a single image through the network needs the live view, "
                                       "which this build does not have").arg(path));
        }
        break;
    case FileKind::Unknown:
        reportError(QStringLiteral("%1: not a file ExitScope opens (weights .pt, trace .safetensors, tuned config "
                                   ".json, a data set folder or an image)").arg(path));
        break;
    }
    if (ok) rememberRecent(path);
    return ok;
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) {
        for (const QUrl& url : event->mimeData()->urls()) {
            if (url.isLocalFile() && kindOf(url.toLocalFile()) != FileKind::Unknown) {
                event->acceptProposedAction();
                return;
            }
        }
    }
    event->ignore();
}

void MainWindow::dropEvent(QDropEvent* event) {
    // Weights and traces first, so that a config dropped with them applies to the new traces.
    QList<QString> paths;
    for (const QUrl& url : event->mimeData()->urls()) {
        if (url.isLocalFile()) paths << url.toLocalFile();
    }
    std::stable_sort(paths.begin(), paths.end(), [](const QString& a, const QString& b) {
        return static_cast<int>(kindOf(a)) < static_cast<int>(kindOf(b));
    });
    for (const QString& path : paths) openPath(path);
    event->acceptProposedAction();
}

} // namespace exitscope::app
