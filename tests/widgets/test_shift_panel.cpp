// The shifted-data panel (issue 18): the current policy over traces of
// corrupted images, against answers worked out from the fixture by hand.
#include "core/trace/trace.h"
#include "tests/widgets/explorer_fixture.h"
#include "widgets/common/job_runner.h"
#include "widgets/explorer/explorer.h"
#include "widgets/shift/shift_panel.h"

#include <QFile>
#include <QSignalSpy>
#include <QTest>
#include <QTemporaryDir>
#include <gtest/gtest.h>

#include <cmath>

using exitscope::widgets::Explorer;
using exitscope::widgets::ShiftPanel;

namespace {

// The fixture's test trace as a trace of corrupted images at `severity`;
// `allWrong` makes every exit sure (1.0) of a wrong class.
QString corruptedCopy(const QTemporaryDir& dir, const std::string& corruption, bool allWrong,
                      const std::string& hash = {}) {
    auto t = exitscope::test::explorerTrace("test");
    t.metadata["corruption"] = corruption;
    if (!hash.empty()) t.metadata["weights_hash"] = hash;
    if (allWrong) {
        for (int64_t n = 0; n < t.numSamples; ++n)
            for (int64_t k = 0; k < t.numExits; ++k)
                for (int64_t c = 0; c < t.numClasses; ++c)
                    t.probs[static_cast<std::size_t>((n * t.numExits + k) * t.numClasses + c)] =
                        c == (t.labels[static_cast<std::size_t>(n)] + 1) % t.numClasses ? 1.0f : 0.0f;
    }
    const QString path = dir.filePath(QString::fromStdString(corruption).replace(QLatin1Char(':'), QLatin1Char('-')) +
                                      QStringLiteral(".safetensors"));
    exitscope::core::writeTrace(t, path.toStdString());
    return path;
}

} // namespace

TEST(ShiftPanel, ShowsTheCurrentPolicyAtEverySeverityAndFollowsIt) {
    Explorer e;
    e.setTraces(std::make_shared<exitscope::core::Trace>(exitscope::test::explorerTrace("val")),
                std::make_shared<exitscope::core::Trace>(exitscope::test::explorerTrace("test")));
    e.setThreshold(0.55f);
    ShiftPanel panel(&e);
    QTemporaryDir dir;
    const QString clean = dir.filePath(QStringLiteral("clean.safetensors"));
    exitscope::core::writeTrace(exitscope::test::explorerTrace("test"), clean.toStdString());
    ASSERT_TRUE(panel.addTrace(corruptedCopy(dir, "blur:4", true))) << panel.errorString().toStdString();
    ASSERT_TRUE(panel.addTrace(clean)) << panel.errorString().toStdString();
    EXPECT_EQ(panel.severities(), (std::vector<int>{0, 4}));
    EXPECT_EQ(panel.corruption(), QStringLiteral("blur"));
    // Clean, threshold 0.55 (fixture, by hand): s0 leaves at exit 0 (0.6, right), s1 at exit 1
    // (0.8, right), s2 at exit 0 (0.6, right), s3 at exit 0 (0.7, wrong): 3 of 4, MACs
    // (1.5 + 4 + 1.5 + 1.5) / 4 = 2.125 M of 9.25 M.
    EXPECT_DOUBLE_EQ(panel.accuracyAt(0), 0.75);
    EXPECT_NEAR(panel.macsShareAt(0), 2.125 / 9.25, 1e-12);
    // Severity 4: every exit sure of a wrong class: all leave at exit 0, none right.
    EXPECT_DOUBLE_EQ(panel.accuracyAt(4), 0.0);
    EXPECT_NEAR(panel.macsShareAt(4), 1.5 / 9.25, 1e-12);
    // The policy moves, the panel follows: at 0.85 no early exit is sure enough, every sample
    // runs to the final exit, which is right on all four.
    e.setThreshold(0.85f);
    EXPECT_DOUBLE_EQ(panel.accuracyAt(0), 1.0);
    EXPECT_NEAR(panel.macsShareAt(0), 1.0, 1e-12);
    EXPECT_DOUBLE_EQ(panel.accuracyAt(4), 0.0);
}

TEST(ShiftPanel, RefusesTracesThatDoNotBelongWithANamedReason) {
    Explorer e;
    e.setTraces(nullptr, std::make_shared<exitscope::core::Trace>(exitscope::test::explorerTrace("test")));
    ShiftPanel panel(&e);
    QTemporaryDir dir;
    ASSERT_TRUE(panel.addTrace(corruptedCopy(dir, "blur:2", false))) << panel.errorString().toStdString();
    EXPECT_FALSE(panel.addTrace(corruptedCopy(dir, "jpeg:3", false)));
    EXPECT_TRUE(panel.errorString().contains(QStringLiteral("a jpeg trace among blur ones"))) << panel.errorString().toStdString();
    const QString again = dir.filePath(QStringLiteral("again.safetensors"));
    QFile::copy(corruptedCopy(dir, "blur:2", true), again);
    EXPECT_FALSE(panel.addTrace(again));
    EXPECT_TRUE(panel.errorString().contains(QStringLiteral("severity 2 is already shown")));
    EXPECT_FALSE(panel.addTrace(corruptedCopy(dir, "blur:3", false, "0123456789abcdef")));
    EXPECT_TRUE(panel.errorString().contains(QStringLiteral("other weights")));
    EXPECT_FALSE(panel.addTrace(dir.filePath(QStringLiteral("missing.safetensors"))));
    EXPECT_TRUE(panel.errorString().contains(QStringLiteral("missing.safetensors")));
    EXPECT_EQ(panel.severities(), (std::vector<int>{2}));
    panel.clear();
    EXPECT_TRUE(panel.severities().empty());
}

TEST(ShiftPanel, SimulatesTheDriftOffTheGuiThreadAndRefusesBadInput) {
    Explorer e;
    e.setTraces(std::make_shared<exitscope::core::Trace>(exitscope::test::explorerTrace("val")),
                std::make_shared<exitscope::core::Trace>(exitscope::test::explorerTrace("test")));
    ShiftPanel panel(&e);
    QTemporaryDir dir;
    const QString clean = dir.filePath(QStringLiteral("clean.safetensors"));
    exitscope::core::writeTrace(exitscope::test::explorerTrace("test"), clean.toStdString());
    ASSERT_TRUE(panel.addTrace(clean));
    ASSERT_TRUE(panel.addTrace(corruptedCopy(dir, "blur:2", true)));
    EXPECT_EQ(panel.simulateDrift(QStringLiteral("0:0,200:3"), QStringLiteral("share=0.1"), 1000), 0u);
    EXPECT_TRUE(panel.errorString().contains(QStringLiteral("severity 3"))) << panel.errorString().toStdString();
    EXPECT_EQ(panel.simulateDrift(QStringLiteral("0:0,200:2"), QStringLiteral("share=2"), 1000), 0u);
    EXPECT_TRUE(panel.errorString().contains(QStringLiteral("share"))) << panel.errorString().toStdString();
    QSignalSpy done(panel.driftRunner(), &exitscope::widgets::JobRunner::finished);
    ASSERT_NE(panel.simulateDrift(QStringLiteral("0:0,200:2"), QStringLiteral("share=0.1,max-drop=0.01"), 1000), 0u);
    ASSERT_TRUE(QTest::qWaitFor([&] { return done.count() == 1; }, 20000));
    for (const char* policy : {"fixed: drop", "adaptive: drop", "oracle: drop"})
        EXPECT_TRUE(panel.driftSummary().contains(QString::fromLatin1(policy))) << panel.driftSummary().toStdString();
}
