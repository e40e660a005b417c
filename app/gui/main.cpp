#include "app/gui/default_assets.h"
#include "app/gui/main_window.h"
#include "app/gui/network_backend.h"
#include "app/gui/panels.h"
#include "app/gui/session.h"
#include "widgets/gallery/dataset_images.h"

#include <QApplication>
#include <QMessageBox>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QEvent>
#include <QPixmap>
#include <QStringList>
#include <QStatusBar>
#include <QTimer>

#include <time.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>

#include <cstdio>

namespace {

void printError(const QString& message) {
    std::fprintf(stderr, "exitscope: error: %s\n", qPrintable(message));
}

/// Milliseconds since this process started (the kernel's start time, 10 ms
/// resolution), so start-up figures include loading the shared libraries.
long long msSinceProcessStart() {
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    // Fields 3..21 come first; the start time is field 22, in clock ticks since boot.
    for (int i = 3; i < 22 && rest >> field;) ++i;
    unsigned long long startTicks = 0;
    if (!(rest >> startTicks)) return -1;
    timespec now{};
    clock_gettime(CLOCK_BOOTTIME, &now);
    const double nowMs = static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
    return static_cast<long long>(nowMs - 1e3 * static_cast<double>(startTicks) / static_cast<double>(sysconf(_SC_CLK_TCK)));
}

/// Notices the window's first painted frame (and, with --startup-time,
/// prints it and the moment the default model is fully shown, both from
/// process start).
class StartupReporter : public QObject {
public:
    explicit StartupReporter(bool print) : m_print(print) {}
    void setOnFirstFrame(std::function<void()> f) { m_onFirstFrame = std::move(f); }

    bool eventFilter(QObject* watched, QEvent* event) override {
        if (event->type() == QEvent::Paint && !m_painted) {
            m_painted = true;
            if (m_print) {
                std::printf("exitscope: first frame %lld ms after process start\n", msSinceProcessStart());
                std::fflush(stdout);
            }
            if (m_onFirstFrame) m_onFirstFrame();
        }
        return QObject::eventFilter(watched, event);
    }

    void modelShown() const {
        if (!m_print) return;
        std::printf("exitscope: model shown %lld ms after process start\n", msSinceProcessStart());
        std::fflush(stdout);
    }

private:
    bool m_print;
    bool m_painted = false;
    std::function<void()> m_onFirstFrame;
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
    StartupReporter reporter(parser.isSet(startupOption));
    window.installEventFilter(&reporter);
    window.statusBar()->showMessage(QStringLiteral("Loading the model and its traces..."));
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
    const QString sessionFile = exitscope::app::SessionAutosave::defaultFile();
    exitscope::app::SessionAutosave* autosave = nullptr;
    int status = 0;

    // Everything is loaded and shown: start autosaving, or, for batch runs,
    // take the picture and quit.
    auto finished = [&] {
        if (parser.isSet(presentationOption)) window.setPresentationMode(true);
        QApplication::processEvents();
        reporter.modelShown();
        if (!batch) {
            autosave = new exitscope::app::SessionAutosave(window, sessionFile);
            autosave->saveNow();
            window.statusBar()->showMessage(QStringLiteral("Ready"), 3000);
            return;
        }
        status = errors.isEmpty() ? 0 : 1;
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
            const QString file = parser.value(screenshotOption);
            if (!window.grab().save(file)) {
                errors << QStringLiteral("%1: cannot save the screenshot").arg(file);
                status = 1;
            }
        }
        for (const QString& error : errors) printError(error);
        QApplication::exit(status);
    };

    // The weights need the network plugin: opened once it has loaded, the
    // traces and the window meanwhile already on screen.
    QTimer backendWait;
    backendWait.setInterval(20);
    QObject::connect(&backendWait, &QTimer::timeout, &window, [&] {
        if (!exitscope::app::networkBackendReady()) return;
        backendWait.stop();
        if (!window.openWeights(weights)) errors << window.lastError();
        finished();
    });

    bool started = false;
    auto load = [&] {
        if (started) return;
        started = true;
        // After a crash (the autosaved session is still there) offer to bring
        // it back instead of the defaults; batch runs never touch the session.
        if (!batch && exitscope::app::SessionAutosave::hasUnfinishedSession(sessionFile) &&
            QMessageBox::question(&window, QStringLiteral("Restore the last session?"),
                                  QStringLiteral("ExitScope did not close normally last time. Open the files and "
                                                 "controls it had then?"),
                                  QMessageBox::Yes | QMessageBox::No, QMessageBox::Yes) == QMessageBox::Yes) {
            QString error;
            if (!exitscope::app::SessionAutosave::restore(window, sessionFile, &error)) window.reportError(error);
            finished();
            return;
        }
        for (const QString& trace : traces) {
            if (!window.openTrace(trace)) errors << window.lastError();
        }
        if (weights.isEmpty()) {
            finished();
        } else {
            window.statusBar()->showMessage(QStringLiteral("Loading the network library for %1...").arg(weights));
            backendWait.start();
        }
    };
    // Files load once the first frame is on screen (or after a moment where
    // no frame is painted, as on the offscreen platform).
    // LibTorch loads on a thread of its own from then on: not before, as the
    // loader's lock would hold up the Qt plugins the first frame needs.
    reporter.setOnFirstFrame([&] {
        exitscope::app::preloadNetworkBackend();
        QTimer::singleShot(0, &window, load);
    });
    QTimer::singleShot(300, &window, [&] {
        exitscope::app::preloadNetworkBackend();
        load();
    });

    const int result = app.exec();
    if (autosave) autosave->markCleanExit();
    exitscope::app::finishNetworkPreload();
    return batch ? status : result;
}
