// The main window's wiring: opening, dropping and exporting files, and that
// a bad file leaves what is loaded untouched. Built from the app's sources
// (the app is no library), run offscreen.
#include "app/gui/main_window.h"
#include "core/config/tuned_config.h"
#include "core/trace/trace.h"
#include "tests/widgets/explorer_fixture.h"
#include "widgets/explorer/explorer.h"

#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QDropEvent>
#include <QFile>
#include <QLabel>
#include <QMimeData>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QUrl>

#include <gtest/gtest.h>

using exitscope::app::MainWindow;

namespace {

struct Files {
    QTemporaryDir dir;
    QString val, test, garbage;

    Files() {
        val = dir.filePath(QStringLiteral("hand-val.safetensors"));
        test = dir.filePath(QStringLiteral("hand-test.safetensors"));
        garbage = dir.filePath(QStringLiteral("garbage.safetensors"));
        exitscope::core::writeTrace(exitscope::test::explorerTrace("val"), val.toStdString());
        exitscope::core::writeTrace(exitscope::test::explorerTrace("test"), test.toStdString());
        QFile f(garbage);
        if (f.open(QIODevice::WriteOnly)) f.write("not a trace");
    }
};

void openBoth(MainWindow& w, const Files& files) {
    ASSERT_TRUE(w.openTrace(files.val)) << w.lastError().toStdString();
    ASSERT_TRUE(w.openTrace(files.test)) << w.lastError().toStdString();
}

} // namespace

TEST(MainWindow, OpensValAndTestTracesIntoTheExplorer) {
    Files files;
    MainWindow w;
    w.setErrorPopups(false);
    openBoth(w, files);
    ASSERT_TRUE(w.explorer()->hasData());
    EXPECT_NE(w.explorer()->valTrace(), nullptr);
    EXPECT_EQ(w.explorer()->testSource(), QFileInfo(files.test).absoluteFilePath());
}

TEST(MainWindow, ABadFileIsAnErrorAndChangesNothing) {
    Files files;
    MainWindow w;
    w.setErrorPopups(false);
    openBoth(w, files);
    w.explorer()->setThreshold(0.55f);
    const auto exits = w.explorer()->outcome().exitTaken;

    EXPECT_FALSE(w.openTrace(files.garbage));
    EXPECT_TRUE(w.lastError().contains(files.garbage)) << w.lastError().toStdString();
    EXPECT_FALSE(w.openWeights(files.garbage));
    EXPECT_FALSE(w.openPath(files.dir.filePath(QStringLiteral("notes.txt"))));
    EXPECT_TRUE(w.lastError().contains(QStringLiteral("not a file ExitScope opens")));

    // A config tuned for other weights.
    auto config = exitscope::core::makeTunedConfig(*w.explorer()->policyConfig(), *w.explorer()->valTrace());
    config.weightsHash = "abcdefabcdefabcd";
    const QString foreign = files.dir.filePath(QStringLiteral("foreign.json"));
    exitscope::core::saveConfig(config, foreign.toStdString());
    EXPECT_FALSE(w.openPath(foreign));
    EXPECT_TRUE(w.lastError().contains(QStringLiteral("abcdefabcdefabcd"))) << w.lastError().toStdString();

    EXPECT_EQ(w.explorer()->numSamples(), 4);
    EXPECT_FLOAT_EQ(w.explorer()->settings().threshold, 0.55f);
    EXPECT_EQ(w.explorer()->outcome().exitTaken, exits);
}

TEST(MainWindow, DroppedFilesOpenByKind) {
    Files files;
    MainWindow w;
    w.setErrorPopups(false);
    QMimeData mime;
    // The config comes first in the list but is applied after the traces.
    MainWindow exporter;
    exporter.setErrorPopups(false);
    openBoth(exporter, files);
    exporter.explorer()->setThreshold(0.55f);
    const QString config = files.dir.filePath(QStringLiteral("tuned.json"));
    ASSERT_TRUE(exporter.exportTunedConfig(config));
    mime.setUrls({QUrl::fromLocalFile(config), QUrl::fromLocalFile(files.val), QUrl::fromLocalFile(files.test)});
    // Qt delivers a drop to the widget that accepted the drag's entry.
    QMimeData text;
    text.setUrls({QUrl::fromLocalFile(files.dir.filePath(QStringLiteral("notes.txt")))});
    QDragEnterEvent refused(QPoint(10, 10), Qt::CopyAction, &text, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &refused);
    EXPECT_FALSE(refused.isAccepted());
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    EXPECT_TRUE(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &drop);
    ASSERT_TRUE(w.explorer()->hasData()) << w.lastError().toStdString();
    EXPECT_FLOAT_EQ(w.explorer()->settings().threshold, 0.55f);
    EXPECT_EQ(w.explorer()->outcome().exitTaken, (std::vector<int64_t>{0, 1, 0, 0}));
}

TEST(MainWindow, ExportsEveryPlotTheConfigAndTheReport) {
    Files files;
    MainWindow w;
    w.setErrorPopups(false);
    w.show();
    openBoth(w, files);
    QApplication::processEvents();
    const QDir out(files.dir.path());
    ASSERT_TRUE(w.exportPlots(out.path())) << w.lastError().toStdString();
    for (const char* name : {"tradeoff", "exit-histogram", "confidence-per-exit"}) {
        for (const char* suffix : {".png", ".pdf"}) {
            const QString file = out.filePath(QString::fromLatin1(name) + QString::fromLatin1(suffix));
            EXPECT_GT(QFileInfo(file).size(), 1000) << file.toStdString();
        }
    }
    EXPECT_TRUE(w.exportSummaryReport(out.filePath(QStringLiteral("report.pdf"))));
    EXPECT_TRUE(w.exportOutcomesCsv(out.filePath(QStringLiteral("outcomes.csv"))));
    w.explorer()->setPolicy(exitscope::widgets::PolicyChoice::Oracle);
    EXPECT_FALSE(w.exportTunedConfig(out.filePath(QStringLiteral("oracle.json"))));
    EXPECT_FALSE(QFileInfo::exists(out.filePath(QStringLiteral("oracle.json"))));
}

TEST(MainWindow, PanelsCanBeAddedAsDocks) {
    MainWindow w;
    auto* panel = new QLabel(QStringLiteral("extra"));
    QDockWidget* dock = w.addPanelDock(panel, QStringLiteral("Extra"), Qt::RightDockWidgetArea);
    ASSERT_NE(dock, nullptr);
    EXPECT_EQ(dock->widget(), panel);
    EXPECT_EQ(w.dockWidgetArea(dock), Qt::RightDockWidgetArea);
    EXPECT_EQ(dock->objectName(), QStringLiteral("Extra"));
}

TEST(MainWindow, OpenedFilesBecomeRecentOnlyOutsideBatchRuns) {
    Files files;
    {
        MainWindow batch;
        batch.setErrorPopups(false);
        ASSERT_TRUE(batch.openPath(files.test));
    }
    EXPECT_FALSE(QSettings().value(QStringLiteral("recentFiles")).toStringList().contains(
        QFileInfo(files.test).absoluteFilePath()));
    MainWindow w;
    ASSERT_TRUE(w.openPath(files.test));
    EXPECT_EQ(QSettings().value(QStringLiteral("recentFiles")).toStringList().value(0),
              QFileInfo(files.test).absoluteFilePath());
}

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    // Settings go to a scratch folder, never to the user's own.
    QTemporaryDir settingsDir;
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir.path());
    QCoreApplication::setOrganizationName(QStringLiteral("exitscope-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("exitscope-tests"));
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
