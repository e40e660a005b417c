#pragma once

#include <QMainWindow>
#include <QString>

class QLabel;
class QStackedWidget;
class QTabWidget;

namespace exitscope::widgets {
class ModelSummary;
class TraceOverview;
}

namespace exitscope::app {

/// The ExitScope main window: the loaded model weights on top and one tab
/// per loaded trace below. Only wiring lives here; what is shown comes
/// from the widgets library. A file that fails to load leaves the window
/// as it was and its error goes to the status bar (and a message box when
/// popups are on).
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);

    /// Reads the spec of a checkpoint and shows it. False on failure; see lastError().
    bool openWeights(const QString& path);
    /// Reads a trace and shows it in its own tab (reloading the tab that
    /// already shows `path`). False on failure; see lastError().
    bool openTrace(const QString& path);
    /// Shows `text` in a banner above everything else (what is missing and
    /// how to make it, say); an empty text hides the banner.
    void showNotice(const QString& text);

    QString lastError() const { return m_lastError; }
    /// Whether errors also pop up a message box (off for batch runs such as --quit-after-load).
    void setErrorPopups(bool on) { m_errorPopups = on; }

private:
    void createMenus();
    void chooseWeights();
    void chooseTrace();
    void reportError(const QString& message);
    void updateCentralPage();

    widgets::ModelSummary* m_model;
    QLabel* m_banner;
    QStackedWidget* m_stack;
    QLabel* m_empty;
    QTabWidget* m_tabs;
    QString m_lastError;
    QString m_lastDir;
    bool m_errorPopups = true;
};

} // namespace exitscope::app
