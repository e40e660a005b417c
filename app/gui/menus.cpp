// The main window's menus: File (open, recent files), Edit (undo, redo,
// reset), View (docks, presentation mode) and Export.
#include "app/gui/main_window.h"

#include "widgets/explorer/exit_histogram.h"
#include "widgets/explorer/explorer.h"
#include "widgets/explorer/image_inspector.h"
#include "widgets/explorer/tradeoff_plot.h"

#include <QAction>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeySequence>
#include <QMenu>
#include <QMenuBar>
#include <QSettings>
#include <QUndoStack>

namespace exitscope::app {

namespace {

const QString kRecentKey = QStringLiteral("recentFiles");
constexpr int kMaxRecent = 10;

} // namespace

void MainWindow::createMenus() {
    createFileMenu();

    QMenu* edit = menuBar()->addMenu(QStringLiteral("&Edit"));
    QAction* undo = m_explorer->undoStack()->createUndoAction(this, QStringLiteral("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = m_explorer->undoStack()->createRedoAction(this, QStringLiteral("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    edit->addAction(QStringLiteral("Reset Controls to &Defaults"), m_explorer, &widgets::Explorer::resetToDefaults);

    m_viewMenu = menuBar()->addMenu(QStringLiteral("&View"));
    QAction* presentation = m_viewMenu->addAction(QStringLiteral("&Presentation Mode"));
    m_presentationAction = presentation;
    presentation->setCheckable(true);
    presentation->setShortcut(QKeySequence(Qt::Key_F5));
    presentation->setToolTip(QStringLiteral("Larger fonts and a step-by-step walk through one image's exits"));
    connect(presentation, &QAction::toggled, this, &MainWindow::setPresentationMode);
    m_viewMenu->addAction(QStringLiteral("Reset &Layout"), this, &MainWindow::resetLayout);
    m_viewMenu->addSeparator();
    for (QDockWidget* dock : findChildren<QDockWidget*>()) {
        if (dock != m_bannerDock) m_viewMenu->addAction(dock->toggleViewAction());
    }

    createExportMenu();
}

void MainWindow::createFileMenu() {
    QMenu* file = menuBar()->addMenu(QStringLiteral("&File"));
    QAction* openTrace = file->addAction(QStringLiteral("Open &Trace..."), this, &MainWindow::chooseTrace);
    openTrace->setShortcut(QKeySequence::Open);
    openTrace->setToolTip(QStringLiteral("A profiled trace (.safetensors): validation or test split"));
    QAction* openWeights = file->addAction(QStringLiteral("Open &Weights..."), this, &MainWindow::chooseWeights);
    openWeights->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    file->addAction(QStringLiteral("Open &Data Set..."), this, &MainWindow::chooseDataset);
    file->addAction(QStringLiteral("Open Tuned &Config..."), this, &MainWindow::chooseTunedConfig);
    m_recentMenu = file->addMenu(QStringLiteral("&Recent Files"));
    connect(m_recentMenu, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
    file->addSeparator();
    QAction* quit = file->addAction(QStringLiteral("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
}

void MainWindow::createExportMenu() {
    QMenu* menu = menuBar()->addMenu(QStringLiteral("E&xport"));
    m_exportMenu = menu;
    menu->addAction(QStringLiteral("Tuned &Config (JSON)..."), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, QStringLiteral("Export Tuned Config"), m_lastDir,
                                                          QStringLiteral("Tuned configs (*.json)"));
        if (!path.isEmpty()) exportTunedConfig(path);
    });
    menu->addAction(QStringLiteral("Per-Image &Outcomes (CSV)..."), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, QStringLiteral("Export Outcomes"), m_lastDir,
                                                          QStringLiteral("CSV files (*.csv)"));
        if (!path.isEmpty()) exportOutcomesCsv(path);
    });
    menu->addSeparator();
    menu->addAction(QStringLiteral("&Accuracy vs Cost Plot..."), this,
                    [this] { choosePlotExport(m_tradeoff, QStringLiteral("tradeoff")); });
    menu->addAction(QStringLiteral("Exit &Histogram..."), this,
                    [this] { choosePlotExport(m_histogram, QStringLiteral("exit-histogram")); });
    menu->addAction(QStringLiteral("Con&fidence per Exit Plot..."), this,
                    [this] { choosePlotExport(m_inspector, QStringLiteral("confidence-per-exit")); });
    menu->addAction(QStringLiteral("All &Plots (PNG and PDF) to Folder..."), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, QStringLiteral("Export All Plots"), m_lastDir);
        if (!dir.isEmpty()) exportPlots(dir);
    });
    menu->addSeparator();
    menu->addAction(QStringLiteral("&Summary Report (PNG or PDF)..."), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, QStringLiteral("Export Summary Report"), m_lastDir,
                                                          QStringLiteral("PNG image (*.png);;PDF document (*.pdf)"));
        if (!path.isEmpty()) exportSummaryReport(path);
    });
}

void MainWindow::choosePlotExport(QWidget* plotOwner, const QString& name) {
    const QString path = QFileDialog::getSaveFileName(this, QStringLiteral("Export Plot"),
                                                      m_lastDir + QLatin1Char('/') + name + QStringLiteral(".png"),
                                                      QStringLiteral("PNG image (*.png);;PDF document (*.pdf)"));
    if (path.isEmpty()) return;
    QString error;
    bool ok = false;
    if (plotOwner == m_tradeoff) ok = m_tradeoff->savePlot(path, &error);
    else if (plotOwner == m_histogram) ok = m_histogram->savePlot(path, &error);
    else ok = m_inspector->savePlot(path, &error);
    if (ok) reportDone(QStringLiteral("Wrote %1").arg(path));
    else reportError(error);
}

void MainWindow::rebuildRecentMenu() {
    m_recentMenu->clear();
    const QStringList recent = QSettings().value(kRecentKey).toStringList();
    for (const QString& path : recent) {
        m_recentMenu->addAction(QFileInfo(path).fileName() + QStringLiteral("  \u2014  ") + path, this,
                                [this, path] { openPath(path); });
    }
    if (recent.isEmpty()) m_recentMenu->addAction(QStringLiteral("(none yet)"))->setEnabled(false);
}

void MainWindow::rememberRecent(const QString& path) {
    if (!m_errorPopups) return;  // batch runs leave the user's list alone
    QSettings settings;
    QStringList recent = settings.value(kRecentKey).toStringList();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > kMaxRecent) recent.removeLast();
    settings.setValue(kRecentKey, recent);
}

void MainWindow::chooseWeights() {
    const QString path = QFileDialog::getOpenFileName(this, QStringLiteral("Open Weights"), m_lastDir,
                                                      QStringLiteral("ExitScope checkpoints (*.pt);;All files (*)"));
    if (!path.isEmpty() && openWeights(path)) rememberRecent(path);
}

void MainWindow::chooseTrace() {
    const QString path = QFileDialog::getOpenFileName(this, QStringLiteral("Open Trace"), m_lastDir,
                                                      QStringLiteral("Traces (*.safetensors);;All files (*)"));
    if (!path.isEmpty() && openTrace(path)) rememberRecent(path);
}

void MainWindow::chooseDataset() {
    const QString dir = QFileDialog::getExistingDirectory(
        this, QStringLiteral("Open Data Set (IDX files, CIFAR-10 binary batches or an image folder)"), m_lastDir);
    if (!dir.isEmpty() && openDataset(dir)) rememberRecent(dir);
}

void MainWindow::chooseTunedConfig() {
    const QString path = QFileDialog::getOpenFileName(this, QStringLiteral("Open Tuned Config"), m_lastDir,
                                                      QStringLiteral("Tuned configs (*.json);;All files (*)"));
    if (!path.isEmpty() && openTunedConfig(path)) rememberRecent(path);
}

} // namespace exitscope::app
