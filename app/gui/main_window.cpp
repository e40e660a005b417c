#include "app/gui/main_window.h"

#include "core/data/dataset.h"
#include "core/model/model_info.h"
#include "widgets/gallery/dataset_images.h"
#include "widgets/explorer/exit_histogram.h"
#include "widgets/explorer/explorer.h"
#include "widgets/explorer/explorer_export.h"
#include "widgets/explorer/image_inspector.h"
#include "widgets/explorer/tradeoff_plot.h"

#include <QAction>
#include <QApplication>
#include <QGuiApplication>
#include <QScreen>
#include <QCloseEvent>
#include <QSettings>
#include <QSignalBlocker>
#include <QDir>
#include <QDockWidget>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QStatusBar>

#include <algorithm>
#include <exception>

namespace exitscope::app {

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent), m_explorer(new widgets::Explorer(this)), m_images(new widgets::DatasetImages(this)) {
    setWindowTitle(QStringLiteral("ExitScope"));
    setObjectName(QStringLiteral("MainWindow"));
    // 1500x940 where the screen has room, else the screen's free area (a 1280x800 laptop).
    QSize size(1500, 940);
    if (const QScreen* screen = QGuiApplication::primaryScreen())
        size = size.boundedTo(screen->availableGeometry().size());
    resize(size);
    setAcceptDrops(true);
    m_normalFont = font();
    createDocks();
    createMenus();
    connect(m_explorer, &widgets::Explorer::tracesChanged, this, &MainWindow::requestImagesForTrace);
    m_defaultState = saveState();
    statusBar()->showMessage(QStringLiteral("Ready"));
}

void MainWindow::restoreLayout() {
    const QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("windowGeometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("windowState")).toByteArray());
}

QString MainWindow::weightsPath() const { return m_explorer->weightsPath(); }

void MainWindow::resetLayout() {
    const bool banner = m_bannerDock->isVisible();
    for (QDockWidget* dock : findChildren<QDockWidget*>()) {
        if (dock == m_bannerDock) continue;
        dock->setFloating(false);
        dock->show();
    }
    restoreState(m_defaultState);
    // The notice banner shows only while there is something to say.
    m_bannerDock->setVisible(banner);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (m_errorPopups) {
        // Batch runs (--quit-after-load, --screenshot) leave the user's layout alone.
        QSettings settings;
        settings.setValue(QStringLiteral("windowGeometry"), saveGeometry());
        settings.setValue(QStringLiteral("windowState"), saveState());
    }
    QMainWindow::closeEvent(event);
}

MainWindow::~MainWindow() = default;

QDockWidget* MainWindow::addPanelDock(QWidget* panel, const QString& title, Qt::DockWidgetArea area,
                                      const QString& objectName) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(objectName.isEmpty() ? title : objectName);
    dock->setWidget(panel);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                      QDockWidget::DockWidgetClosable);
    QDockWidget* neighbour = nullptr;
    for (QDockWidget* other : findChildren<QDockWidget*>()) {
        if (other != dock && dockWidgetArea(other) == area && !other->isFloating() && other->isVisible()) {
            neighbour = other;
        }
    }
    addDockWidget(area, dock);
    if (neighbour) tabifyDockWidget(neighbour, dock);
    if (m_viewMenu) m_viewMenu->addAction(dock->toggleViewAction());
    return dock;
}

void MainWindow::showNotice(const QString& text) {
    m_banner->setText(text);
    m_banner->setVisible(!text.isEmpty());
    m_bannerDock->setVisible(!text.isEmpty());
    if (!text.isEmpty()) statusBar()->showMessage(text.section(QLatin1Char('\n'), 0, 0));
}

void MainWindow::reportError(const QString& message) {
    m_lastError = message;
    statusBar()->showMessage(message);
    if (m_errorPopups) {
        // open() rather than exec(): errors found during start-up must not
        // block before the event loop runs.
        auto* box = new QMessageBox(QMessageBox::Warning, QStringLiteral("ExitScope"), message, QMessageBox::Ok, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
    }
}

void MainWindow::reportDone(const QString& message) {
    statusBar()->showMessage(message, 8000);
}

void MainWindow::setPresentationMode(bool on) {
    if (m_presentationAction && m_presentationAction->isChecked() != on) {
        const QSignalBlocker block(m_presentationAction);
        m_presentationAction->setChecked(on);
    }
    if (on == m_presenting) return;
    m_presenting = on;
    QFont f = m_normalFont;
    if (on) f.setPointSizeF(f.pointSizeF() * 1.45);
    // A talk needs the image, its exits and the network, in large type and
    // within the screen: the other docks step aside until the talk ends.
    if (on) {
        m_beforePresentation = saveState();
        for (const char* name : {"TradeoffDock", "GalleryDock", "HistogramDock", "DetailsDock"})
            if (auto* dock = findChild<QDockWidget*>(QLatin1String(name))) dock->hide();
    }
    setFont(f);
    m_inspector->setPresentationMode(on);
    if (!on) restoreState(m_beforePresentation);
    if (on) {
        m_inspectorDock->show();
        m_inspectorDock->raise();
        if (m_explorer->selectedSample() < 0) m_explorer->selectSample(0);
    }
}

void MainWindow::requestImagesForTrace() {
    const core::Trace* t = m_explorer->testTrace();
    if (!t) return;
    auto meta = [t](const char* key) {
        const auto it = t->metadata.find(key);
        return it == t->metadata.end() ? QString() : QString::fromStdString(it->second);
    };
    const QString dataset = m_datasetOverride.isEmpty() ? meta("dataset") : m_datasetOverride;
    if (dataset.isEmpty()) {
        showNotice(QStringLiteral("The test trace does not name its data set, so no images can be shown. "
                                  "Open one with File \u2192 Open Data Set."));
        return;
    }
    core::SplitKind split = core::SplitKind::Test;
    try {
        split = core::parseSplitKind(meta("split").toStdString());
    } catch (const std::exception&) {
        split = core::SplitKind::Test;
    }
    std::vector<std::pair<int64_t, int64_t>> expected;
    const int64_t step = std::max<int64_t>(1, t->numSamples / 64);
    for (int64_t n = 0; n < t->numSamples; n += step) {
        expected.emplace_back(t->sampleIndex[static_cast<std::size_t>(n)], t->labels[static_cast<std::size_t>(n)]);
    }
    m_images->setExpectedLabels(std::move(expected));
    // Image folders are converted to the model's input shape, as profiling did.
    std::array<int64_t, 3> shape{0, 0, 0};
    try {
        const core::ModelSpec spec = core::ModelSpec::fromJson(nlohmann::json::parse(meta("model_spec").toStdString()), "model_spec");
        shape = {spec.channels, spec.height, spec.width};
    } catch (const std::exception&) {
        // No or an unreadable spec: the default shape, as before such traces named one.
    }
    // A trace of corrupted images (profile --corrupt) shows them corrupted as the network saw them.
    m_images->setCorruption(meta("corruption"), meta("corruption_seed").toULongLong(), t->sampleIndex);
    m_images->request(dataset, split, meta("split_seed").toULongLong(), shape);
}

bool MainWindow::exportTunedConfig(const QString& path) {
    QString error;
    std::optional<core::ElasticSettings> elastic;
    if (m_elasticSettings) elastic = m_elasticSettings();
    if (!widgets::exportTunedConfig(*m_explorer, path, &error, elastic ? &*elastic : nullptr)) {
        reportError(error);
        return false;
    }
    reportDone(QStringLiteral("Wrote the tuned config %1").arg(path));
    return true;
}

bool MainWindow::exportOutcomesCsv(const QString& path) {
    QString error;
    if (!widgets::exportOutcomesCsv(*m_explorer, path, &error)) {
        reportError(error);
        return false;
    }
    reportDone(QStringLiteral("Wrote the per-image outcomes %1").arg(path));
    return true;
}

bool MainWindow::exportPlots(const QString& directory) {
    const QDir dir(directory);
    QString error;
    for (const QString& suffix : {QStringLiteral("png"), QStringLiteral("pdf")}) {
        const bool ok = m_tradeoff->savePlot(dir.filePath(QStringLiteral("tradeoff.") + suffix), &error) &&
                        m_histogram->savePlot(dir.filePath(QStringLiteral("exit-histogram.") + suffix), &error) &&
                        m_inspector->savePlot(dir.filePath(QStringLiteral("confidence-per-exit.") + suffix), &error) &&
                        std::all_of(m_plotExporters.begin(), m_plotExporters.end(),
                                    [&](const auto& save) { return save(directory, suffix, &error); });
        if (!ok) {
            reportError(error);
            return false;
        }
    }
    reportDone(QStringLiteral("Wrote every plot as PNG and PDF into %1").arg(directory));
    return true;
}

bool MainWindow::exportSummaryReport(const QString& path) {
    QString error;
    const QList<QPair<QString, QWidget*>> figures = {
        {QStringLiteral("Accuracy against cost"), m_tradeoff->plotWidget()},
        {QStringLiteral("Where the images leave"), m_histogram->plotWidget()},
    };
    if (!widgets::exportSummaryReport(*m_explorer, figures, path, &error)) {
        reportError(error);
        return false;
    }
    reportDone(QStringLiteral("Wrote the summary report %1").arg(path));
    return true;
}

} // namespace exitscope::app
