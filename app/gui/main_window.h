#pragma once

#include "core/elastic/elastic_config.h"

#include <QJsonValue>
#include <QMainWindow>

#include <functional>
#include <vector>
#include <optional>
#include <QString>
#include <QStringList>

class QAction;
class QDockWidget;
class QLabel;
class QMenu;
class QTabWidget;

namespace exitscope::widgets {
class ControlsPanel;
class DatasetImages;
class Explorer;
class ExitHistogram;
class GalleryView;
class ImageInspector;
class ModelSummary;
class TradeoffPlot;
}

namespace exitscope::app {

/// The ExitScope main window. Only wiring lives here (and in docks.cpp,
/// menus.cpp and file_open.cpp): the shared Explorer controller, the data
/// set images, and one dock per view (controls, trade-off plot, gallery,
/// image inspector, exit histogram, model and trace details) that the user
/// can move. A file that fails to load leaves the window as it was and its
/// error goes to the status bar (and a message box when popups are on).
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Reads the spec of a checkpoint and shows it. False on failure; see lastError().
    bool openWeights(const QString& path);
    /// Reads a trace: the explorer uses it (as validation or test trace by
    /// its split) and its details get a tab. False on failure; see lastError().
    bool openTrace(const QString& path);
    /// Shows the images of a data set (name, IDX or CIFAR-10 directory, image folder) for the traces.
    bool openDataset(const QString& nameOrPath);
    /// Applies a tuned config's policy; an error when it was tuned for another model.
    bool openTunedConfig(const QString& path);
    /// Opens any of the above, chosen by the file's kind; images are offered
    /// to imageDropped() for the live view.
    bool openPath(const QString& path);
    /// Shows `text` in a banner above everything else (what is missing and
    /// how to make it, say); an empty text hides the banner.
    void showNotice(const QString& text);

    QString lastError() const { return m_lastError; }
    /// Whether errors also pop up a message box (off for batch runs such as
    /// --quit-after-load); off also keeps the recent-files list untouched.
    void setErrorPopups(bool on) { m_errorPopups = on; }

    /// The controller every view listens to; connect new panels to its signals.
    widgets::Explorer* explorer() const { return m_explorer; }
    /// The Export menu, for panels that add entries to it.
    QMenu* exportMenu() const { return m_exportMenu; }
    /// The images of the loaded data set, for panels that show images.
    widgets::DatasetImages* images() const { return m_images; }
    /// The image inspector, for panels that show results of their own in it.
    widgets::ImageInspector* inspector() const { return m_inspector; }
    /// Puts `panel` into a new dock titled `title` in `area` (tabbed with a
    /// dock already there), adds it to the View menu and returns the dock.
    QDockWidget* addPanelDock(QWidget* panel, const QString& title, Qt::DockWidgetArea area,
                              const QString& objectName = {});

    /// Larger fonts and the step-by-step walk through one image's exits.
    void setPresentationMode(bool on);
    /// Restores the window size and dock arrangement the user left last time
    /// (QSettings); docks added later keep their default place.
    void restoreLayout();
    /// Takes the current arrangement as the default that Reset Layout
    /// restores; call once every dock exists (AnalysisPanels does).
    void takeDefaultLayout() { m_defaultState = saveState(); }
    /// View > Reset Layout: every dock back, docked, in the default arrangement.
    void resetLayout();
    /// The model weights last opened (absolute path), empty when none.
    QString weightsPath() const;

    /// One part of the autosaved session (app/gui/session.h) that a panel
    /// owns: `save` gives its settings as JSON, `restore` applies them after
    /// the session's files are open (false with a message naming the problem).
    struct SessionPart {
        QString key;
        std::function<QJsonValue()> save;
        std::function<bool(const QJsonValue&, QString*)> restore;
    };
    /// Adds a part; emit sessionPartChanged() when its settings change.
    void addSessionPart(SessionPart part) { m_sessionParts.push_back(std::move(part)); }
    const std::vector<SessionPart>& sessionParts() const { return m_sessionParts; }

    bool exportTunedConfig(const QString& path);
    bool exportOutcomesCsv(const QString& path);
    /// Writes every plot as PNG and PDF into `directory`.
    bool exportPlots(const QString& directory);
    bool exportSummaryReport(const QString& path);

    /// Shows an error in the status bar (and a message box when popups are on).
    void reportError(const QString& message);
    /// Shows a passing message in the status bar.
    void reportDone(const QString& message);
    /// Where an exported tuned config gets its "elastic" section from (the
    /// elastic panel); without it, or when it gives nothing, there is none.
    void setElasticSettingsSource(std::function<std::optional<core::ElasticSettings>()> source) {
        m_elasticSettings = std::move(source);
    }
    /// Adds plots to Export > Plots: `save(directory, suffix, error)` writes
    /// the panel's plots as `suffix` ("png" or "pdf") files into the folder.
    void addPlotExporter(std::function<bool(const QString& directory, const QString& suffix, QString* error)> save) {
        m_plotExporters.push_back(std::move(save));
    }
    /// The directory files were last opened from.
    QString lastDirectory() const { return m_lastDir; }

signals:
    /// An image file was dropped or opened; the live view may run it.
    void imageDropped(const QString& path);
    /// A tuned config was applied (panels read their own sections of it).
    void tunedConfigOpened(const QString& path);
    /// Model weights (a checkpoint or an imported model) were opened.
    void weightsOpened(const QString& absolutePath);
    /// A panel's part of the session changed (the autosave then saves it).
    void sessionPartChanged();

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

private:
    void createDocks();
    void createMenus();
    void createFileMenu();
    void createExportMenu();
    void rebuildRecentMenu();
    void rememberRecent(const QString& path);
    void chooseWeights();
    void chooseTrace();
    void chooseDataset();
    void chooseTunedConfig();
    void choosePlotExport(QWidget* plotOwner, const QString& name);
    void requestImagesForTrace();
    widgets::ModelSummary* modelSummary() const { return m_model; }

    widgets::Explorer* m_explorer;
    widgets::DatasetImages* m_images;
    widgets::ModelSummary* m_model = nullptr;
    QTabWidget* m_traceTabs = nullptr;
    widgets::ControlsPanel* m_controls = nullptr;
    widgets::TradeoffPlot* m_tradeoff = nullptr;
    widgets::GalleryView* m_gallery = nullptr;
    widgets::ImageInspector* m_inspector = nullptr;
    widgets::ExitHistogram* m_histogram = nullptr;
    QDockWidget* m_inspectorDock = nullptr;
    QLabel* m_banner = nullptr;
    QDockWidget* m_bannerDock = nullptr;
    QMenu* m_viewMenu = nullptr;
    QMenu* m_exportMenu = nullptr;
    QAction* m_presentationAction = nullptr;
    QMenu* m_recentMenu = nullptr;
    QString m_lastError;
    QString m_lastDir;
    QString m_datasetOverride;
    QByteArray m_defaultState;
    QByteArray m_beforePresentation;  // the layout presentation mode returns to
    bool m_presenting = false;
    std::vector<SessionPart> m_sessionParts;
    QFont m_normalFont;

    std::function<std::optional<core::ElasticSettings>()> m_elasticSettings;
    std::vector<std::function<bool(const QString&, const QString&, QString*)>> m_plotExporters;
    bool m_errorPopups = true;
};

} // namespace exitscope::app
