#include "core/trace/trace.h"
#include "simulator/platform/platform.h"
#include "widgets/split/event_timeline.h"
#include "widgets/split/split_panel.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSlider>
#include <QTest>

#include <gtest/gtest.h>

#include <cmath>

using exitscope::core::Trace;
using exitscope::simulator::Goal;
using exitscope::simulator::Platform;
using exitscope::widgets::EventTimeline;
using exitscope::widgets::SplitPanel;

namespace {

// Three blocks and exits, four samples, 8x8 gray inputs (64 bytes sent when
// nothing runs on the device). The final exit is always right; a global
// threshold t in (0.7, 0.8] also reaches 100%: sample 1 leaves at exit 1
// (confidence 0.8), the others go on to exit 2. Its cascade costs per
// sample, in profiling-machine ms: exit 1 = blocks 0.2 + heads 0.05 = 0.25,
// exit 2 = 0.4 + 0.1 = 0.5; mean (0.25 + 3 x 0.5) / 4 = 0.4375. Running
// only the final head costs 0.45, so the threshold design is the fastest
// with 100% accuracy on either side.
Trace splitTrace() {
    Trace t;
    t.numSamples = 4;
    t.numExits = 3;
    t.numClasses = 3;
    t.numBlocks = 3;
    t.probs = {
        0.6f, 0.3f, 0.1f,   0.4f, 0.4f, 0.2f,   0.9f, 0.05f, 0.05f,  // label 0
        0.5f, 0.4f, 0.1f,   0.1f, 0.8f, 0.1f,   0.05f, 0.9f, 0.05f,  // label 1
        0.2f, 0.2f, 0.6f,   0.3f, 0.5f, 0.2f,   0.1f, 0.1f, 0.8f,    // label 2
        0.7f, 0.2f, 0.1f,   0.2f, 0.7f, 0.1f,   0.1f, 0.8f, 0.1f,    // label 1
    };
    t.labels = {0, 1, 2, 1};
    t.sampleIndex = {0, 1, 2, 3};
    t.exitMacs = {1'500'000, 4'000'000, 9'250'000};
    t.exitParams = {2'000, 5'500, 12'345};
    t.exitMs = {0.125f, 0.25f, 0.5f};
    t.exitBlock = {0, 1, 2};
    t.blockMacs = {1'000'000, 2'000'000, 5'000'000};
    t.blockParams = {1'000, 3'000, 6'000};
    t.blockMs = {0.1f, 0.1f, 0.2f};
    t.blockOutBytes = {4096, 2048, 1024};
    t.blockRelu = {1, 1, 1};
    t.headMacs = {500'000, 500'000, 1'250'000};
    t.headParams = {1'000, 500, 345};
    t.headMs = {0.025f, 0.025f, 0.05f};
    t.metadata = {{"model", "toy"}, {"model_spec", R"({"input_shape":[1,8,8]})"}};
    return t;
}

} // namespace

TEST(SplitPanel, LogSliderReachesBothEndsExactlyAndMapsDecades) {
    EXPECT_EQ(SplitPanel::mbpsFromSlider(0), 0.1);
    EXPECT_EQ(SplitPanel::mbpsFromSlider(SplitPanel::kSliderSteps), 1000.0);
    EXPECT_EQ(SplitPanel::sliderFromMbps(0.1), 0);
    EXPECT_EQ(SplitPanel::sliderFromMbps(1000.0), SplitPanel::kSliderSteps);
    // One decade every quarter of the slider.
    EXPECT_EQ(SplitPanel::sliderFromMbps(1.0), 1000);
    EXPECT_EQ(SplitPanel::sliderFromMbps(10.0), 2000);
    EXPECT_EQ(SplitPanel::sliderFromMbps(100.0), 3000);
    EXPECT_NEAR(SplitPanel::mbpsFromSlider(2000), 10.0, 1e-12);
    EXPECT_NEAR(SplitPanel::mbpsFromSlider(1000), 1.0, 1e-12);
    // Beyond the ends: clamped.
    EXPECT_EQ(SplitPanel::sliderFromMbps(0.01), 0);
    EXPECT_EQ(SplitPanel::sliderFromMbps(5000.0), SplitPanel::kSliderSteps);

    SplitPanel panel;
    panel.setTrace(splitTrace());
    panel.bandwidthSlider()->setValue(SplitPanel::kSliderSteps);
    EXPECT_EQ(panel.bandwidthMbps(), 1000.0);
    panel.bandwidthSlider()->setValue(0);
    EXPECT_EQ(panel.bandwidthMbps(), 0.1);
    panel.bandwidthSlider()->setValue(3000);
    EXPECT_NEAR(panel.bandwidthMbps(), 100.0, 1e-9);
}

TEST(SplitPanel, TypedBandwidthOutsideTheRangeOrNotANumberIsRefused) {
    SplitPanel panel;
    ASSERT_TRUE(panel.setTrace(splitTrace())) << panel.errorString().toStdString();
    ASSERT_TRUE(panel.setBandwidthText(QStringLiteral("12.5")));
    EXPECT_EQ(panel.bandwidthMbps(), 12.5);
    EXPECT_EQ(panel.bandwidthSlider()->value(), 2097);  // round(1000 * (log10(12.5) + 1)) = round(2096.9)
    EXPECT_TRUE(panel.bandwidthError().isEmpty());
    for (const QString& bad : {QStringLiteral("abc"), QStringLiteral(""), QStringLiteral("0.05"), QStringLiteral("1000.5"),
                               QStringLiteral("-3"), QStringLiteral("nan"), QStringLiteral("inf"), QStringLiteral("12,5")}) {
        EXPECT_FALSE(panel.setBandwidthText(bad)) << bad.toStdString();
        EXPECT_EQ(panel.bandwidthMbps(), 12.5) << bad.toStdString();
        EXPECT_FALSE(panel.bandwidthError().isEmpty()) << bad.toStdString();
        EXPECT_EQ(panel.bandwidthEdit()->text(), QStringLiteral("12.5"));
    }
    // The same through the entry itself: typing and Return.
    panel.bandwidthEdit()->clear();
    QTest::keyClicks(panel.bandwidthEdit(), QStringLiteral("fast"));
    QTest::keyClick(panel.bandwidthEdit(), Qt::Key_Return);
    EXPECT_EQ(panel.bandwidthMbps(), 12.5);
    panel.bandwidthEdit()->clear();
    QTest::keyClicks(panel.bandwidthEdit(), QStringLiteral("1000"));
    QTest::keyClick(panel.bandwidthEdit(), Qt::Key_Return);
    EXPECT_EQ(panel.bandwidthMbps(), 1000.0);
    EXPECT_EQ(panel.bandwidthSlider()->value(), SplitPanel::kSliderSteps);
    EXPECT_TRUE(panel.bandwidthError().isEmpty());
}

TEST(SplitPanel, DeviceOnlyOnASlowLinkWithAFastDevice) {
    SplitPanel panel;
    QSignalSpy design(&panel, &SplitPanel::designChanged);
    ASSERT_TRUE(panel.setTrace(splitTrace()));
    panel.setGoal(Goal::lowestLatency(1.0));
    panel.setServer(Platform::withRelativeSpeed("server", 10.0));
    panel.setDevice(Platform::withRelativeSpeed("fast device", 10.0));
    panel.setRttMs(20.0);
    panel.setBandwidthMbps(0.1);
    ASSERT_TRUE(panel.plan().feasible) << panel.plan().explanation;
    EXPECT_EQ(panel.chosenBlocksOnDevice(), 3);
    EXPECT_NEAR(panel.plan().best.meanMs, 0.4375 / 10.0, 1e-6);
    EXPECT_DOUBLE_EQ(panel.plan().best.accuracy, 1.0);
    EXPECT_GT(panel.chosenThreshold(), 0.7);
    EXPECT_LE(panel.chosenThreshold(), 0.8);
    ASSERT_FALSE(design.isEmpty());
    EXPECT_EQ(design.last().at(0).toLongLong(), 3);
    // One bar per split point: server only, after blocks 0 and 1, device only.
    ASSERT_EQ(panel.bars().size(), 4u);
    EXPECT_EQ(panel.bars()[0].label, QStringLiteral("server only"));
    EXPECT_EQ(panel.bars()[3].label, QStringLiteral("device only"));
    EXPECT_NEAR(panel.bars()[3].deviceMs, 0.04375, 1e-6);
    EXPECT_EQ(panel.bars()[3].transferMs, 0.0);
    EXPECT_EQ(panel.bars()[3].meanBytes, 0.0);
    // Server only: 64 bytes at 0.1 Mbit/s = 5.12 ms, + 20 ms RTT + 4 reply bytes (0.32 ms).
    EXPECT_NEAR(panel.bars()[0].transferMs, 5.12 + 20.0 + 0.32, 1e-6);
    EXPECT_EQ(panel.bars()[0].meanBytes, 64.0);
}

TEST(SplitPanel, ServerOnlyOnAFastLinkWithASlowDevice) {
    SplitPanel panel;
    ASSERT_TRUE(panel.setTrace(splitTrace()));
    QSignalSpy design(&panel, &SplitPanel::designChanged);
    panel.setGoal(Goal::lowestLatency(1.0));
    panel.setServer(Platform::withRelativeSpeed("server", 10.0));
    panel.setDevice(Platform::withRelativeSpeed("slow device", 0.001));
    panel.setRttMs(1.0);
    panel.setBandwidthMbps(1000.0);
    ASSERT_TRUE(panel.plan().feasible) << panel.plan().explanation;
    EXPECT_EQ(panel.chosenBlocksOnDevice(), 0);
    // 64 B at 1000 Mbit/s = 0.000512 ms, RTT 1 ms, reply 0.000032 ms, server 0.4375 / 10.
    const double expected = 0.000512 + 1.0 + 0.000032 + 0.04375;
    EXPECT_NEAR(panel.plan().best.meanMs, expected, 1e-6);
    EXPECT_NEAR(panel.bars()[0].transferMs, 0.000512 + 1.0 + 0.000032, 1e-6);
    EXPECT_NEAR(panel.bars()[0].serverMs, 0.04375, 1e-6);
    EXPECT_EQ(panel.bars()[0].deviceMs, 0.0);
    ASSERT_FALSE(design.isEmpty());
    EXPECT_EQ(design.last().at(0).toLongLong(), 0);
    // Baselines: device only, server only, best split without early exits, fixed threshold.
    EXPECT_EQ(panel.plan().baselines.size(), 4u);
}

TEST(SplitPanel, AnImpossibleGoalExplainsItselfAndClearsTheDesign) {
    SplitPanel panel;
    ASSERT_TRUE(panel.setTrace(splitTrace()));
    QSignalSpy design(&panel, &SplitPanel::designChanged);
    panel.setGoal(Goal::highestAccuracy(1e-6));
    EXPECT_FALSE(panel.plan().feasible);
    EXPECT_FALSE(panel.plan().explanation.empty());
    EXPECT_EQ(panel.chosenBlocksOnDevice(), -1);
    ASSERT_FALSE(design.isEmpty());
    EXPECT_EQ(design.last().at(0).toLongLong(), -1);
    for (const auto& bar : panel.bars()) {
        EXPECT_FALSE(bar.feasible);
        EXPECT_FALSE(bar.note.isEmpty());
    }
}

TEST(SplitPanel, BundledTraceWithItsMeasuredSplitsReplansFast) {
    const QString assets = qEnvironmentVariable("EXITSCOPE_ASSETS", QStringLiteral(EXITSCOPE_SOURCE_DIR "/assets"));
    const Trace t =
        exitscope::core::readTrace((assets + QStringLiteral("/models/msdnet-fashion-mnist-test.safetensors")).toStdString());
    SplitPanel panel;
    panel.resize(1300, 720);
    ASSERT_TRUE(panel.setTrace(t, assets + QStringLiteral("/models/msdnet-fashion-mnist-splits.safetensors")));
    EXPECT_TRUE(panel.usesMeasuredSplits()) << panel.splitWarning().toStdString();
    ASSERT_TRUE(panel.setDevicePreset(QStringLiteral("raspberry-pi-class")));
    panel.show();
    std::vector<double> ms, handler;
    for (int v = 0; v <= SplitPanel::kSliderSteps; v += 40) {
        QElapsedTimer clock;
        clock.start();
        panel.bandwidthSlider()->setValue(v);
        QCoreApplication::processEvents();  // the queued replot of the chart
        handler.push_back(static_cast<double>(clock.nsecsElapsed()) / 1e6);
        ms.push_back(panel.lastReplanMs());
    }
    std::sort(ms.begin(), ms.end());
    std::sort(handler.begin(), handler.end());
    const double median = ms[ms.size() / 2];
    std::printf("split panel on the bundled msdnet trace, %zu slider moves: re-plan median %.3f ms; "
                "slider move with chart, table and repaint median %.3f ms\n",
                ms.size(), median, handler[handler.size() / 2]);
    EXPECT_LT(median, 5.0);
    panel.setBandwidthMbps(8.0);
    const QString dir = qEnvironmentVariable("EXITSCOPE_WIDGET_SHOTS");
    if (!dir.isEmpty()) panel.grab().save(QDir(dir).filePath(QStringLiteral("split_panel.png")));
}

TEST(SplitPanel, ATraceWithoutAnInputShapeIsRefusedAndTheOldOneStays) {
    SplitPanel panel;
    ASSERT_TRUE(panel.setTrace(splitTrace()));
    const auto before = panel.bars().size();
    Trace bad = splitTrace();
    bad.metadata.erase("model_spec");
    EXPECT_FALSE(panel.setTrace(bad));
    EXPECT_TRUE(panel.errorString().contains(QStringLiteral("model_spec"))) << panel.errorString().toStdString();
    EXPECT_TRUE(panel.hasTrace());
    EXPECT_EQ(panel.bars().size(), before);
}

TEST(SplitPanel, MeasuredSplitsOfOtherWeightsFallBackToTheEstimateWithAWarning) {
    const QString assets = qEnvironmentVariable("EXITSCOPE_ASSETS", QStringLiteral(EXITSCOPE_SOURCE_DIR "/assets"));
    const Trace t =
        exitscope::core::readTrace((assets + QStringLiteral("/models/msdnet-fashion-mnist-test.safetensors")).toStdString());
    SplitPanel panel;
    ASSERT_TRUE(panel.setTrace(t, assets + QStringLiteral("/models/vgg-fine-fashion-mnist-splits.safetensors")));
    EXPECT_FALSE(panel.usesMeasuredSplits());
    EXPECT_TRUE(panel.splitWarning().contains(QStringLiteral("vgg-fine-fashion-mnist-splits"))) << panel.splitWarning().toStdString();
    // The estimate: server only, a cut after each of the first four blocks (all ReLU), device only.
    ASSERT_EQ(panel.bars().size(), 6u);
    EXPECT_EQ(panel.bars()[0].label, QStringLiteral("server only"));
}

TEST(SplitPanel, PresetsComeFromThePlatformFiles) {
    SplitPanel panel;
    ASSERT_TRUE(panel.setTrace(splitTrace()));
    QSignalSpy changed(&panel, &SplitPanel::conditionsChanged);
    // assets/platforms/phone-class.json: relative_speed 0.5; gpu-server.json: gflops 200.
    ASSERT_TRUE(panel.setDevicePreset(QStringLiteral("phone-class")));
    ASSERT_TRUE(panel.setServerPreset(QStringLiteral("gpu-server")));
    const auto c = panel.conditions();
    EXPECT_EQ(c.device.speedModel, exitscope::simulator::SpeedModel::RelativeSpeed);
    EXPECT_EQ(c.device.relativeSpeed, 0.5);
    EXPECT_EQ(c.server.speedModel, exitscope::simulator::SpeedModel::Gflops);
    EXPECT_EQ(c.server.gflops, 200.0);
    EXPECT_FALSE(panel.setDevicePreset(QStringLiteral("no-such-board")));
    panel.setDeviceLoad(0.5);
    EXPECT_EQ(panel.conditions().device.load, 0.5);
    EXPECT_EQ(panel.conditions().device.relativeSpeed, 0.5);
    EXPECT_FALSE(changed.isEmpty());
}

TEST(EventTimeline, ReproducibleForASeedAndDifferentForAnother) {
    EventTimeline timeline;
    ASSERT_TRUE(timeline.setTrace(splitTrace())) << timeline.errorString().toStdString();
    exitscope::widgets::SplitConditions c;
    c.device = Platform::withRelativeSpeed("device", 1.0);
    c.server = Platform::withRelativeSpeed("server", 10.0);
    c.link.bandwidthMbps = 5.0;
    c.link.rttMs = 2.0;
    c.goal = Goal::lowestLatency(0.5);
    timeline.setConditions(c);
    EventTimeline::Settings s;
    s.arrivals = exitscope::simulator::ArrivalKind::Poisson;
    s.ratePerS = 200.0;
    s.numRequests = 300;
    s.seed = 11;
    s.schedule = EventTimeline::ScheduleKind::RandomWalk;
    timeline.setSettings(s);

    auto runOnce = [&]() {
        QSignalSpy done(&timeline, &EventTimeline::simulationFinished);
        timeline.run();
        EXPECT_TRUE(done.wait(10000));
        std::vector<double> arrivals, latencies;
        for (const auto& r : timeline.outcome()->result.requests) {
            arrivals.push_back(r.arrivalMs);
            latencies.push_back(r.latencyMs);
        }
        return std::make_pair(arrivals, latencies);
    };
    const auto first = runOnce();
    ASSERT_EQ(first.first.size(), 300u);
    // The walk starts at the link's bandwidth.
    ASSERT_FALSE(timeline.outcome()->bandwidth.empty());
    EXPECT_EQ(timeline.outcome()->bandwidth.front().mbps, 5.0);
    const auto again = runOnce();
    EXPECT_EQ(first, again);
    s.seed = 12;
    timeline.setSettings(s);
    const auto other = runOnce();
    EXPECT_NE(first.first, other.first);

    // An impossible goal fails the run with the scheduler's explanation.
    c.goal = Goal::highestAccuracy(1e-6);
    timeline.setConditions(c);
    QSignalSpy failed(&timeline, &EventTimeline::simulationFailed);
    timeline.run();
    ASSERT_TRUE(failed.wait(10000));
    EXPECT_FALSE(timeline.errorString().isEmpty());
    // What a person sees, on the bundled model (saved only when asked for).
    const QString dir = qEnvironmentVariable("EXITSCOPE_WIDGET_SHOTS");
    if (!dir.isEmpty()) {
        const QString assets = qEnvironmentVariable("EXITSCOPE_ASSETS", QStringLiteral(EXITSCOPE_SOURCE_DIR "/assets"));
        EventTimeline shown;
        shown.resize(1200, 460);
        ASSERT_TRUE(shown.setTrace(
            exitscope::core::readTrace((assets + QStringLiteral("/models/msdnet-fashion-mnist-test.safetensors")).toStdString()),
            assets + QStringLiteral("/models/msdnet-fashion-mnist-splits.safetensors")));
        c.device = Platform::withRelativeSpeed("slow board", 0.1);
        c.server = exitscope::simulator::loadPlatformSpec("gpu-server");
        c.link.bandwidthMbps = 2.0;
        c.link.rttMs = 5.0;
        c.goal = Goal::lowestLatency(0.9);
        shown.setConditions(c);
        s.numRequests = 3000;
        s.ratePerS = 40.0;
        s.seed = 3;
        s.walkSpread = 30.0;
        s.walkVolatility = 0.6;
        shown.setSettings(s);
        QSignalSpy done(&shown, &EventTimeline::simulationFinished);
        shown.run();
        ASSERT_TRUE(done.wait(20000)) << shown.errorString().toStdString();
        shown.grab().save(QDir(dir).filePath(QStringLiteral("event_timeline.png")));
    }
}
