#include "core/common/error.h"
#include "core/policy/confidence.h"

#include <gtest/gtest.h>

#include <cmath>

namespace es = exitscope::core;

namespace {

// Four samples, three exits, three classes.
es::Trace handBuiltTrace() {
    es::Trace t;
    t.numSamples = 4;
    t.numExits = 3;
    t.numClasses = 3;
    t.numBlocks = 3;
    t.probs = {
        0.6f, 0.3f, 0.1f,  0.4f, 0.4f, 0.2f,  0.9f, 0.05f, 0.05f,   // sample 0, label 0
        0.5f, 0.4f, 0.1f,  0.1f, 0.8f, 0.1f,  0.05f, 0.9f, 0.05f,   // sample 1, label 1
        0.2f, 0.2f, 0.6f,  0.3f, 0.5f, 0.2f,  0.1f, 0.1f, 0.8f,     // sample 2, label 2
        0.7f, 0.2f, 0.1f,  0.2f, 0.7f, 0.1f,  0.1f, 0.8f, 0.1f,     // sample 3, label 1
    };
    t.labels = {0, 1, 2, 1};
    t.sampleIndex = {0, 1, 2, 3};
    t.exitMacs = {100, 300, 1000};
    return t;
}

} // namespace

TEST(ConfidencePolicy, PerExitAccuracyMatchesHandCount) {
    // exit 0: s0 ok, s1 wrong, s2 ok, s3 wrong -> 2/4; exit 1: s0 tie -> class 0 ok, s1 ok, s2 wrong, s3 ok -> 3/4.
    const auto acc = es::perExitAccuracy(handBuiltTrace());
    ASSERT_EQ(acc.size(), 3u);
    EXPECT_DOUBLE_EQ(acc[0], 0.5);
    EXPECT_DOUBLE_EQ(acc[1], 0.75);
    EXPECT_DOUBLE_EQ(acc[2], 1.0);
    auto t = handBuiltTrace();
    t.labels[0] = 1;  // the tie at exit 1 goes to class 0, now wrong
    EXPECT_DOUBLE_EQ(es::perExitAccuracy(t)[1], 0.5);
}

TEST(ConfidencePolicy, EmptyTraceHasNoAccuracy) {
    auto t = handBuiltTrace();
    t.numSamples = 0;
    t.probs.clear();
    t.labels.clear();
    for (double a : es::perExitAccuracy(t)) EXPECT_TRUE(std::isnan(a));
}

TEST(ConfidencePolicy, FirstExitAboveItsThresholdAnswers) {
    const auto t = handBuiltTrace();
    // Threshold 0.55 at exits 0 and 1: s0 max 0.6 -> exit 0; s1 0.5, then 0.8 -> exit 1;
    // s2 0.6 -> exit 0; s3 0.7 -> exit 0.
    const auto out = es::applyConfidenceThresholds(t, {0.55f, 0.55f});
    EXPECT_EQ(out.exitTaken, (std::vector<int64_t>{0, 1, 0, 0}));
    EXPECT_EQ(out.prediction, (std::vector<int64_t>{0, 1, 2, 0}));
    EXPECT_DOUBLE_EQ(es::outcomeAccuracy(t, out), 0.75);
    EXPECT_DOUBLE_EQ(es::outcomeMeanMacs(t, out), (100 + 300 + 100 + 100) / 4.0);
    // Equal to the threshold is enough; the final exit always answers.
    const auto eq = es::applyConfidenceThresholds(t, {0.6f, 1.0f});
    EXPECT_EQ(eq.exitTaken, (std::vector<int64_t>{0, 2, 0, 0}));
    const auto none = es::applyConfidenceThresholds(t, {1.0f, 1.0f, 0.0f});  // K values: the last is ignored
    EXPECT_EQ(none.exitTaken, (std::vector<int64_t>{2, 2, 2, 2}));
}

TEST(ConfidencePolicy, BadThresholdsAreErrorsNamingTheValue) {
    const auto t = handBuiltTrace();
    EXPECT_THROW(es::applyConfidenceThresholds(t, {0.5f}), es::Error);
    try {
        es::applyConfidenceThresholds(t, {0.5f, 1.5f});
        FAIL();
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find("1.5"), std::string::npos);
    }
    EXPECT_THROW(es::applyConfidenceThresholds(t, {std::nanf(""), 0.5f}), es::Error);
    EXPECT_THROW(es::applyConfidenceThresholds(t, {-0.1f, 0.5f}), es::Error);
}
