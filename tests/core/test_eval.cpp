#include "core/common/error.h"
#include "core/eval/metrics.h"
#include "core/eval/sweep.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

namespace es = exitscope::core;

namespace {

// Six samples, three exits, three classes. Only the fields metrics read are
// filled; the outcome is given directly.
es::Trace handTrace() {
    es::Trace t;
    t.numSamples = 6;
    t.numExits = 3;
    t.numClasses = 3;
    t.labels = {0, 1, 2, 0, 1, 2};
    t.exitMacs = {100, 300, 1000};
    t.exitParams = {10, 40, 100};
    t.exitMs = {1.0f, 2.0f, 5.0f};
    return t;
}

es::ExitOutcome handOutcome() {
    es::ExitOutcome o;
    o.exitTaken = {0, 0, 1, 2, 0, 1};
    o.prediction = {0, 1, 1, 0, 2, 2};  // right: s0, s1, s3, s5
    return o;
}

void expectMessageHas(const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
        f();
        FAIL() << "no Error thrown";
    } catch (const es::Error& e) {
        for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
}

// Hand list: p2, p4, p6, p7 are dominated (p7 duplicates p0).
std::vector<es::SweepPoint> handPoints() {
    return {{0.1, 0.60, 100}, {0.2, 0.70, 200}, {0.3, 0.65, 250}, {0.4, 0.80, 300},
            {0.5, 0.80, 350}, {0.6, 0.90, 500}, {0.7, 0.55, 100}, {0.8, 0.60, 100}};
}

} // namespace

TEST(Metrics, NearestRankPercentileByHand) {
    const std::vector<std::pair<double, int64_t>> four = {{4, 1}, {2, 1}, {1, 1}, {3, 1}};
    EXPECT_EQ(es::nearestRankPercentile(four, 50), 2);  // rank ceil(2) = 2: the lower middle
    EXPECT_EQ(es::nearestRankPercentile(four, 25), 1);  // rank 1
    EXPECT_EQ(es::nearestRankPercentile(four, 26), 2);  // rank ceil(1.04) = 2
    EXPECT_EQ(es::nearestRankPercentile(four, 95), 4);  // rank ceil(3.8) = 4
    EXPECT_EQ(es::nearestRankPercentile(four, 0), 1);
    EXPECT_EQ(es::nearestRankPercentile(four, 100), 4);
    // Twenty values 1..20: p95 is rank 19 exactly.
    std::vector<std::pair<double, int64_t>> twenty;
    for (int v = 1; v <= 20; ++v) twenty.emplace_back(v, 1);
    EXPECT_EQ(es::nearestRankPercentile(twenty, 95), 19);
    // Counts: 5 x0, 2 x3, 1 x9 (n = 3 after the zero count).
    EXPECT_EQ(es::nearestRankPercentile({{5, 0}, {3, 2}, {9, 1}}, 50), 3);
    EXPECT_EQ(es::nearestRankPercentile({{5, 0}, {3, 2}, {9, 1}}, 95), 9);
    EXPECT_EQ(es::nearestRankPercentile({{1, 0}, {2, 3}}, 0), 2);
    EXPECT_TRUE(std::isnan(es::nearestRankPercentile({{1, 0}}, 50)));
    EXPECT_THROW(es::nearestRankPercentile(four, 101), es::Error);
    EXPECT_THROW(es::nearestRankPercentile({{1, -1}}, 50), es::Error);
}

TEST(Metrics, HandBuiltOutcome) {
    const auto m = es::evaluateOutcome(handTrace(), handOutcome());
    EXPECT_EQ(m.n, 6);
    EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6);
    // MACs per sample: 100, 100, 300, 1000, 100, 300 -> sorted 100 100 100 300 300 1000.
    EXPECT_DOUBLE_EQ(m.macs.mean, 1900.0 / 6);
    EXPECT_DOUBLE_EQ(m.macs.median, 100);  // rank ceil(3) = 3
    EXPECT_DOUBLE_EQ(m.macs.p95, 1000);    // rank ceil(5.7) = 6
    // Parameter fractions 0.1 0.1 0.1 0.4 0.4 1.0.
    EXPECT_NEAR(m.paramFraction.mean, 2.1 / 6, 1e-12);
    EXPECT_DOUBLE_EQ(m.paramFraction.median, 0.1);
    EXPECT_DOUBLE_EQ(m.paramFraction.p95, 1.0);
    // ms: 1 1 1 2 2 5.
    EXPECT_DOUBLE_EQ(m.ms.mean, 2.0);
    EXPECT_DOUBLE_EQ(m.ms.median, 1.0);
    EXPECT_DOUBLE_EQ(m.ms.p95, 5.0);
    EXPECT_EQ(m.exitHistogram, (std::vector<int64_t>{3, 2, 1}));
    // Exit 0: s0 right, s1 right, s4 wrong; exit 1: s2 wrong, s5 right; exit 2: s3 right.
    ASSERT_EQ(m.exitAccuracy.size(), 3u);
    EXPECT_DOUBLE_EQ(m.exitAccuracy[0], 2.0 / 3);
    EXPECT_DOUBLE_EQ(m.exitAccuracy[1], 0.5);
    EXPECT_DOUBLE_EQ(m.exitAccuracy[2], 1.0);
    const std::vector<std::vector<int64_t>> confusion = {{2, 0, 0}, {0, 1, 1}, {0, 1, 1}};
    EXPECT_EQ(m.confusion, confusion);
    // Class 0: exits 0 and 2; class 1: 0 and 0; class 2: 1 and 1.
    EXPECT_EQ(m.classMeanExit, (std::vector<double>{1.0, 0.0, 1.0}));
}

TEST(Metrics, JsonHasTheKeysTheCliPromises) {
    const auto j = es::toJson(es::evaluateOutcome(handTrace(), handOutcome()));
    EXPECT_EQ(j.at("n").get<int64_t>(), 6);
    EXPECT_DOUBLE_EQ(j.at("accuracy").get<double>(), 4.0 / 6);
    EXPECT_DOUBLE_EQ(j.at("mean_macs").get<double>(), 1900.0 / 6);
    EXPECT_DOUBLE_EQ(j.at("mean_ms").get<double>(), 2.0);
    EXPECT_EQ(j.at("exit_histogram").get<std::vector<int64_t>>(), (std::vector<int64_t>{3, 2, 1}));
    EXPECT_DOUBLE_EQ(j.at("p95_macs").get<double>(), 1000);
    EXPECT_EQ(j.at("confusion_matrix")[0].get<std::vector<int64_t>>(), (std::vector<int64_t>{2, 0, 0}));
    // An exit nobody left at has no accuracy: null, not NaN (which JSON lacks).
    auto o = handOutcome();
    o.exitTaken = {0, 0, 0, 0, 0, 0};
    const auto j2 = es::toJson(es::evaluateOutcome(handTrace(), o));
    EXPECT_TRUE(j2.at("exit_accuracy")[1].is_null());
    EXPECT_EQ(j2.at("exit_histogram").get<std::vector<int64_t>>(), (std::vector<int64_t>{6, 0, 0}));
}

TEST(Metrics, EmptyTraceAndMismatchedOutcomes) {
    auto t = handTrace();
    t.numSamples = 0;
    t.labels.clear();
    const auto m = es::evaluateOutcome(t, es::ExitOutcome{});
    EXPECT_EQ(m.n, 0);
    EXPECT_TRUE(std::isnan(m.accuracy));
    EXPECT_TRUE(std::isnan(m.macs.median));
    EXPECT_TRUE(es::toJson(m).at("accuracy").is_null());

    auto shortOutcome = handOutcome();
    shortOutcome.exitTaken.pop_back();
    EXPECT_THROW(es::evaluateOutcome(handTrace(), shortOutcome), es::Error);
    auto badExit = handOutcome();
    badExit.exitTaken[2] = 3;
    expectMessageHas([&] { es::evaluateOutcome(handTrace(), badExit); }, {"sample 2", "exit 3"});
    auto badClass = handOutcome();
    badClass.prediction[4] = -1;
    EXPECT_THROW(es::evaluateOutcome(handTrace(), badClass), es::Error);
    auto noParams = handTrace();
    noParams.exitParams.clear();
    expectMessageHas([&] { es::evaluateOutcome(noParams, handOutcome()); }, {"exit_params"});
}

TEST(Sweep, ParetoFrontOfAHandList) {
    const auto front = es::paretoFront(handPoints());
    ASSERT_EQ(front.size(), 4u);
    const std::vector<double> params = {0.1, 0.2, 0.4, 0.6};
    for (std::size_t i = 0; i < params.size(); ++i) EXPECT_DOUBLE_EQ(front[i].parameter, params[i]);
    EXPECT_TRUE(es::paretoFront({}).empty());
    auto withNaN = handPoints();
    withNaN[3].accuracy = std::nan("");
    expectMessageHas([&] { es::paretoFront(withNaN); }, {"point 3"});
}

TEST(Sweep, HighestAccuracyUnderABudget) {
    const auto points = handPoints();
    EXPECT_DOUBLE_EQ(es::bestUnderBudget(points, 320).parameter, 0.4);
    EXPECT_DOUBLE_EQ(es::bestUnderBudget(points, 350).parameter, 0.4);  // 0.80 at 300 beats 0.80 at 350
    EXPECT_DOUBLE_EQ(es::bestUnderBudget(points, 100).parameter, 0.1);  // the first of the identical pair
    EXPECT_DOUBLE_EQ(es::bestUnderBudget(points, 1e9).parameter, 0.6);
    expectMessageHas([&] { es::bestUnderBudget(points, 99); }, {"99", "100"});
    EXPECT_THROW(es::bestUnderBudget({}, 100), es::Error);
}

TEST(Sweep, LowestCostAtATargetAccuracy) {
    const auto points = handPoints();
    EXPECT_DOUBLE_EQ(es::cheapestAtAccuracy(points, 0.75).parameter, 0.4);
    EXPECT_DOUBLE_EQ(es::cheapestAtAccuracy(points, 0.80).parameter, 0.4);
    EXPECT_DOUBLE_EQ(es::cheapestAtAccuracy(points, 0.60).parameter, 0.1);
    EXPECT_DOUBLE_EQ(es::cheapestAtAccuracy(points, 0.50).parameter, 0.1);  // 0.60 beats 0.55 at cost 100
    EXPECT_DOUBLE_EQ(es::cheapestAtAccuracy(points, 0.90).parameter, 0.6);
    expectMessageHas([&] { es::cheapestAtAccuracy(points, 0.95); }, {"0.95", "0.9"});
    EXPECT_THROW(es::cheapestAtAccuracy(points, std::nan("")), es::Error);
}

TEST(Sweep, ParameterGridIsEvaluatedInOrder) {
    const auto points = es::sweepParameter({1, 2, 3}, [](double v) { return es::SweepPoint{v, v / 10, v * 100}; });
    ASSERT_EQ(points.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_DOUBLE_EQ(points[i].parameter, static_cast<double>(i + 1));
        EXPECT_DOUBLE_EQ(points[i].meanCost, 100.0 * static_cast<double>(i + 1));
    }
}
