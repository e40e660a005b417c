#include "app/gui/default_assets.h"
#include "app/gui/main_window.h"
#include "app/gui/panels.h"
#include "app/gui/session.h"
#include "widgets/dataset_images.h"

#include <QApplication>
#include <QMessageBox>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QEvent>
#include <QPixmap>
#include <QStringList>
#include <QTimer>

#include <cstdio>

namespace {

void printError(const QString& message) {
    std::fprintf(stderr, "exitscope: error: %s\n", qPrintable(message));
}

/// Prints the time from the start of main() to the window's first paint,
/// the first frame the user can interact with (--startup-time).
class FirstFrameReporter : public QObject {
public:
    explicit FirstFrameReporter(const QElapsedTimer& clock) : m_clock(clock) {}

    bool eventFilter(QObject* watched, QEvent* event) override {
        if (event->type() == QEvent::Paint && !m_done) {
            m_done = true;
            std::printf("exitscope: first frame after %lld ms\n", static_cast<long long>(m_clock.elapsed()));
            std::fflush(stdout);
        }
        return QObject::eventFilter(watched, event);
    }

private:
    const QElapsedTimer& m_clock;
    bool m_done = false;
};

/// The command line: one definition for the window and for the text-only
/// answers (--help, --version) that must work without a display.
struct CommandLine {
    QCommandLineParser parser;
    const QCommandLineOption weightsOption{QStringLiteral("weights"), QStringLiteral("Open the model checkpoint FILE."),
                                           QStringLiteral("FILE")};
    const QCommandLineOption traceOption{QStringLiteral("trace"),
                                         QStringLiteral("Open the trace FILE (.safetensors); may be repeated."),
                                         QStringLiteral("FILE")};
    const QCommandLineOption quitOption{
        QStringLiteral("quit-after-load"),
        QStringLiteral("Quit once the files are loaded and the window is shown: exit status 0, or 1 with the "
                       "errors printed when something failed to load (for smoke tests).")};
    const QCommandLineOption screenshotOption{
        QStringLiteral("screenshot"),
        QStringLiteral("Save a picture of the window to FILE (.png) once it is shown, then quit (exit status as "
                       "for --quit-after-load, or 1 when the picture cannot be saved)."),
        QStringLiteral("FILE")};
    const QCommandLineOption startupOption{
        QStringLiteral("startup-time"),
        QStringLiteral("Print the milliseconds from process start to the window's first painted frame and to "
                       "the default model fully shown.")};
    const QCommandLineOption presentationOption{
        QStringLiteral("presentation"),
        QStringLiteral("Start in presentation mode: larger fonts and a step-by-step walk through one image's exits.")};

    CommandLine() {
        parser.setApplicationDescription(QStringLiteral(
            "ExitScope: explore early-exit neural networks. Without --weights or --trace it opens the bundled "
            "default model and its val and test traces (from $EXITSCOPE_ASSETS, the installed share/exitscope/assets, "
            "or the source tree's assets/); naming either opens only the files named."));
        parser.addHelpOption();
        parser.addVersionOption();
        parser.addOptions({weightsOption, traceOption, quitOption, screenshotOption, startupOption, presentationOption});
    }
};

void nameApplication() {
    QCoreApplication::setOrganizationName(QStringLiteral("exitscope"));
    QCoreApplication::setApplicationName(QStringLiteral("exitscope"));
    QCoreApplication::setApplicationVersion(QStringLiteral(EXITSCOPE_VERSION));
}

// --help and --version print text and quit: they need no window system.
bool onlyText(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const QLatin1String arg(argv[i]);
        if (arg == QLatin1String("--help") || arg == QLatin1String("-h") || arg == QLatin1String("-?") ||
            arg == QLatin1String("--help-all") || arg == QLatin1String("--version") || arg == QLatin1String("-v"))
            return true;
    }
    return false;
}

} // namespace

int main(int argc, char** argv) {
    if (onlyText(argc, argv)) {
        QCoreApplication text(argc, argv);
        nameApplication();
        CommandLine line;
        line.parser.process(text);  // prints and exits
        return 0;
    }
    QElapsedTimer clock;
    clock.start();
    QApplication app(argc, argv);
    nameApplication();
    CommandLine line;
    QCommandLineParser& parser = line.parser;
    const QCommandLineOption& weightsOption = line.weightsOption;
    const QCommandLineOption& traceOption = line.traceOption;
    const QCommandLineOption& quitOption = line.quitOption;
    const QCommandLineOption& screenshotOption = line.screenshotOption;
    const QCommandLineOption& startupOption = line.startupOption;
    const QCommandLineOption& presentationOption = line.presentationOption;
    parser.process(app);

    const bool batch = parser.isSet(quitOption) || parser.isSet(screenshotOption);
    exitscope::app::MainWindow window;
    new exitscope::app::AnalysisPanels(window);  // owned by the window
    window.setErrorPopups(!batch);
    if (!batch) window.restoreLayout();
    FirstFrameReporter reporter(clock);
    if (parser.isSet(startupOption)) window.installEventFilter(&reporter);
    window.show();

    QStringList errors;
    QString weights = parser.value(weightsOption);
    QStringList traces = parser.values(traceOption);
    if (!parser.isSet(weightsOption) && !parser.isSet(traceOption)) {
        const exitscope::app::DefaultAssets assets = exitscope::app::findDefaultAssets();
        weights = assets.missing.contains(assets.weights) ? QString() : assets.weights;
        traces.clear();
        for (const QString& trace : assets.traces) {
            if (!assets.missing.contains(trace)) traces << trace;
        }
        if (!assets.missing.isEmpty()) {
            window.showNotice(assets.missingMessage());
            errors << assets.missingMessage();
        }
    }
    // After a crash (the autosaved session is still there) offer to bring
    // it back instead of the defaults; batch runs never touch the session.
    const QString sessionFile = exitscope::app::SessionAutosave::defaultFile();
    bool restored = false;
    if (!batch && exitscope::app::SessionAutosave::hasUnfinishedSession(sessionFile) &&
        QMessageBox::question(&window, QStringLiteral("Restore the last session?"),
                              QStringLiteral("ExitScope did not close normally last time. Open the files and "
                                             "controls it had then?"),
                              QMessageBox::Yes | QMessageBox::No, QMessageBox::Yes) == QMessageBox::Yes) {
        QString error;
        restored = exitscope::app::SessionAutosave::restore(window, sessionFile, &error);
        if (!restored) window.reportError(error);
    }
    if (!restored) {
        if (!weights.isEmpty() && !window.openWeights(weights)) errors << window.lastError();
        for (const QString& trace : traces) {
            if (!window.openTrace(trace)) errors << window.lastError();
        }
    }

    if (parser.isSet(presentationOption)) window.setPresentationMode(true);
    if (!batch) {
        auto* autosave = new exitscope::app::SessionAutosave(window, sessionFile);
        autosave->saveNow();
        const int status = app.exec();
        autosave->markCleanExit();
        return status;
    }

    // Wait for the event loop so that layouts and the plots have settled
    // before the window is grabbed or reported as shown.
    int status = errors.isEmpty() ? 0 : 1;
    QTimer::singleShot(0, &window, [&] {
        QApplication::processEvents();
        if (parser.isSet(screenshotOption)) {
            // The picture should show the thumbnails, which load on a worker
            // thread; wait for them a little (not at all when they cannot come).
            QElapsedTimer wait;
            wait.start();
            while (window.images()->state() == exitscope::widgets::DatasetImages::State::Loading &&
                   wait.elapsed() < 15000) {
                QApplication::processEvents(QEventLoop::AllEvents, 50);
            }
            QApplication::processEvents();
        }
        if (parser.isSet(screenshotOption)) {
            const QString file = parser.value(screenshotOption);
            if (!window.grab().save(file)) {
                errors << QStringLiteral("%1: cannot save the screenshot").arg(file);
                status = 1;
            }
        }
        for (const QString& error : errors) printError(error);
        QApplication::exit(status);
    });
    return app.exec();
}
