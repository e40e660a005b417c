#include "app/gui/live_runner.h"

#include "app/gui/panels.h"
#include "app/gui/panel_session.h"
#include "app/gui/main_window.h"
#include "app/gui/network_backend.h"
#include "core/trace/trace.h"
#include "core/config/tuned_config.h"
#include "widgets/gallery/dataset_images.h"
#include "widgets/elastic/elastic_panel.h"
#include "widgets/split/event_timeline.h"
#include "widgets/explorer/explorer.h"
#include "widgets/explorer/image_inspector.h"
#include "widgets/common/job_runner.h"
#include "widgets/network/network_view.h"
#include "widgets/split/split_panel.h"
#include "widgets/shift/shift_panel.h"

#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QMenu>
#include <QMenuBar>
#include <QScrollArea>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QVBoxLayout>

#include <algorithm>

namespace exitscope::app {

namespace {

QString datasetOf(const core::Trace& trace) {
    const auto it = trace.metadata.find("dataset");
    return it == trace.metadata.end() ? QStringLiteral("fashion-mnist") : QString::fromStdString(it->second);
}

} // namespace

AnalysisPanels::AnalysisPanels(MainWindow& window)
    : QObject(&window), m_window(window), m_network(new widgets::NetworkView), m_split(new widgets::SplitPanel),
      m_timeline(new widgets::EventTimeline), m_elastic(new widgets::ElasticPanel), m_live(new LiveRunner(this)),
      m_progress(new widgets::JobProgressWidget) {
    widgets::Explorer* explorer = window.explorer();

    // Scrolls rather than push the window past a laptop screen.
    auto* networkScroll = new QScrollArea;
    networkScroll->setWidget(m_network);
    networkScroll->setWidgetResizable(true);
    networkScroll->setFrameShape(QFrame::NoFrame);
    m_networkDock = window.addPanelDock(networkScroll, QStringLiteral("Network and path"), Qt::BottomDockWidgetArea,
                                        QStringLiteral("NetworkDock"));
    auto* splitPage = new QWidget;
    auto* splitLayout = new QVBoxLayout(splitPage);
    splitLayout->setContentsMargins(0, 0, 0, 0);
    splitLayout->addWidget(m_split, 3);
    splitLayout->addWidget(m_timeline, 2);
    // The split controls are many: they scroll rather than stretch the window.
    auto* splitScroll = new QScrollArea;
    splitScroll->setWidget(splitPage);
    splitScroll->setWidgetResizable(true);
    splitScroll->setFrameShape(QFrame::NoFrame);
    splitPage->setMinimumHeight(900);
    QDockWidget* splitDock = window.addPanelDock(splitScroll, QStringLiteral("Split computing (SPINN)"),
                                                 Qt::BottomDockWidgetArea, QStringLiteral("SplitDock"));
    // One tabbed strip at the bottom keeps the window within a laptop screen.
    window.tabifyDockWidget(m_networkDock, splitDock);
    auto* elasticScroll = new QScrollArea;
    elasticScroll->setWidget(m_elastic);
    elasticScroll->setWidgetResizable(true);
    elasticScroll->setFrameShape(QFrame::NoFrame);
    m_elastic->setMinimumHeight(700);
    QDockWidget* elasticDock = window.addPanelDock(elasticScroll, QStringLiteral("Elastic inference (EINet)"),
                                                   Qt::BottomDockWidgetArea, QStringLiteral("ElasticDock"));
    window.tabifyDockWidget(splitDock, elasticDock);
    m_shift = new widgets::ShiftPanel(explorer);
    auto* shiftScroll = new QScrollArea;
    shiftScroll->setWidget(m_shift);
    shiftScroll->setWidgetResizable(true);
    shiftScroll->setFrameShape(QFrame::NoFrame);
    m_shift->setMinimumHeight(760);
    QDockWidget* shiftDock = window.addPanelDock(shiftScroll, QStringLiteral("Shifted data"), Qt::BottomDockWidgetArea,
                                                 QStringLiteral("ShiftDock"));
    window.tabifyDockWidget(elasticDock, shiftDock);
    connect(m_shift, &widgets::ShiftPanel::addTracesRequested, this, [this] {
        const QStringList files = QFileDialog::getOpenFileNames(&m_window, QStringLiteral("Add Corrupted Traces"),
                                                                m_window.lastDirectory(),
                                                                QStringLiteral("Traces (*.safetensors)"));
        for (const QString& f : files)
            if (!m_shift->addTrace(f)) m_window.reportError(m_shift->errorString());
    });
    // The chosen severity becomes the test trace: the gallery then shows its images, corrupted as profiled.
    connect(m_shift, &widgets::ShiftPanel::showTraceRequested, &window, [this](const QString& path) { m_window.openTrace(path); });
    m_networkDock->raise();

    window.addPlotExporter([this](const QString& directory, const QString& suffix, QString* error) {
        const QDir dir(directory);
        return m_split->savePlot(dir.filePath(QStringLiteral("split-bars.") + suffix), error) &&
               m_timeline->savePlot(dir.filePath(QStringLiteral("event-timeline.") + suffix), error) &&
               m_elastic->saveDensityPlot(dir.filePath(QStringLiteral("elastic-deadline.") + suffix), error) &&
               m_elastic->savePlanPlot(dir.filePath(QStringLiteral("elastic-plan.") + suffix), error);
    });

    // The planner's settings travel in exported tuned configs, and come back from opened ones.
    window.setElasticSettingsSource([this]() -> std::optional<core::ElasticSettings> {
        if (!m_elastic->hasTraces()) return std::nullopt;
        return m_elastic->settings();
    });
    connect(&window, &MainWindow::tunedConfigOpened, this, [this](const QString& path) {
        try {
            const auto config = core::loadConfig(path.toStdString());
            if (config.elastic && !m_elastic->applySettings(*config.elastic))
                m_window.reportError(QStringLiteral("%1: its elastic settings were not applied: %2")
                                         .arg(path, m_elastic->deadlineError().isEmpty() ? m_elastic->errorString()
                                                                                         : m_elastic->deadlineError()));
        } catch (const std::exception& e) {
            m_window.reportError(QString::fromStdString(e.what()));
        }
    });

    connect(explorer, &widgets::Explorer::tracesChanged, this, &AnalysisPanels::onTracesChanged);
    connect(explorer, &widgets::Explorer::selectionChanged, this, [this] {
        showSelectedPath();
        m_elastic->setSelectedSample(m_window.explorer()->selectedSample());
    });
    // The explorer drops a live result when the policy or the selection changes.
    connect(explorer, &widgets::Explorer::outcomeChanged, this, &AnalysisPanels::showSelectedPath);
    connect(explorer, &widgets::Explorer::liveResultChanged, this, &AnalysisPanels::showSelectedPath);
    connect(m_split, &widgets::SplitPanel::designChanged, this,
            [this](qint64 blocksOnDevice, double) { m_network->setSplit(blocksOnDevice); });
    connect(m_split, &widgets::SplitPanel::conditionsChanged, this,
            [this] { m_timeline->setConditions(m_split->conditions()); });

    // The real network: dropped images run live; profile and train jobs run
    // in the background and replace what is loaded only once they finish.
    connect(&window, &MainWindow::weightsOpened, m_live, &LiveRunner::setCheckpoint);
    connect(&window, &MainWindow::imageDropped, this, [this](const QString& path) {
        const auto policy = m_window.explorer()->policyConfig();
        if (!policy) {
            m_window.reportError(QStringLiteral("%1: the live run needs a deployable policy; %2")
                                     .arg(path, m_window.explorer()->whyNotDeployable()));
            return;
        }
        m_liveImage = QImage(path);
        m_livePolicy = core::policyToJson(*policy).dump();
        m_live->runImageFile(path, *policy);
    });
    connect(m_live, &LiveRunner::pathReady, this, [this](const widgets::SamplePath& path) {
        widgets::Explorer* explorer = m_window.explorer();
        const auto policy = explorer->policyConfig();
        if (!policy || core::policyToJson(*policy).dump() != m_livePolicy) {
            m_window.reportDone(QStringLiteral("Live: %1 ran with a policy changed since; run it again").arg(path.title));
            return;
        }
        // The state holds the live result; the network view and the inspector show it from there.
        explorer->setLiveResult(path, m_liveImage);
        m_networkDock->show();
        m_networkDock->raise();
        m_window.reportDone(QStringLiteral("Live: %1 left at exit %2").arg(path.title).arg(path.exitTaken));
    });
    connect(m_live, &LiveRunner::liveFailed, &window, &MainWindow::reportError);
    connect(m_live, &LiveRunner::attentionReady, this, [this](int row, const QList<QImage>& overlays, const QStringList& captions) {
        m_window.inspector()->setAttention(row, overlays, captions);
        m_window.reportDone(QStringLiteral("Grad-CAM: %1 exit(s) of test sample %2").arg(overlays.size()).arg(row));
    });
    connect(window.inspector(), &widgets::ImageInspector::explainRequested, this, &AnalysisPanels::explainSelected);
    connect(m_live, &LiveRunner::jobFailed, &window, &MainWindow::reportError);
    connect(m_live, &LiveRunner::jobFinished, this, [this](LiveRunner::JobKind kind, const QString& out) {
        if (kind == LiveRunner::JobKind::Profile) {
            m_window.openTrace(out);
        } else if (kind == LiveRunner::JobKind::Export) {
            m_window.reportDone(QStringLiteral("Wrote the deployable model: %1 (docs/deploy.md: torch.jit.load or torch::jit::load)").arg(out));
        } else {
            m_window.openWeights(out);
        }
    });
    m_progress->setRunner(m_live->backgroundRunner());
    window.statusBar()->addPermanentWidget(m_progress);
    createRunMenu();
    if (QMenu* exportMenu = window.exportMenu()) {
        exportMenu->addSeparator();
        exportMenu->addAction(QStringLiteral("&Deployable Model (TorchScript)..."), this, [this] { exportDeployableModel(); });
    }
    addPanelSessionParts(window, m_split, m_elastic);
    // The network strip gets a third of the height (its drawing needs about 250-330 px).
    window.resizeDocks({m_networkDock}, {std::max(250, window.height() * 36 / 100)}, Qt::Vertical);
    // Every dock exists now: this is the arrangement Reset Layout brings back.
    window.takeDefaultLayout();
}

void AnalysisPanels::createRunMenu() {
    QMenu* run = m_window.menuBar()->addMenu(QStringLiteral("&Run"));
    run->addAction(QStringLiteral("Run the Selected Image &Live"), this, &AnalysisPanels::runSelectedLive);
    run->addAction(QStringLiteral("&Explain the Selected Image (Grad-CAM)"), this, &AnalysisPanels::explainSelected);
    run->addAction(QStringLiteral("Run an &Image File Live..."), this, [this] {
        const QString file = QFileDialog::getOpenFileName(&m_window, QStringLiteral("Run an image through the network"),
                                                          m_window.lastDirectory(),
                                                          QStringLiteral("Images (*.png *.jpg *.jpeg *.bmp *.pgm *.ppm)"));
        if (!file.isEmpty()) emit m_window.imageDropped(file);
    });
    run->addSeparator();
    run->addAction(QStringLiteral("&Profile the Weights into a Trace..."), this, &AnalysisPanels::profileInBackground);
    run->addAction(QStringLiteral("&Train a Model..."), this, &AnalysisPanels::trainInBackground);
}

QString AnalysisPanels::splitsPathForTrace() const {
    QString path = m_window.explorer()->testSource();
    for (const QString& suffix : {QStringLiteral("-test.safetensors"), QStringLiteral("-val.safetensors")}) {
        if (path.endsWith(suffix)) {
            const QString splits = path.left(path.size() - suffix.size()) + QStringLiteral("-splits.safetensors");
            if (QFileInfo(splits).isFile()) return splits;
        }
    }
    return {};
}

void AnalysisPanels::onTracesChanged() {
    const core::Trace* trace = m_window.explorer()->testTrace();
    if (!trace) {
        m_network->clearModel();
        return;
    }
    m_network->setModel(*trace);
    // Anytime budgets in ms need the measured exit times of these weights.
    m_live->setExitMs(trace->exitMs);
    const QString splits = splitsPathForTrace();
    if (!m_split->setTrace(*trace, splits)) m_window.reportError(m_split->errorString());
    m_timeline->setTrace(*trace, splits);
    m_timeline->setConditions(m_split->conditions());
    m_network->setSplit(m_split->chosenBlocksOnDevice());
    showSelectedPath();
    // The elastic planner needs both traces: the predictor learns on validation.
    const core::Trace* val = m_window.explorer()->valTrace();
    if (val && !m_elastic->setTraces(*val, *trace)) m_window.reportError(m_elastic->errorString());
    m_elastic->setSelectedSample(m_window.explorer()->selectedSample());
}

void AnalysisPanels::showSelectedPath() {
    const widgets::Explorer* explorer = m_window.explorer();
    if (explorer->liveResult()) {
        m_network->setPath(explorer->liveResult()->path);
        return;
    }
    const core::Decider* decider = explorer->decider();
    const int row = explorer->selectedSample();
    if (!decider || row < 0 || row >= explorer->numSamples()) {
        m_network->setPath({});
        return;
    }
    auto path = widgets::samplePathFromDecision(*decider, row);
    path.title = QStringLiteral("test sample %1").arg(row);
    m_network->setPath(path);
}

void AnalysisPanels::runSelectedLive() {
    const widgets::Explorer* explorer = m_window.explorer();
    const core::Trace* trace = explorer->testTrace();
    const int row = explorer->selectedSample();
    const auto images = m_window.images()->imageSet();
    const auto policy = explorer->policyConfig();
    if (!trace || row < 0) {
        m_window.reportError(QStringLiteral("select an image first (click one in the gallery)"));
        return;
    }
    if (!images) {
        m_window.reportError(QStringLiteral("the data set's images are not loaded: %1").arg(m_window.images()->message()));
        return;
    }
    if (!policy) {
        m_window.reportError(QStringLiteral("the live run needs a deployable policy; %1").arg(explorer->whyNotDeployable()));
        return;
    }
    m_liveImage = m_window.images()->image(trace->sampleIndex[static_cast<std::size_t>(row)]);
    m_livePolicy = core::policyToJson(*policy).dump();
    m_live->runImage(images, trace->sampleIndex[static_cast<std::size_t>(row)], *policy,
                     QStringLiteral("test sample %1").arg(row));
}

quint64 AnalysisPanels::explainSelected() {
    const widgets::Explorer* explorer = m_window.explorer();
    const core::Trace* trace = explorer->testTrace();
    const core::Decider* decider = explorer->decider();
    const int row = explorer->selectedSample();
    const auto images = m_window.images()->imageSet();
    if (!trace || !decider || row < 0 || row >= explorer->numSamples()) {
        m_window.reportError(QStringLiteral("select an image first (click one in the gallery)"));
        return 0;
    }
    if (!images) {
        m_window.reportError(QStringLiteral("the data set's images are not loaded: %1").arg(m_window.images()->message()));
        return 0;
    }
    // Every exit the image reached under the current policy, as the inspector shows it.
    const int64_t taken = decider->outcome().exitTaken.at(static_cast<std::size_t>(row));
    return m_live->explainImage(images, trace->sampleIndex[static_cast<std::size_t>(row)], taken, explorer->classNames(), row);
}

bool AnalysisPanels::checkDeployable() {
    const widgets::Explorer* explorer = m_window.explorer();
    if (m_live->backgroundRunner()->isBusy()) {
        m_window.reportError(QStringLiteral("%1 is still running; cancel it before exporting").arg(m_live->backgroundRunner()->currentLabel()));
        return false;
    }
    if (!explorer->testTrace()) {
        m_window.reportError(QStringLiteral("open a trace and tune a policy before exporting a deployable model"));
        return false;
    }
    if (m_live->checkpoint().isEmpty()) {
        m_window.reportError(QStringLiteral("no model weights are loaded; open the checkpoint the trace was profiled from"));
        return false;
    }
    if (!explorer->policyConfig()) {
        m_window.reportError(QStringLiteral("the export needs a deployable policy; %1").arg(explorer->whyNotDeployable()));
        return false;
    }
    return true;
}

void AnalysisPanels::exportDeployableModel() {
    if (!checkDeployable()) return;
    const QString out = QFileDialog::getSaveFileName(&m_window, QStringLiteral("Export Deployable Model"), m_window.lastDirectory(),
                                                     QStringLiteral("TorchScript files (*.pt)"));
    if (out.isEmpty()) return;
    const int64_t blocks = m_window.explorer()->testTrace()->numBlocks;
    int64_t splitAfter = -1;
    if (blocks >= 2) {
        bool ok = false;
        const int v = QInputDialog::getInt(&m_window, QStringLiteral("Split Between Device and Server"),
                                           QStringLiteral("Also write a device half and a server half, split after block\n"
                                                          "(-1: one whole file only; 0..%1):").arg(blocks - 2),
                                           -1, -1, static_cast<int>(blocks - 2), 1, &ok);
        if (!ok) return;
        splitAfter = v;
    }
    exportDeployableModel(out, splitAfter);
}

quint64 AnalysisPanels::exportDeployableModel(const QString& outPath, int64_t splitAfter) {
    if (!checkDeployable()) return 0;
    // The policy as the Export Tuned Config entry writes it; the job reads it back.
    m_exportDir = std::make_unique<QTemporaryDir>();
    const QString config = m_exportDir->filePath(QStringLiteral("tuned.json"));
    if (!m_exportDir->isValid()) {
        m_window.reportError(QStringLiteral("no temporary folder for the tuned config: %1").arg(m_exportDir->errorString()));
        return 0;
    }
    if (!m_window.exportTunedConfig(config)) return 0;
    return m_live->exportDeployable(config, outPath, splitAfter);
}

void AnalysisPanels::profileInBackground() {
    if (m_live->checkpoint().isEmpty()) {
        m_window.reportError(QStringLiteral("open model weights first (File > Open Weights)"));
        return;
    }
    const core::Trace* trace = m_window.explorer()->testTrace();
    const QString dataset = trace ? datasetOf(*trace) : QStringLiteral("fashion-mnist");
    bool ok = false;
    const QString split = QInputDialog::getItem(&m_window, QStringLiteral("Profile"), QStringLiteral("Split of %1:").arg(dataset),
                                                {QStringLiteral("test"), QStringLiteral("val")}, 0, false, &ok);
    if (!ok) return;
    const QString out = QFileDialog::getSaveFileName(
        &m_window, QStringLiteral("Write the trace to"),
        QFileInfo(m_live->checkpoint()).absolutePath() + QStringLiteral("/") + QFileInfo(m_live->checkpoint()).completeBaseName() +
            QStringLiteral("-") + split + QStringLiteral(".safetensors"),
        QStringLiteral("Traces (*.safetensors)"));
    if (out.isEmpty()) return;
    core::ProfileOptions options;
    options.split = core::parseSplitKind(split.toStdString());
    m_live->profile(dataset, options, out);
}

void AnalysisPanels::trainInBackground() {
    QStringList names;
    try {
        for (const auto& n : networkBackend().zooModelNames()) names << QString::fromStdString(n);
    } catch (const std::exception& e) {
        m_window.reportError(QString::fromStdString(e.what()));
        return;
    }
    bool ok = false;
    const QString model = QInputDialog::getItem(&m_window, QStringLiteral("Train"), QStringLiteral("Model:"), names, 0, false, &ok);
    if (!ok) return;
    const int epochs = QInputDialog::getInt(&m_window, QStringLiteral("Train"),
                                            QStringLiteral("Epochs on Fashion-MNIST (about 1-2 minutes each here):"), 10, 1,
                                            200, 1, &ok);
    if (!ok) return;
    const QString out = QFileDialog::getSaveFileName(&m_window, QStringLiteral("Write the weights to"),
                                                     m_window.lastDirectory() + QStringLiteral("/") + model +
                                                         QStringLiteral("-fashion-mnist.pt"),
                                                     QStringLiteral("Checkpoints (*.pt)"));
    if (out.isEmpty()) return;
    core::ModelSpec spec;
    spec.name = model.toStdString();
    core::TrainOptions options;
    options.epochs = epochs;
    m_live->train(spec, QStringLiteral("fashion-mnist"), options, out);
}

} // namespace exitscope::app
