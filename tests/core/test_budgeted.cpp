#include "core/common/error.h"
#include "core/policy/budgeted.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

namespace es = exitscope::core;

namespace {

const std::vector<int64_t> kMacs = {100, 200, 400};

void expectFractions(const std::vector<double>& got, const std::vector<double>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-12) << "exit " << k;
}

void expectMessageHas(const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
        f();
        FAIL() << "no Error thrown";
    } catch (const es::Error& e) {
        for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
}

// Two classes, so the max softmax of an exit is max(p, 1 - p); conf[n][k].
es::Trace twoClassTrace(const std::vector<std::vector<float>>& conf, const std::vector<int64_t>& macs) {
    es::Trace t;
    t.numSamples = static_cast<int64_t>(conf.size());
    t.numExits = static_cast<int64_t>(macs.size());
    t.numClasses = 2;
    for (const auto& row : conf)
        for (float c : row) {
            t.probs.push_back(c);
            t.probs.push_back(1.0f - c);
        }
    t.labels.assign(conf.size(), 0);
    t.exitMacs = macs;
    return t;
}

// N samples, C classes, K exits; each exit's top probability is uniform in
// [1/C, 1] (continuous, so no ties) and the rest share what is left.
es::Trace randomTrace(int64_t N, const std::vector<int64_t>& macs, unsigned seed) {
    es::Trace t;
    const int64_t K = static_cast<int64_t>(macs.size());
    const int64_t C = 10;
    t.numSamples = N;
    t.numExits = K;
    t.numClasses = C;
    t.exitMacs = macs;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> top(0.1f, 1.0f);
    std::uniform_int_distribution<int64_t> cls(0, C - 1);
    for (int64_t n = 0; n < N; ++n) {
        t.labels.push_back(cls(rng));
        for (int64_t k = 0; k < K; ++k) {
            const float p = top(rng);
            const int64_t winner = cls(rng);
            for (int64_t c = 0; c < C; ++c)
                t.probs.push_back(c == winner ? p : (1.0f - p) / static_cast<float>(C - 1) * 0.999f);
        }
    }
    return t;
}

} // namespace

TEST(BudgetedBatch, FractionsMatchTheClosedFormGeometricSum) {
    // K = 3, q = 0.5: z = 1 / (1 - 0.5^3) = 8/7, q_k = z * 0.5 * 0.5^k -> 4/7, 2/7, 1/7.
    expectFractions(es::budgetedExitFractions(0.5, 3), {4.0 / 7, 2.0 / 7, 1.0 / 7});
    // K = 4, q = 0.25: ratio 3/4, weights 64, 48, 36, 27 over 175.
    expectFractions(es::budgetedExitFractions(0.25, 4), {64.0 / 175, 48.0 / 175, 36.0 / 175, 27.0 / 175});
    // q = -1: ratio 2, weights 1, 2, 4 over 7 (mass towards the deep exits).
    expectFractions(es::budgetedExitFractions(-1.0, 3), {1.0 / 7, 2.0 / 7, 4.0 / 7});
}

TEST(BudgetedBatch, FractionsAtTheBoundariesHaveNoNaN) {
    expectFractions(es::budgetedExitFractions(1.0, 3), {1, 0, 0});
    expectFractions(es::budgetedExitFractions(0.0, 3), {1.0 / 3, 1.0 / 3, 1.0 / 3});
    expectFractions(es::budgetedExitFractions(1e-300, 3), {1.0 / 3, 1.0 / 3, 1.0 / 3});
    expectFractions(es::budgetedExitFractions(-1e-300, 3), {1.0 / 3, 1.0 / 3, 1.0 / 3});
    expectFractions(es::budgetedExitFractions(1.0 - 1e-16, 3), {1, 0, 0});
    expectFractions(es::budgetedExitFractions(-std::numeric_limits<double>::infinity(), 3), {0, 0, 1});
    expectFractions(es::budgetedExitFractions(-1e300, 3), {0, 0, 1});
    expectFractions(es::budgetedExitFractions(0.3, 1), {1});
    EXPECT_THROW(es::budgetedExitFractions(std::nan(""), 3), es::Error);
    EXPECT_THROW(es::budgetedExitFractions(1.5, 3), es::Error);
    EXPECT_THROW(es::budgetedExitFractions(0.5, 0), es::Error);
}

TEST(BudgetedBatch, SolvedQReproducesHandComputedBudgets) {
    // q = 0.5 -> (4*100 + 2*200 + 1*400) / 7 = 1200/7 MACs per sample.
    EXPECT_NEAR(es::solveBudgetedQ(kMacs, 1200.0 / 7), 0.5, 1e-9);
    // q = 0 -> the mean of the exit costs, 700/3.
    EXPECT_NEAR(es::solveBudgetedQ(kMacs, 700.0 / 3), 0.0, 1e-9);
    // q = -1 -> (1*100 + 2*200 + 4*400) / 7 = 300.
    EXPECT_NEAR(es::solveBudgetedQ(kMacs, 300.0), -1.0, 1e-9);
    EXPECT_DOUBLE_EQ(es::expectedExitCost(es::budgetedExitFractions(0.5, 3), kMacs), 1200.0 / 7);
}

TEST(BudgetedBatch, BudgetsAtTheEndsOfTheRangeAreExact) {
    EXPECT_EQ(es::solveBudgetedQ(kMacs, 100.0), 1.0);
    const double q = es::solveBudgetedQ(kMacs, 400.0);
    EXPECT_TRUE(std::isinf(q) && q < 0);
    // Just inside the ends, still finite and no NaN.
    const double nearFirst = es::solveBudgetedQ(kMacs, 100.0 + 1e-9);
    EXPECT_FALSE(std::isnan(nearFirst));
    EXPECT_NEAR(nearFirst, 1.0, 1e-6);
    const double nearLast = es::solveBudgetedQ(kMacs, 400.0 - 1e-6);
    EXPECT_FALSE(std::isnan(nearLast));
    EXPECT_LT(nearLast, -1e3);
    // Every exit costs the same: only that budget is feasible.
    EXPECT_EQ(es::solveBudgetedQ({50, 50}, 50.0), 1.0);
}

TEST(BudgetedBatch, BudgetOutsideTheRangeIsAnErrorNamingBudgetAndBounds) {
    expectMessageHas([] { es::solveBudgetedQ(kMacs, 99.0); }, {"99", "100", "400"});
    expectMessageHas([] { es::solveBudgetedQ(kMacs, 401.0); }, {"401", "100", "400"});
    EXPECT_THROW(es::solveBudgetedQ(kMacs, std::nan("")), es::Error);
    EXPECT_THROW(es::solveBudgetedQ({}, 100.0), es::Error);
    EXPECT_THROW(es::solveBudgetedQ({200, 100}, 150.0), es::Error);
    const auto t = twoClassTrace({{0.9f, 0.9f, 0.9f}}, kMacs);
    expectMessageHas([&] { es::fitBudgetedBatchTotal(t, 5000.0, 100); }, {"5000", "100", "50", "400"});
    EXPECT_THROW(es::fitBudgetedBatchTotal(t, 5000.0, 0), es::Error);
    es::Trace empty = twoClassTrace({}, kMacs);
    EXPECT_THROW(es::fitBudgetedBatch(empty, 200.0), es::Error);
}

TEST(BudgetedBatch, ThresholdsFittedOnAHandTrace) {
    // q = 0.5 (budget 1200/7): cumulative targets round(10 * 4/7) = 6 and
    // round(10 * 6/7) = 9. Exit 0 takes the 6 most confident (0.95 ... 0.70),
    // so theta_0 = 0.70. Left: s6, s7, s8, s9 with exit-1 confidences
    // 0.99, 0.60, 0.80, 0.70; the 3 most confident leave, theta_1 = 0.70;
    // s7 goes on to the last exit.
    const auto t = twoClassTrace({{0.95f, 0.5f, 0.5f},
                                  {0.75f, 0.5f, 0.5f},
                                  {0.90f, 0.5f, 0.5f},
                                  {0.80f, 0.5f, 0.5f},
                                  {0.70f, 0.5f, 0.5f},
                                  {0.85f, 0.5f, 0.5f},
                                  {0.65f, 0.99f, 0.5f},
                                  {0.60f, 0.60f, 0.5f},
                                  {0.55f, 0.80f, 0.5f},
                                  {0.52f, 0.70f, 0.5f}},
                                 kMacs);
    const auto fit = es::fitBudgetedBatch(t, 1200.0 / 7);
    EXPECT_NEAR(fit.q, 0.5, 1e-9);
    expectFractions(fit.exitFractions, {4.0 / 7, 2.0 / 7, 1.0 / 7});
    ASSERT_EQ(fit.thresholds.size(), 2u);
    EXPECT_EQ(fit.thresholds[0], 0.70f);
    EXPECT_EQ(fit.thresholds[1], 0.70f);
    EXPECT_DOUBLE_EQ(fit.budgetPerSample, 1200.0 / 7);
    EXPECT_DOUBLE_EQ(fit.realisedValCost, (6 * 100 + 3 * 200 + 1 * 400) / 10.0);
    const auto res = es::evaluateBudgetedBatch(t, fit);
    EXPECT_EQ(res.outcome.exitTaken, (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 1, 2, 1, 1}));
    EXPECT_DOUBLE_EQ(res.realisedCost, 160.0);
    EXPECT_DOUBLE_EQ(res.budgetPerSample, 1200.0 / 7);
}

TEST(BudgetedBatch, SamplesTiedWithTheThresholdLeaveTogether) {
    // Same targets (6, then 9), but the 6th and 7th confidences at exit 0 tie
    // at 0.7: both leave (7 at exit 0), so exit 1 only takes 9 - 7 = 2 of
    // s7, s8, s9 (0.60, 0.80, 0.70): theta_1 = 0.70 and s7 goes on.
    const auto t = twoClassTrace({{0.95f, 0.5f, 0.5f},
                                  {0.75f, 0.5f, 0.5f},
                                  {0.90f, 0.5f, 0.5f},
                                  {0.80f, 0.5f, 0.5f},
                                  {0.70f, 0.5f, 0.5f},
                                  {0.85f, 0.5f, 0.5f},
                                  {0.70f, 0.99f, 0.5f},
                                  {0.60f, 0.60f, 0.5f},
                                  {0.55f, 0.80f, 0.5f},
                                  {0.52f, 0.70f, 0.5f}},
                                 kMacs);
    const auto fit = es::fitBudgetedBatch(t, 1200.0 / 7);
    EXPECT_EQ(fit.thresholds[0], 0.70f);
    EXPECT_EQ(fit.thresholds[1], 0.70f);
    EXPECT_DOUBLE_EQ(fit.realisedValCost, (7 * 100 + 2 * 200 + 1 * 400) / 10.0);
    EXPECT_EQ(es::evaluateBudgetedBatch(t, fit).outcome.exitTaken,
              (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 0, 2, 1, 1}));
}

TEST(BudgetedBatch, ExtremeBudgetsSendEverythingToOneEnd) {
    const auto t = twoClassTrace({{0.9f, 0.9f, 0.9f}, {0.6f, 0.6f, 0.6f}, {0.7f, 0.7f, 0.7f}}, kMacs);
    const auto cheap = es::fitBudgetedBatch(t, 100.0);
    EXPECT_EQ(cheap.thresholds[0], 0.6f);  // the least confident still leaves at exit 0
    EXPECT_DOUBLE_EQ(cheap.realisedValCost, 100.0);
    const auto full = es::fitBudgetedBatch(t, 400.0);
    EXPECT_GT(full.thresholds[0], 1.0f);
    EXPECT_GT(full.thresholds[1], 1.0f);
    EXPECT_TRUE(std::isfinite(full.thresholds[0]));
    EXPECT_DOUBLE_EQ(full.realisedValCost, 400.0);
    // Even a sample with probability exactly 1 does not leave at a closed exit.
    const auto sure = twoClassTrace({{1.0f, 1.0f, 1.0f}}, kMacs);
    EXPECT_EQ(es::evaluateBudgetedBatch(sure, full).outcome.exitTaken, (std::vector<int64_t>{2}));
}

TEST(BudgetedBatch, RealisedValidationCostIsWithinTwoPercentOfTheBudget) {
    const std::vector<int64_t> macs = {100, 250, 450, 700, 1000};
    const auto val = randomTrace(4000, macs, 7);
    const auto test = randomTrace(4000, macs, 8);
    for (double budget : {120.0, 200.0, 300.0, 450.0, 600.0, 800.0, 950.0}) {
        const auto fit = es::fitBudgetedBatch(val, budget);
        EXPECT_NEAR(fit.realisedValCost, budget, 0.02 * budget) << "budget " << budget;
        // The test split comes from the same distribution, so its cost stays close too.
        const auto res = es::evaluateBudgetedBatch(test, fit);
        EXPECT_NEAR(res.realisedCost, budget, 0.05 * budget) << "budget " << budget;
    }
    // A total budget of B for N samples is the same as B / N per sample.
    const auto total = es::fitBudgetedBatchTotal(val, 300.0 * 2500, 2500);
    EXPECT_DOUBLE_EQ(total.budgetPerSample, 300.0);
    EXPECT_NEAR(total.realisedValCost, 300.0, 6.0);
}

TEST(BudgetedBatch, ThresholdCountMustMatchTheTrace) {
    const auto t = twoClassTrace({{0.9f, 0.9f, 0.9f}}, kMacs);
    es::BudgetedBatchFit fit;
    fit.thresholds = {0.5f};
    EXPECT_THROW(es::evaluateBudgetedBatch(t, fit), es::Error);
    fit.thresholds = {0.5f, std::nanf("")};
    EXPECT_THROW(es::evaluateBudgetedBatch(t, fit), es::Error);
}

TEST(BudgetedBatch, ScoresAndProbabilitiesGiveTheSameExits) {
    // Two passes that share no code: one over the probabilities, one over
    // precomputed max-softmax scores; budgets from the first exit's cost
    // (later exits closed) to the whole network's (early exits closed).
    const std::vector<int64_t> macs{1'000'000, 2'500'000, 4'000'000, 6'000'000};
    const auto val = randomTrace(400, macs, 3);
    const auto test = randomTrace(300, macs, 4);
    const auto scores = es::computeScores(test, es::ConfidenceCriterion::MaxSoftmax);
    for (double budget : {1.0e6, 1.7e6, 2.9e6, 4.4e6, 6.0e6}) {
        const auto fit = es::fitBudgetedBatch(val, budget);
        const auto fromProbs = es::evaluateBudgetedBatch(test, fit).outcome;
        const auto fromScores = es::evaluateBudgetedBatch(scores, fit);
        EXPECT_EQ(fromScores.exitTaken, fromProbs.exitTaken) << budget;
        EXPECT_EQ(fromScores.prediction, fromProbs.prediction) << budget;
    }
    EXPECT_THROW(es::evaluateBudgetedBatch(es::computeScores(test, es::ConfidenceCriterion::Margin),
                                           es::fitBudgetedBatch(val, 2e6)),
                 es::Error);
}
