#include "core/trace/trace.h"
#include "widgets/elastic/elastic_panel.h"
#include "widgets/common/job_runner.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QDoubleSpinBox>
#include <QFile>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

using exitscope::core::SearchMethod;
using exitscope::core::Trace;
using exitscope::widgets::ElasticPanel;

namespace {

// Three exits, three classes, four samples. Backbone 0.1, 0.1, 0.2 ms and
// heads 0.025, 0.025, 0.05 ms: with every branch run they finish at 0.125,
// 0.25 and 0.5 ms (the full time, the unit of deadlines given as
// fractions). Branch 1 alone finishes at 0.225 ms, branch 2 alone at 0.45.
// Every sample has confidence 0.5 at exit 0, 0.8 at exit 1 and 0.9 at
// exit 2, so the mean profile (predictor off) is exactly (0.5, 0.8, 0.9).
// Right (argmax == label) per exit:
//   s0 (label 0): yes yes yes     s1 (label 1): no  yes yes
//   s2 (label 2): yes no  yes     s3 (label 1): yes no  no
Trace elasticTrace() {
    Trace t;
    t.numSamples = 4;
    t.numExits = 3;
    t.numClasses = 3;
    t.numBlocks = 3;
    t.probs = {
        0.5f, 0.3f, 0.2f,   0.8f, 0.1f, 0.1f,   0.9f, 0.05f, 0.05f,
        0.5f, 0.3f, 0.2f,   0.1f, 0.8f, 0.1f,   0.05f, 0.9f, 0.05f,
        0.2f, 0.3f, 0.5f,   0.8f, 0.1f, 0.1f,   0.05f, 0.05f, 0.9f,
        0.3f, 0.5f, 0.2f,   0.1f, 0.1f, 0.8f,   0.9f, 0.05f, 0.05f,
    };
    t.labels = {0, 1, 2, 1};
    t.sampleIndex = {0, 1, 2, 3};
    t.exitMacs = {1'500'000, 4'000'000, 9'250'000};
    t.exitParams = {2'000, 5'500, 12'000};
    t.exitMs = {0.125f, 0.25f, 0.5f};
    t.exitBlock = {0, 1, 2};
    t.blockMacs = {1'000'000, 2'000'000, 5'000'000};
    t.blockParams = {1'000, 3'000, 6'000};
    t.blockMs = {0.1f, 0.1f, 0.2f};
    t.blockOutBytes = {4096, 2048, 1024};
    t.blockRelu = {1, 1, 1};
    t.headMacs = {500'000, 500'000, 1'250'000};
    t.headParams = {1'000, 500, 1'000};
    t.headMs = {0.025f, 0.025f, 0.05f};
    t.metadata = {{"model", "toy"}, {"weights_hash", "0123456789abcdef"}};
    return t;
}

// A panel on the toy trace without the predictor: plans use the mean
// profile, known exactly, and nothing trains in the background.
struct MeanPanel {
    ElasticPanel panel;
    MeanPanel() {
        panel.setPredictorEnabled(false);
        const Trace t = elasticTrace();
        EXPECT_TRUE(panel.setTraces(t, t)) << panel.errorString().toStdString();
    }
};

constexpr double kTol = 1e-6;  // the trace's times are floats

} // namespace

TEST(ElasticPanel, FinishMarksSitAtEveryBranchFinishWithAllBranchesRun) {
    MeanPanel p;
    ASSERT_TRUE(p.panel.setDeadline(ElasticPanel::DeadlineKind::Fixed, 0.4));
    const auto marks = p.panel.finishMarksMs();
    ASSERT_EQ(marks.size(), 3u);
    EXPECT_NEAR(marks[0], 0.125, kTol);
    EXPECT_NEAR(marks[1], 0.25, kTol);
    EXPECT_NEAR(marks[2], 0.5, kTol);
    // Fractions are of the full time: 0.4 x 0.5 ms.
    EXPECT_NEAR(p.panel.distributionMs().mean(), 0.2, kTol);
}

TEST(ElasticPanel, DeadlineBeforeTheSecondBranchAnswersWithTheFirst) {
    MeanPanel p;
    // T = 0.2 ms: branch 1 finishes at 0.225 ms at the earliest (alone), so
    // only branch 0 (0.125 ms) can answer; running it is worth 0.5 > 1/3.
    ASSERT_TRUE(p.panel.setDeadline(ElasticPanel::DeadlineKind::Fixed, 0.4));
    p.panel.setSelectedSample(0);
    const auto& branches = p.panel.planBranches();
    ASSERT_EQ(branches.size(), 3u);
    EXPECT_TRUE(branches[0].run);
    EXPECT_NEAR(branches[0].startMs, 0.1, kTol);
    EXPECT_NEAR(branches[0].finishMs, 0.125, kTol);
    EXPECT_EQ(p.panel.answerAt(0.2), 0);
    EXPECT_EQ(p.panel.answerAt(0.1), -1);  // nothing finished yet: a guess
    EXPECT_TRUE(p.panel.planSummary().contains(QStringLiteral("answers with branch 0")))
        << p.panel.planSummary().toStdString();
}

TEST(ElasticPanel, PlannerSkipsTheFirstBranchWhenThatLetsTheSecondFinishInTime) {
    MeanPanel p;
    // T = 0.46 x 0.5 = 0.23 ms. Running branch 0 delays branch 1 to 0.25 ms
    // (too late: the answer is branch 0, worth 0.5); skipping it, branch 1
    // finishes at 0.225 ms and answers with 0.8. Sample 1: branch 1 is right.
    ASSERT_TRUE(p.panel.setDeadline(ElasticPanel::DeadlineKind::Fixed, 0.46));
    p.panel.setSelectedSample(1);
    const auto& branches = p.panel.planBranches();
    ASSERT_EQ(branches.size(), 3u);
    EXPECT_FALSE(branches[0].run);
    EXPECT_NEAR(branches[0].startMs, 0.1, kTol);  // the backbone passes exit point 0 at 0.1 ms
    EXPECT_TRUE(branches[1].run);
    EXPECT_NEAR(branches[1].startMs, 0.2, kTol);
    EXPECT_NEAR(branches[1].finishMs, 0.225, kTol);
    EXPECT_NEAR(branches[1].confidence, 0.8, kTol);
    EXPECT_TRUE(branches[1].correct);
    EXPECT_FALSE(branches[0].correct);  // sample 1's exit 0 predicts class 0
    EXPECT_EQ(p.panel.answerAt(0.23), 1);
    EXPECT_EQ(p.panel.answerAt(0.2), -1);
    EXPECT_EQ(p.panel.selectedRun().exits.front(), 1);

    // Out-of-range selections clear the plan.
    p.panel.setSelectedSample(4);
    EXPECT_TRUE(p.panel.planBranches().empty());
    EXPECT_EQ(p.panel.answerAt(1.0), -1);
}

TEST(ElasticPanel, BadDeadlineValuesAreRefusedAndKeepThePreviousSettings) {
    MeanPanel p;
    ASSERT_TRUE(p.panel.setDeadline(ElasticPanel::DeadlineKind::Uniform, 0.2, 1.0));
    QSignalSpy changed(&p.panel, &ElasticPanel::settingsChanged);
    const auto before = p.panel.settings();

    EXPECT_FALSE(p.panel.setDeadline(ElasticPanel::DeadlineKind::Uniform, 0.8, 0.3));  // high < low
    EXPECT_FALSE(p.panel.deadlineError().isEmpty());
    EXPECT_FALSE(p.panel.setDeadline(ElasticPanel::DeadlineKind::Normal, 0.5, 0.0));  // stddev 0
    EXPECT_FALSE(p.panel.setDeadline(ElasticPanel::DeadlineKind::Exponential, 0.0));  // mean 0
    EXPECT_FALSE(p.panel.setDeadline(ElasticPanel::DeadlineKind::Fixed, -0.1));
    EXPECT_FALSE(p.panel.setDeadlineSpec(QStringLiteral("sometimes:3")));

    // The number boxes go through the same check.
    auto* a = p.panel.findChild<QDoubleSpinBox*>(QStringLiteral("deadlineA"));
    ASSERT_NE(a, nullptr);
    a->setValue(1.5);  // "from 1.5 to 1.0"
    EXPECT_TRUE(p.panel.deadlineError().contains(QStringLiteral("uniform"))) << p.panel.deadlineError().toStdString();

    EXPECT_EQ(changed.count(), 0);
    const auto after = p.panel.settings();
    EXPECT_EQ(after.deadlineSpec, before.deadlineSpec);
    ASSERT_EQ(after.distributionMs.parameters().size(), 2u);
    EXPECT_NEAR(after.distributionMs.parameters()[0], 0.1, kTol);  // 0.2 x 0.5 ms
    EXPECT_NEAR(after.distributionMs.parameters()[1], 0.5, kTol);

    // A good value is accepted again and clears the message.
    a->setValue(0.6);
    EXPECT_TRUE(p.panel.deadlineError().isEmpty());
    EXPECT_EQ(changed.count(), 1);
    EXPECT_NEAR(p.panel.settings().distributionMs.parameters()[0], 0.3, kTol);
}

TEST(ElasticPanel, CsvDeadlinesLoadOrSayWhatIsWrongWithTheFile) {
    MeanPanel p;
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    const QString missing = dir.filePath(QStringLiteral("none.csv"));
    EXPECT_FALSE(p.panel.setDeadlineCsv(missing));
    EXPECT_TRUE(p.panel.deadlineError().contains(QStringLiteral("none.csv"))) << p.panel.deadlineError().toStdString();

    const QString bad = dir.filePath(QStringLiteral("bad.csv"));
    {
        QFile f(bad);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write("time\n0.1\nsoon\n");
    }
    EXPECT_FALSE(p.panel.setDeadlineCsv(bad));
    EXPECT_TRUE(p.panel.deadlineError().contains(QStringLiteral("bad.csv")));

    const QString good = dir.filePath(QStringLiteral("good.csv"));
    {
        QFile f(good);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write("ms\n0.1\n0.3\n");
    }
    ASSERT_TRUE(p.panel.setDeadlineCsv(good, true)) << p.panel.deadlineError().toStdString();
    EXPECT_EQ(p.panel.settings().deadlineUnit, "ms");
    EXPECT_NEAR(p.panel.distributionMs().mean(), 0.2, kTol);  // times in ms, not scaled
}

TEST(ElasticPanel, TableArrivesWithTheOracleOnTopAndThePredictorTrained) {
    ElasticPanel panel;  // predictor on: trained in the background first
    QSignalSpy trained(&panel, &ElasticPanel::predictorTrained);
    const Trace t = elasticTrace();
    ASSERT_TRUE(panel.setTraces(t, t));
    EXPECT_TRUE(panel.isTrainingPredictor());
    QTRY_VERIFY_WITH_TIMEOUT(panel.evaluation() != nullptr, 20000);
    ASSERT_EQ(trained.count(), 1);
    EXPECT_TRUE(trained.first().at(0).toString().isEmpty());
    EXPECT_TRUE(panel.hasTrainedPredictor());
    EXPECT_TRUE(panel.settings().predictor.isMlp());

    const auto* ev = panel.evaluation();
    EXPECT_EQ(ev->numSamples, 4);
    EXPECT_EQ(panel.table()->rowCount(), static_cast<int>(ev->rows.size()));
    const auto& oracle = ev->row("oracle");
    for (const auto& r : ev->rows) {
        EXPECT_GE(oracle.accuracy, r.accuracy - 1e-12) << r.key;
        EXPECT_GE(oracle.expectedAccuracy, r.expectedAccuracy - 1e-12) << r.key;
    }
    bool oracleShown = false;
    for (int i = 0; i < panel.table()->rowCount(); ++i)
        oracleShown |= panel.table()->item(i, 0)->data(Qt::UserRole).toString() == QStringLiteral("oracle");
    EXPECT_TRUE(oracleShown);
    ASSERT_TRUE(panel.settings().expectedTestAccuracy.has_value());
    EXPECT_EQ(*panel.settings().expectedTestAccuracy, ev->row("einet").expectedAccuracy);
}

TEST(ElasticPanel, NewerRequestReplacesAnOlderOne) {
    MeanPanel p;
    QSignalSpy finished(&p.panel, &ElasticPanel::evaluationFinished);
    // setTraces already queued one evaluation; two more changes follow at once.
    ASSERT_TRUE(p.panel.setDeadline(ElasticPanel::DeadlineKind::Fixed, 0.3));
    ASSERT_TRUE(p.panel.setDeadline(ElasticPanel::DeadlineKind::Fixed, 0.95));
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() >= 1, 20000);
    QTest::qWait(300);
    EXPECT_EQ(finished.count(), 1);
    const auto* ev = p.panel.evaluation();
    ASSERT_NE(ev, nullptr);
    EXPECT_NEAR(ev->meanForcedExitMs, 0.475, kTol);
    // T = 0.475 ms, worked by hand. Every branch run: branch 2 ends at
    // 0.5 ms, too late, so branch 1 answers: right for s0, s1 = 50%. The
    // final classifier alone ends at 0.45 ms: right for s0, s1, s2 = 75%.
    EXPECT_DOUBLE_EQ(ev->row("static-100").accuracy, 0.5);
    EXPECT_DOUBLE_EQ(ev->row("final-only").accuracy, 0.75);
}

TEST(ElasticPanel, SettingsCarryTheSearchAndTheDeadlineForTheConfig) {
    MeanPanel p;
    QSignalSpy changed(&p.panel, &ElasticPanel::settingsChanged);
    p.panel.setSearch(SearchMethod::Greedy, 2);
    ASSERT_TRUE(p.panel.setDeadlineSpec(QStringLiteral("normal:0.5,0.1")));
    EXPECT_EQ(changed.count(), 2);
    const auto s = p.panel.settings();
    EXPECT_EQ(s.method, SearchMethod::Greedy);
    EXPECT_EQ(s.search.enumerate, 2);
    EXPECT_EQ(s.deadlineSpec, "normal:0.5,0.1");
    EXPECT_EQ(s.deadlineUnit, "fraction");
    EXPECT_NEAR(s.fullMs, 0.5, kTol);
    EXPECT_NEAR(s.distributionMs.parameters()[0], 0.25, kTol);
    EXPECT_NEAR(s.distributionMs.parameters()[1], 0.05, kTol);
    EXPECT_FALSE(s.predictor.isMlp());  // predictor off: the mean profile
    EXPECT_EQ(s.predictor.means().size(), 3u);
}

TEST(ElasticPanel, TracesThatDisagreeAreRefused) {
    MeanPanel p;
    Trace other = elasticTrace();
    other.numExits = 2;
    EXPECT_FALSE(p.panel.setTraces(other, elasticTrace()));
    EXPECT_FALSE(p.panel.errorString().isEmpty());
    Trace noTiming = elasticTrace();
    noTiming.blockMs.clear();
    EXPECT_FALSE(p.panel.setTraces(noTiming, noTiming));
    EXPECT_NEAR(p.panel.profile().fullMs(), 0.5, kTol);  // the old traces stay
}

TEST(ElasticPanel, SwitchingThePredictorOnTrainsItInTheBackground) {
    MeanPanel p;
    EXPECT_FALSE(p.panel.isTrainingPredictor());
    p.panel.setPredictorEnabled(true);
    EXPECT_TRUE(p.panel.isTrainingPredictor());
    EXPECT_FALSE(p.panel.settings().predictor.isMlp());  // the mean profile until it is trained
    QTRY_VERIFY_WITH_TIMEOUT(p.panel.hasTrainedPredictor(), 20000);
    EXPECT_TRUE(p.panel.settings().predictor.isMlp());
    QTRY_VERIFY_WITH_TIMEOUT(p.panel.settings().expectedTestAccuracy.has_value(), 20000);
}

TEST(ElasticPanel, CancelDropsTheRunningEvaluation) {
    MeanPanel p;  // setTraces queued an evaluation
    QSignalSpy cancelled(p.panel.evaluationRunner(), &exitscope::widgets::JobRunner::cancelled);
    QSignalSpy finished(&p.panel, &ElasticPanel::evaluationFinished);
    p.panel.evaluationRunner()->cancel();
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 20000);
    EXPECT_EQ(finished.count(), 0);
    EXPECT_EQ(p.panel.evaluation(), nullptr);
}

TEST(ElasticPanel, BundledVggFineTracesPlanPerImageAndFillTheTable) {
    const QString assets = qEnvironmentVariable("EXITSCOPE_ASSETS", QStringLiteral(EXITSCOPE_SOURCE_DIR "/assets"));
    const QString stem = assets + QStringLiteral("/models/vgg-fine-fashion-mnist-");
    const Trace val = exitscope::core::readTrace((stem + QStringLiteral("val.safetensors")).toStdString());
    const Trace test = exitscope::core::readTrace((stem + QStringLiteral("test.safetensors")).toStdString());
    ElasticPanel panel;
    panel.resize(1100, 1000);
    panel.show();
    const QString dir = qEnvironmentVariable("EXITSCOPE_WIDGET_SHOTS");
    if (!dir.isEmpty()) {
        QTest::qWait(50);  // layout, then the queued replots at the panel's size
        panel.grab().save(QDir(dir).filePath(QStringLiteral("elastic_panel_empty.png")));
    }
    QElapsedTimer clock;
    clock.start();
    ASSERT_TRUE(panel.setTraces(val, test)) << panel.errorString().toStdString();
    const double setMs = static_cast<double>(clock.nsecsElapsed()) / 1e6;
    EXPECT_EQ(panel.finishMarksMs().size(), static_cast<std::size_t>(test.numExits));
    QTRY_VERIFY_WITH_TIMEOUT(panel.evaluation() != nullptr, 60000);
    const double tableMs = static_cast<double>(clock.nsecsElapsed()) / 1e6;
    const auto* ev = panel.evaluation();
    EXPECT_EQ(ev->numSamples, test.numSamples);
    for (const auto& r : ev->rows) EXPECT_GE(ev->row("oracle").accuracy, r.accuracy - 1e-12) << r.key;

    // Selecting an image re-plans it on the GUI thread and redraws the plan.
    std::vector<double> selectMs;
    for (int row = 0; row < 200; ++row) {
        QElapsedTimer one;
        one.start();
        panel.setSelectedSample(row * 37 % static_cast<int>(test.numSamples));
        QCoreApplication::processEvents();
        selectMs.push_back(static_cast<double>(one.nsecsElapsed()) / 1e6);
        ASSERT_EQ(panel.planBranches().size(), static_cast<std::size_t>(test.numExits));
    }
    std::sort(selectMs.begin(), selectMs.end());
    std::printf("elastic panel on the bundled vgg-fine traces (%lld exits, %lld test images): setTraces %.1f ms on "
                "the GUI thread; predictor trained and table evaluated %.0f ms after it (evaluation alone %.2f s); "
                "selecting an image (re-plan and redraw) median %.2f ms over 200\n",
                static_cast<long long>(test.numExits), static_cast<long long>(test.numSamples), setMs, tableMs,
                panel.lastEvaluationSeconds(), selectMs[selectMs.size() / 2]);
    EXPECT_LT(selectMs[selectMs.size() / 2], 50.0);

    // For the picture: an image whose plan has a wrong branch.
    for (int row = 0; row < 100; ++row) {
        panel.setSelectedSample(row);
        const auto& b = panel.planBranches();
        if (std::any_of(b.begin(), b.end(), [](const auto& x) { return x.run && !x.correct; })) break;
    }
    QCoreApplication::processEvents();
    if (!dir.isEmpty()) {
        panel.grab().save(QDir(dir).filePath(QStringLiteral("elastic_panel.png")));
        ASSERT_TRUE(panel.setDeadline(ElasticPanel::DeadlineKind::Fixed, 0.5));
        QTRY_VERIFY_WITH_TIMEOUT(panel.settings().expectedTestAccuracy.has_value(), 60000);
        QCoreApplication::processEvents();
        panel.grab().save(QDir(dir).filePath(QStringLiteral("elastic_panel_fixed.png")));
    }
}

TEST(ElasticPanel, SettingsRoundTripIntoAnotherPanelWithTheTrainedPredictor) {
    ElasticPanel from;
    const Trace t = elasticTrace();
    ASSERT_TRUE(from.setTraces(t, t));
    QTRY_VERIFY_WITH_TIMEOUT(from.hasTrainedPredictor(), 20000);
    from.setSearch(SearchMethod::Random, 3);
    ASSERT_TRUE(from.setDeadlineSpec(QStringLiteral("fixed:1.5"), QStringLiteral("ms")));
    const auto s = from.settings();

    MeanPanel to;
    ASSERT_TRUE(to.panel.applySettings(s)) << to.panel.deadlineError().toStdString();
    EXPECT_TRUE(to.panel.predictorEnabled());
    EXPECT_TRUE(to.panel.hasTrainedPredictor());
    EXPECT_FALSE(to.panel.isTrainingPredictor());
    const auto back = to.panel.settings();
    EXPECT_EQ(back.method, SearchMethod::Random);
    EXPECT_EQ(back.search.enumerate, 3);
    EXPECT_EQ(back.deadlineSpec, "fixed:1.5");
    EXPECT_EQ(back.deadlineUnit, "ms");
    EXPECT_DOUBLE_EQ(back.distributionMs.mean(), 1.5);  // in ms: not scaled by the full time
    EXPECT_EQ(back.predictor.toJson(), s.predictor.toJson());

    // A predictor for another number of exits is refused and changes nothing.
    auto other = s;
    other.deadlineSpec = "fixed:0.1";
    other.predictor = exitscope::core::ConfidencePredictor::meanProfile({0.5f, 0.5f}, 2);
    EXPECT_FALSE(to.panel.applySettings(other));
    EXPECT_EQ(to.panel.settings().deadlineSpec, "fixed:1.5");
}
