// The app as one state: a live run under every policy the trace supports,
// the layout Reset Layout brings back, a session that restores the weights,
// the layout and the panels' settings, views that drop stale results, and a
// window that fits a laptop screen.
// LibTorch (through live_runner.h) before any Qt header.
#include "app/gui/live_runner.h"

#include "app/gui/main_window.h"
#include "app/gui/panels.h"
#include "app/gui/session.h"
#include "core/data/registry.h"
#include "core/trace/trace.h"
#include "widgets/event_timeline.h"
#include "widgets/explorer.h"
#include "widgets/gallery_model.h"
#include "widgets/gallery_view.h"
#include "widgets/network_view.h"
#include "widgets/split_panel.h"

#include <QDockWidget>
#include <QImage>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <gtest/gtest.h>

using exitscope::app::AnalysisPanels;
using exitscope::app::MainWindow;
using exitscope::app::SessionAutosave;

namespace {

const QString kAssets = QStringLiteral(EXITSCOPE_SOURCE_DIR "/assets/models/");

QDockWidget* dock(MainWindow& w, const char* name) { return w.findChild<QDockWidget*>(QLatin1String(name)); }

// A test image of the bundled data set written as a PNG, as a user would drop it.
QString writeTestImage(const QTemporaryDir& dir, int64_t index) {
    static const auto data = exitscope::core::loadDataset("fashion-mnist");
    const QImage image(data.testImages.image(static_cast<std::size_t>(index)), 28, 28, 28, QImage::Format_Grayscale8);
    const QString file = dir.filePath(QStringLiteral("image%1.png").arg(index));
    return image.save(file) ? file : QString();
}

void openBundled(MainWindow& w) {
    ASSERT_TRUE(w.openWeights(kAssets + QStringLiteral("msdnet-fashion-mnist.pt"))) << w.lastError().toStdString();
    ASSERT_TRUE(w.openTrace(kAssets + QStringLiteral("msdnet-fashion-mnist-val.safetensors")));
    ASSERT_TRUE(w.openTrace(kAssets + QStringLiteral("msdnet-fashion-mnist-test.safetensors")));
}

} // namespace

// Problem 3: an anytime budget in ms ran live only with exit times the app never handed over.
TEST(AppState, ALiveRunWithAnAnytimeBudgetInMsUsesTheTracesExitTimes) {
    MainWindow w;
    w.setErrorPopups(false);
    auto* panels = new AnalysisPanels(w);
    openBundled(w);
    auto* e = w.explorer();
    const auto* trace = e->testTrace();
    e->setPolicy(exitscope::widgets::PolicyChoice::Anytime);
    e->setAnytimeUnit(exitscope::core::BudgetUnit::Milliseconds);
    e->setAnytimeBudget(static_cast<double>(trace->exitMs[2]) * 1.001);
    ASSERT_EQ(e->decider()->fixedExit(), 2);
    QTemporaryDir dir;
    QSignalSpy ready(panels->liveRunner(), &exitscope::app::LiveRunner::pathReady);
    emit w.imageDropped(writeTestImage(dir, trace->sampleIndex[0]));
    ASSERT_TRUE(QTest::qWaitFor([&] { return ready.count() == 1; }, 20000)) << w.lastError().toStdString();
    const auto& path = panels->networkView()->path();
    EXPECT_TRUE(path.live);
    EXPECT_EQ(path.exitTaken, 2);
    EXPECT_EQ(path.exitsEvaluated, (std::vector<int64_t>{2}));  // a fixed exit runs only its own head
    // Problem 6: the live path answers for the policy it ran with; another policy shows the trace's path again.
    e->selectSample(0);
    emit w.imageDropped(writeTestImage(dir, trace->sampleIndex[0]));
    ASSERT_TRUE(QTest::qWaitFor([&] { return ready.count() == 2; }, 20000));
    ASSERT_TRUE(panels->networkView()->path().live);
    e->setPolicy(exitscope::widgets::PolicyChoice::Confidence);
    EXPECT_FALSE(panels->networkView()->path().live);
    EXPECT_EQ(panels->networkView()->path().exitTaken, e->outcome().exitTaken[0]);
}

// Problem 4: Reset Layout took its picture before the split and elastic docks existed.
TEST(AppState, ResetLayoutBringsBackEveryDockTabbed) {
    MainWindow w;
    w.setErrorPopups(false);
    new AnalysisPanels(w);
    w.resize(1280, 800);
    w.show();
    QDockWidget* network = dock(w, "NetworkDock");
    QDockWidget* split = dock(w, "SplitDock");
    QDockWidget* elastic = dock(w, "ElasticDock");
    ASSERT_TRUE(network && split && elastic);
    split->close();
    elastic->setFloating(true);
    dock(w, "GalleryDock")->close();
    w.resetLayout();
    for (QDockWidget* d : w.findChildren<QDockWidget*>()) {
        if (d->objectName() == QStringLiteral("BannerDock") || d->widget() == nullptr) continue;
        if (d->windowTitle().isEmpty()) continue;
        EXPECT_FALSE(d->isHidden()) << d->objectName().toStdString();
        EXPECT_FALSE(d->isFloating()) << d->objectName().toStdString();
    }
    const auto tabbed = w.tabifiedDockWidgets(network);
    EXPECT_TRUE(tabbed.contains(split));
    EXPECT_TRUE(tabbed.contains(elastic));
}

// Problem 5: the autosave kept "weights": "" (it started after they opened),
// no layout and no split or elastic settings; a live run failed after a restore.
TEST(AppState, ARestoredSessionBringsBackWeightsLayoutAndPanelsAndRunsLive) {
    QTemporaryDir dir;
    const QString session = dir.filePath(QStringLiteral("session.json"));
    {
        MainWindow w;
        w.setErrorPopups(false);
        auto* panels = new AnalysisPanels(w);
        openBundled(w);
        auto* autosave = new SessionAutosave(w, session);  // as main does: after the files
        panels->splitPanel()->setBandwidthMbps(3.5);
        panels->splitPanel()->setRttMs(42.0);
        dock(w, "HistogramDock")->close();
        w.explorer()->setThreshold(0.77f);
        ASSERT_TRUE(autosave->saveNow());
    }
    MainWindow w;
    w.setErrorPopups(false);
    auto* panels = new AnalysisPanels(w);
    w.show();
    QString error;
    ASSERT_TRUE(SessionAutosave::restore(w, session, &error)) << error.toStdString();
    EXPECT_EQ(w.weightsPath(), kAssets + QStringLiteral("msdnet-fashion-mnist.pt"));
    EXPECT_DOUBLE_EQ(panels->splitPanel()->bandwidthMbps(), 3.5);
    EXPECT_DOUBLE_EQ(panels->splitPanel()->conditions().link.rttMs, 42.0);
    EXPECT_TRUE(dock(w, "HistogramDock")->isHidden());
    EXPECT_FLOAT_EQ(w.explorer()->settings().threshold, 0.77f);
    QSignalSpy ready(panels->liveRunner(), &exitscope::app::LiveRunner::pathReady);
    QSignalSpy failed(panels->liveRunner(), &exitscope::app::LiveRunner::liveFailed);
    emit w.imageDropped(writeTestImage(dir, w.explorer()->testTrace()->sampleIndex[1]));
    ASSERT_TRUE(QTest::qWaitFor([&] { return ready.count() + failed.count() == 1; }, 20000));
    ASSERT_EQ(ready.count(), 1) << (failed.isEmpty() ? std::string() : failed.at(0).at(0).toString().toStdString());
    EXPECT_EQ(panels->networkView()->path().exitTaken, w.explorer()->outcome().exitTaken[1]);
}

// Problem 6: the gallery stayed on an exit that the new policy left empty;
// the event simulation kept showing a run of other settings without a word.
TEST(AppState, ViewsDropWhatANewPolicyOrNewSettingsMadeStale) {
    MainWindow w;
    w.setErrorPopups(false);
    auto* panels = new AnalysisPanels(w);
    openBundled(w);
    auto* e = w.explorer();
    auto* gallery = w.findChild<exitscope::widgets::GalleryView*>();
    ASSERT_NE(gallery, nullptr);
    e->setThreshold(0.5f);
    gallery->model()->setExitFilter(0);
    ASSERT_GT(gallery->model()->rowCount(), 0);
    e->selectSample(3);
    e->setPolicy(exitscope::widgets::PolicyChoice::Static);
    e->setStaticExit(e->numExits() - 1);  // nobody leaves at exit 0 now
    EXPECT_EQ(gallery->model()->exitFilter(), e->numExits() - 1);
    EXPECT_GT(gallery->model()->rowCount(), 0);

    auto* timeline = panels->timeline();
    timeline->setAutoRun(false);
    QSignalSpy done(timeline, &exitscope::widgets::EventTimeline::simulationFinished);
    timeline->run();
    ASSERT_TRUE(QTest::qWaitFor([&] { return done.count() == 1; }, 20000));
    EXPECT_FALSE(timeline->isStale());
    panels->splitPanel()->setBandwidthMbps(panels->splitPanel()->bandwidthMbps() * 2.0);
    EXPECT_TRUE(timeline->isStale());
}

// Problem 7: the window asked for 1048x1077, taller than a 1280x800 laptop screen.
TEST(AppState, TheWindowFitsALaptopScreen) {
    MainWindow w;
    w.setErrorPopups(false);
    new AnalysisPanels(w);
    openBundled(w);
    w.resize(1280, 800);
    w.show();
    QApplication::processEvents();
    const QSize min = w.minimumSizeHint().expandedTo(w.minimumSize());
    EXPECT_LE(min.width(), 1024) << min.width() << "x" << min.height();
    EXPECT_LE(min.height(), 700) << min.width() << "x" << min.height();
    w.setPresentationMode(true);
    QApplication::processEvents();
    const QSize presenting = w.minimumSizeHint().expandedTo(w.minimumSize());
    EXPECT_LE(presenting.height(), 800) << presenting.width() << "x" << presenting.height();
    EXPECT_LE(presenting.width(), 1280) << presenting.width() << "x" << presenting.height();
}
