#include "core/common/error.h"
#include "core/policy/anytime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace es = exitscope::core;

namespace {

// Four samples (labels 0..3), three exits, four classes (chance 1/4).
// Predictions: exit 0 -> 0,1,0,0 (2/4 right); exit 1 -> 0,1,2,0 (3/4);
// exit 2 -> 0,1,2,3 (4/4).
es::Trace handTrace() {
    es::Trace t;
    t.numSamples = 4;
    t.numExits = 3;
    t.numClasses = 4;
    const int64_t pred[4][3] = {{0, 0, 0}, {1, 1, 1}, {0, 2, 2}, {0, 0, 3}};
    for (const auto& sample : pred)
        for (int64_t k = 0; k < 3; ++k)
            for (int64_t c = 0; c < 4; ++c) t.probs.push_back(c == sample[k] ? 0.7f : 0.1f);
    t.labels = {0, 1, 2, 3};
    t.exitMacs = {100, 300, 1000};
    t.exitMs = {1.0f, 2.5f, 6.0f};
    return t;
}

es::AnytimeProfile handProfile() {
    es::AnytimeProfile p;
    p.exitCost = {100, 300, 1000};
    p.exitAccuracy = {0.5, 0.75, 1.0};
    p.chanceAccuracy = 0.25;
    return p;
}

void expectMessageHas(const std::function<void()>& f, const std::string& part) {
    try {
        f();
        FAIL() << "no Error thrown";
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

} // namespace

TEST(Anytime, CurveInMacsStepsAtTheExitsCosts) {
    const auto p = es::anytimeProfile(handTrace(), es::BudgetUnit::Macs);
    EXPECT_DOUBLE_EQ(p.chanceAccuracy, 0.25);
    const auto curve = es::anytimeCurve(p, {0, 99, 100, 299, 300, 999, 1000, 1e12});
    const std::vector<double> want = {0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0, 1.0};
    ASSERT_EQ(curve.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(curve[i], want[i]) << "budget index " << i;
    EXPECT_EQ(es::anytimeExit(p, 50), -1);
    EXPECT_EQ(es::anytimeExit(p, 300), 1);
    EXPECT_EQ(es::anytimeExit(p, std::numeric_limits<double>::infinity()), 2);
}

TEST(Anytime, CurveInMillisecondsUsesTheMeasuredTimes) {
    const auto p = es::anytimeProfile(handTrace(), es::BudgetUnit::Milliseconds);
    const auto curve = es::anytimeCurve(p, {0.5, 1.0, 2.4, 2.5, 7.0});
    const std::vector<double> want = {0.25, 0.5, 0.5, 0.75, 1.0};
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(curve[i], want[i]) << "budget index " << i;
}

TEST(Anytime, ExpectedAccuracyForAFixedBudgetIsTheCurve) {
    const auto p = handProfile();
    EXPECT_DOUBLE_EQ(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::fixed(0)), 0.25);
    EXPECT_DOUBLE_EQ(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::fixed(299.9)), 0.5);
    EXPECT_DOUBLE_EQ(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::fixed(300)), 0.75);
    EXPECT_DOUBLE_EQ(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::fixed(5000)), 1.0);
    // A uniform of zero width is the same fixed budget.
    EXPECT_DOUBLE_EQ(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::uniform(300, 300)), 0.75);
}

TEST(Anytime, ExpectedAccuracyForUniformBudgets) {
    const auto p = handProfile();
    // U[0, 1000]: [0,100) chance 0.25 w.p. 0.1, [100,300) 0.5 w.p. 0.2,
    // [300,1000) 0.75 w.p. 0.7, exactly 1000 w.p. 0 -> 0.025 + 0.1 + 0.525.
    EXPECT_NEAR(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::uniform(0, 1000)), 0.65, 1e-12);
    // U[200, 600]: 0.5 w.p. 0.25, 0.75 w.p. 0.75 -> 0.6875.
    EXPECT_NEAR(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::uniform(200, 600)), 0.6875, 1e-12);
    // U[500, 2000]: 0.75 w.p. 1/3, 1.0 w.p. 2/3.
    EXPECT_NEAR(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::uniform(500, 2000)), 0.75 / 3 + 2.0 / 3, 1e-12);
}

TEST(Anytime, ExpectedAccuracyForExponentialAndNormalBudgets) {
    const auto p = handProfile();
    // Exponential, rate 1/500: P(B >= c) = exp(-c/500) at c = 100, 300, 1000,
    // each step adds 0.25: 0.25 + 0.25 * (0.8187307531 + 0.5488116361 + 0.1353352832).
    EXPECT_NEAR(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::exponential(1.0 / 500)),
                0.25 + 0.25 * (0.8187307531 + 0.5488116361 + 0.1353352832), 1e-9);
    // Normal(300, 100) truncated at 0: P(B >= c) = (1 - Phi((c-300)/100)) / Phi(3); from the
    // standard normal table Phi(2) = 0.9772498681, Phi(3) = 0.9986501020, Phi(0) = 0.5, and
    // 1 - Phi(7) ~ 1.3e-12 is negligible.
    const double phi3 = 0.9986501020;
    EXPECT_NEAR(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::normal(300, 100)),
                0.25 + 0.25 * (0.9772498681 / phi3 + 0.5 / phi3), 1e-9);
    // Truncation matters when much of the mass lies below 0: Normal(0, 100)
    // is then a half-normal, P(B >= 100) = 2 * (1 - Phi(1)) = 2 * 0.1586552539.
    es::AnytimeProfile one;
    one.exitCost = {100};
    one.exitAccuracy = {1.0};
    one.chanceAccuracy = 0.0;
    EXPECT_NEAR(es::expectedAnytimeAccuracy(one, es::BudgetDistribution::normal(0, 100)), 2 * 0.1586552539, 1e-9);
}

TEST(Anytime, DeepestFinishedExitWinsWhenTimesAreNotMonotone) {
    // Measured times can disagree with the exit order: exit 2 is done at 250.
    es::AnytimeProfile p = handProfile();
    p.exitCost = {100, 300, 250};
    EXPECT_EQ(es::anytimeExit(p, 260), 2);
    EXPECT_DOUBLE_EQ(es::anytimeAccuracy(p, 260), 1.0);
    EXPECT_DOUBLE_EQ(es::anytimeAccuracy(p, 200), 0.5);
    // U[0, 400]: chance w.p. 0.25, 0.5 w.p. 150/400, 1.0 w.p. 150/400.
    EXPECT_NEAR(es::expectedAnytimeAccuracy(p, es::BudgetDistribution::uniform(0, 400)),
                0.25 * 0.25 + 0.5 * 0.375 + 1.0 * 0.375, 1e-12);
}

TEST(Anytime, BadBudgetsAndDistributionsAreErrors) {
    const auto p = handProfile();
    expectMessageHas([&] { es::anytimeAccuracy(p, -5); }, "-5");
    EXPECT_THROW(es::anytimeAccuracy(p, std::nan("")), es::Error);
    expectMessageHas([] { es::BudgetDistribution::fixed(-1); }, "-1");
    EXPECT_THROW(es::BudgetDistribution::fixed(std::nan("")), es::Error);
    expectMessageHas([] { es::BudgetDistribution::uniform(5, 1); }, "[5, 1]");
    EXPECT_THROW(es::BudgetDistribution::uniform(-1, 1), es::Error);
    expectMessageHas([] { es::BudgetDistribution::normal(1, 0); }, "stddev 0");
    EXPECT_THROW(es::BudgetDistribution::normal(1, -2), es::Error);
    EXPECT_THROW(es::BudgetDistribution::normal(std::nan(""), 1), es::Error);
    EXPECT_THROW(es::BudgetDistribution::normal(-1e6, 1), es::Error);  // no mass above 0
    expectMessageHas([] { es::BudgetDistribution::exponential(0); }, "rate 0");
    EXPECT_THROW(es::BudgetDistribution::exponential(-1), es::Error);
    EXPECT_THROW(es::BudgetDistribution::exponential(std::numeric_limits<double>::infinity()), es::Error);
    es::Trace empty = handTrace();
    empty.numSamples = 0;
    empty.probs.clear();
    empty.labels.clear();
    EXPECT_THROW(es::anytimeProfile(empty, es::BudgetUnit::Macs), es::Error);
    es::Trace noMs = handTrace();
    noMs.exitMs.clear();
    EXPECT_THROW(es::anytimeProfile(noMs, es::BudgetUnit::Milliseconds), es::Error);
}
