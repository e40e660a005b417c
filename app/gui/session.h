#pragma once

#include <QObject>
#include <QString>

class QTimer;

namespace exitscope::app {

class MainWindow;

/// Autosaves the session (the weights and traces that are open, the
/// selected image, every control, each panel's part (split and elastic
/// settings, MainWindow::addSessionPart) and the dock layout) to a JSON file a moment after each
/// change, through QSaveFile, so a crash loses at most the last half second.
/// A clean exit removes the file (markCleanExit); a file still there at the
/// next start means the app did not exit cleanly, and main offers to
/// restore it.
class SessionAutosave : public QObject {
    Q_OBJECT

public:
    /// `file` empty: $EXITSCOPE_SESSION_FILE, else session.json in the
    /// app's data folder.
    explicit SessionAutosave(MainWindow& window, QString file = {});

    QString file() const { return m_file; }
    /// Writes the session now (also what the debounce timer does).
    bool saveNow();
    /// The app is exiting normally: no session to restore next time.
    void markCleanExit();

    /// Whether `file` holds a session left by a run that did not exit cleanly.
    static bool hasUnfinishedSession(const QString& file);
    /// Opens the session's files in `window` and applies its controls. False
    /// with `error` naming the file and the problem when it is unreadable or
    /// malformed (nothing is changed then) or a listed file fails to open
    /// (what did open stays open).
    static bool restore(MainWindow& window, const QString& file, QString* error);
    /// The default session file.
    static QString defaultFile();

private:
    void scheduleSave();

    MainWindow& m_window;
    QString m_file;
    QTimer* m_timer;
    bool m_enabled = true;
};

} // namespace exitscope::app
