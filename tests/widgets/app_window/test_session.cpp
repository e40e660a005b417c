// The autosaved session: what a crash leaves behind comes back, a clean
// exit leaves nothing, and a damaged session file changes nothing.
#include "app/gui/main_window.h"
#include "app/gui/session.h"
#include "core/trace/trace.h"
#include "tests/widgets/explorer_fixture.h"
#include "widgets/explorer/explorer.h"

#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

#include <gtest/gtest.h>

using exitscope::app::MainWindow;
using exitscope::app::SessionAutosave;

namespace {

struct SessionFiles {
    QTemporaryDir dir;
    QString val = dir.filePath(QStringLiteral("s-val.safetensors"));
    QString test = dir.filePath(QStringLiteral("s-test.safetensors"));
    QString session = dir.filePath(QStringLiteral("session.json"));
    SessionFiles() {
        exitscope::core::writeTrace(exitscope::test::explorerTrace("val"), val.toStdString());
        exitscope::core::writeTrace(exitscope::test::explorerTrace("test"), test.toStdString());
    }
};

} // namespace

TEST(SessionAutosave, ASessionLeftByACrashComesBackWithItsControls) {
    SessionFiles f;
    {
        MainWindow w;
        w.setErrorPopups(false);
        auto* autosave = new SessionAutosave(w, f.session);
        ASSERT_TRUE(w.openTrace(f.val));
        ASSERT_TRUE(w.openTrace(f.test));
        w.explorer()->setThreshold(0.42f);
        w.explorer()->selectSample(2);
        ASSERT_TRUE(autosave->saveNow());
        // The window goes away without markCleanExit: as after a crash.
    }
    ASSERT_TRUE(SessionAutosave::hasUnfinishedSession(f.session));
    MainWindow w;
    w.setErrorPopups(false);
    QString error;
    ASSERT_TRUE(SessionAutosave::restore(w, f.session, &error)) << error.toStdString();
    EXPECT_EQ(w.explorer()->testSource(), QFileInfo(f.test).absoluteFilePath());
    EXPECT_EQ(w.explorer()->valSource(), QFileInfo(f.val).absoluteFilePath());
    EXPECT_FLOAT_EQ(w.explorer()->settings().threshold, 0.42f);
    EXPECT_EQ(w.explorer()->selectedSample(), 2);
}

TEST(SessionAutosave, ACleanExitLeavesNothingToRestore) {
    SessionFiles f;
    MainWindow w;
    w.setErrorPopups(false);
    auto* autosave = new SessionAutosave(w, f.session);
    ASSERT_TRUE(w.openTrace(f.test));
    ASSERT_TRUE(autosave->saveNow());
    EXPECT_TRUE(SessionAutosave::hasUnfinishedSession(f.session));
    autosave->markCleanExit();
    EXPECT_FALSE(SessionAutosave::hasUnfinishedSession(f.session));
    EXPECT_FALSE(autosave->saveNow());  // nothing is written after the exit began
}

TEST(SessionAutosave, ADamagedSessionFileIsAnErrorAndChangesNothing) {
    SessionFiles f;
    for (const QByteArray& junk : {QByteArray("{\"schema\": 1, \"weights\""), QByteArray("[1, 2]"),
                                   QByteArray("{\"schema\": 7}"), QByteArray(2 << 20, ' ')}) {
        QFile out(f.session);
        ASSERT_TRUE(out.open(QIODevice::WriteOnly));
        out.write(junk);
        out.close();
        MainWindow w;
        w.setErrorPopups(false);
        QString error;
        EXPECT_FALSE(SessionAutosave::restore(w, f.session, &error));
        EXPECT_TRUE(error.startsWith(f.session)) << error.toStdString();
        EXPECT_FALSE(w.explorer()->hasData());
    }
}
