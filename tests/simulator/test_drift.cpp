// The drifting request stream (issue 18) on a synthetic model whose right
// thresholds are known: exit 0 is sure (0.95) where it is right and, on clean
// data, hesitant (0.60) where it is wrong; on shifted data its wrong answers
// become confident (0.80). The final exit is always right.
#include "core/common/error.h"
#include "core/trace/trace.h"
#include "simulator/drift/drift.h"

#include <gtest/gtest.h>

using namespace exitscope;
using simulator::AdaptOptions;
using simulator::DriftOptions;

namespace {

// 2 exits, 2 classes, every label 0; a share `wrong` of the samples is wrong at exit 0 with `wrongConfidence`.
core::Trace syntheticTrace(int64_t n, double wrong, float wrongConfidence) {
    core::Trace t;
    t.numSamples = n;
    t.numExits = 2;
    t.numClasses = 2;
    t.numBlocks = 2;
    const auto wrongCount = static_cast<int64_t>(static_cast<double>(n) * wrong);
    for (int64_t i = 0; i < n; ++i) {
        // Wrong samples spread evenly, so every window sees the same share.
        const bool isWrong = (i * wrongCount) / n != ((i + 1) * wrongCount) / n;
        if (isWrong)
            t.probs.insert(t.probs.end(), {1 - wrongConfidence, wrongConfidence});
        else
            t.probs.insert(t.probs.end(), {0.95f, 0.05f});
        t.probs.insert(t.probs.end(), {0.99f, 0.01f});
        t.labels.push_back(0);
        t.sampleIndex.push_back(i);
    }
    t.exitBlock = {0, 1};
    t.exitMacs = {100, 400};
    t.exitParams = {10, 40};
    t.exitMs = {1, 4};
    t.headMacs = {1, 1};
    t.headParams = {1, 1};
    t.headMs = {0, 0};
    t.blockMacs = {99, 299};
    t.blockParams = {9, 29};
    t.blockMs = {1, 3};
    t.blockOutBytes = {64, 64};
    t.blockRelu = {1, 0};
    t.metadata["weights_hash"] = "h";
    t.validate("synthetic");
    return t;
}

} // namespace

TEST(Drift, FitsTheLowestThresholdThatHoldsTheBudget) {
    const auto grid = [] {
        std::vector<float> g;
        for (int i = 0; i <= 100; ++i) g.push_back(static_cast<float>(i) / 100);
        return g;
    }();
    // Clean: the 20% wrong answers score 0.60 and leave at any threshold up to 0.60; 0.61 keeps them.
    const auto clean = core::computeScores(syntheticTrace(1000, 0.2, 0.60f), core::ConfidenceCriterion::MaxSoftmax);
    EXPECT_FLOAT_EQ(simulator::fitThreshold(clean, grid, 0.01), 0.61f);
    // A budget of 25% tolerates them all: every sample may leave at exit 0.
    EXPECT_FLOAT_EQ(simulator::fitThreshold(clean, grid, 0.25), 0.0f);
    // Shifted: the wrong answers score 0.80, so 0.81 is the lowest threshold that holds 1%.
    const auto shifted = core::computeScores(syntheticTrace(1000, 0.3, 0.80f), core::ConfidenceCriterion::MaxSoftmax);
    EXPECT_FLOAT_EQ(simulator::fitThreshold(shifted, grid, 0.01), 0.81f);
    // The online signal (agreement with the final exit) needs no labels and says the same here.
    std::vector<std::pair<int, int64_t>> rows;
    for (int64_t i = 0; i < 1000; ++i) rows.emplace_back(0, i);
    EXPECT_FLOAT_EQ(simulator::fitThreshold(simulator::gatherScores({&shifted}, rows, true), grid, 0.01), 0.81f);
}

TEST(Drift, OnlineRefittingHoldsTheBudgetAfterAShiftWhereFixedThresholdsDoNot) {
    const auto val = syntheticTrace(1000, 0.2, 0.60f);
    const auto clean = syntheticTrace(1000, 0.2, 0.60f);
    const auto shifted = syntheticTrace(1000, 0.3, 0.80f);
    AdaptOptions adapt;
    adapt.share = 0.1;
    adapt.maxDrop = 0.01;
    adapt.window = 100;
    adapt.refitEvery = 10;
    DriftOptions options;
    options.numRequests = 8000;
    options.spanRequests = 1000;
    options.seed = 4;
    const auto report = simulator::simulateDrift(val, {{0, &clean}, {3, &shifted}},
                                                 simulator::parseDriftSchedule("0:0,2000:3"), adapt, options);
    EXPECT_FLOAT_EQ(report.fittedOnClean, 0.61f);
    ASSERT_EQ(report.policies.size(), 3u);
    const auto& fixed = report.policies[0];
    const auto& adaptive = report.policies[1];
    const auto& oracle = report.policies[2];
    ASSERT_EQ(fixed.spans.size(), 8u);
    // Before the shift every policy holds the budget; after it, fixed thresholds lose the wrong 30%.
    for (std::size_t s = 0; s < 2; ++s) EXPECT_LE(fixed.spans[s].drop, 0.01) << s;
    for (std::size_t s = 2; s < 8; ++s) EXPECT_NEAR(fixed.spans[s].drop, 0.30, 0.03) << s;
    EXPECT_EQ(fixed.spansOverBudget, 6);
    // The adaptive policy needs one window of full-network requests after the shift (about
    // 100 / 0.1 = 1,000 requests), then holds the budget, at the right threshold.
    for (std::size_t s = 4; s < 8; ++s) EXPECT_LE(adaptive.spans[s].drop, 0.01) << s;
    EXPECT_FLOAT_EQ(adaptive.spans.back().threshold, 0.81f);
    EXPECT_NEAR(adaptive.total.ranToEndShare, 0.1, 0.02);
    for (std::size_t s = 4; s < 8; ++s) EXPECT_LE(oracle.spans[s].drop, 0.01) << s;
    EXPECT_FLOAT_EQ(oracle.spans.back().threshold, 0.81f);
    EXPECT_EQ(oracle.total.ranToEndShare, 0.0);
    // What holding the budget costs: the wrong 30% now run to the end (MACs 400 instead of 100).
    EXPECT_GT(adaptive.spans.back().macsFraction, fixed.spans.back().macsFraction + 0.15);
}

TEST(Drift, BadSchedulesAndAdaptOptionsAreOneLineErrors) {
    for (const char* bad : {"", "1:0", "0:0,0:1", "0:0,500:6", "0:-1", "0:1.5", "x:1", "0:0,", "0"})
        EXPECT_THROW(simulator::parseDriftSchedule(bad), core::Error) << bad;
    for (const char* bad : {"share=0", "share=1.5", "max-drop=-0.1", "window=0", "refit=2.5", "speed=1", "share"})
        EXPECT_THROW(simulator::parseAdaptOptions(bad), core::Error) << bad;
    const auto a = simulator::parseAdaptOptions("share=0.2,max-drop=0.02,window=50,refit=5");
    EXPECT_DOUBLE_EQ(a.share, 0.2);
    EXPECT_EQ(a.window, 50);
    const auto val = syntheticTrace(100, 0.2, 0.6f);
    // A schedule reaching a severity that no trace has.
    EXPECT_THROW(simulator::simulateDrift(val, {{0, &val}}, simulator::parseDriftSchedule("0:0,10:2"), a, {}), core::Error);
}
