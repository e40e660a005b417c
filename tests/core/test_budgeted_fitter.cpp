// BudgetedBatchFitter (the explorer's slider fits) against a hand-worked
// case and against fitBudgetedBatch, the reference, on random confidences
// with many ties, for every budget from the first exit's cost to the whole
// network's.
#include "core/common/error.h"
#include "core/policy/budgeted.h"
#include "core/policy/budgeted_fitter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

namespace es = exitscope::core;

TEST(BudgetedBatchFitter, HandWorkedTwoExitFit) {
    // K = 2, budget halfway: fractions 1/2 and 1/2, so 2 of the 4 samples
    // leave at exit 0: the two most confident there (0.9 and 0.7).
    const std::vector<float> conf = {0.9f, 0.1f, 0.5f, 0.1f, 0.7f, 0.1f, 0.2f, 0.1f};
    const es::BudgetedBatchFitter fitter(conf, 4, {10, 20});
    const es::BudgetedBatchFit fit = fitter.fit(15.0);
    ASSERT_EQ(fit.thresholds.size(), 1u);
    EXPECT_EQ(fit.thresholds[0], 0.7f);
    EXPECT_NEAR(fit.exitFractions[0], 0.5, 1e-12);
    EXPECT_DOUBLE_EQ(fit.realisedValCost, (2 * 10 + 2 * 20) / 4.0);
    // The cheapest budget sends everyone out at exit 0 (theta = the least confident).
    EXPECT_EQ(fitter.fit(10.0).thresholds[0], 0.2f);
    EXPECT_DOUBLE_EQ(fitter.fit(10.0).realisedValCost, 10.0);
    // The whole network: exit 0 closed.
    EXPECT_EQ(fitter.fit(20.0).thresholds[0], es::closedExitThreshold());
    EXPECT_DOUBLE_EQ(fitter.fit(20.0).realisedValCost, 20.0);
}

TEST(BudgetedBatchFitter, AgreesWithTheReferenceFitForEveryBudget) {
    std::mt19937 rng(7);
    for (const auto& [N, K] : std::vector<std::pair<int64_t, int64_t>>{{1, 3}, {7, 2}, {300, 5}, {2000, 5}, {500, 32}, {50, 1}}) {
        std::vector<float> conf(static_cast<std::size_t>(N * K));
        // Confidences on a grid of 1/32, so that ties are everywhere.
        std::uniform_int_distribution<int> level(3, 32);
        for (float& c : conf) c = static_cast<float>(level(rng)) / 32.0f;
        std::vector<int64_t> macs;
        int64_t total = 0;
        for (int64_t k = 0; k < K; ++k) macs.push_back(total += 1000 + 37 * k * k);
        const es::BudgetedBatchFitter fitter(conf, N, macs);
        for (int i = 0; i <= 40; ++i) {
            const double budget = static_cast<double>(macs.front()) +
                                  (static_cast<double>(macs.back() - macs.front())) * i / 40.0;
            const es::BudgetedBatchFit want = es::fitBudgetedBatch(conf, N, macs, budget);
            const es::BudgetedBatchFit got = fitter.fit(budget);
            const std::string where = "N " + std::to_string(N) + ", K " + std::to_string(K) + ", budget " +
                                      std::to_string(budget);
            EXPECT_EQ(got.thresholds, want.thresholds) << where;
            EXPECT_EQ(got.exitFractions, want.exitFractions) << where;
            EXPECT_EQ(got.q, want.q) << where;
            EXPECT_NEAR(got.realisedValCost, want.realisedValCost, 1e-9 * want.realisedValCost) << where;
        }
    }
}

TEST(BudgetedBatchFitter, BadInputsAreNamedErrors) {
    auto message = [](auto&& f) {
        try {
            f();
        } catch (const es::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message([] { es::BudgetedBatchFitter({}, 0, {1, 2}); }).find("no samples"), std::string::npos);
    EXPECT_NE(message([] { es::BudgetedBatchFitter({0.5f, 0.5f, 0.5f}, 2, {1, 2}); }).find("3 confidences for 2 samples x 2 exits"),
              std::string::npos);
    EXPECT_NE(message([] { es::BudgetedBatchFitter({0.5f, NAN, 0.5f, 0.5f}, 2, {1, 2}); }).find("sample 0 at exit 1 is NaN"),
              std::string::npos);
    EXPECT_NE(message([] { es::BudgetedBatchFitter({0.5f, 0.5f}, 1, {2, 1}); }).find("cumulative"), std::string::npos);
    const es::BudgetedBatchFitter fitter({0.5f, 0.5f}, 1, {1, 2});
    EXPECT_NE(message([&] { fitter.fit(3.0); }).find("outside the feasible range"), std::string::npos);
    EXPECT_NE(message([&] { fitter.fit(NAN); }).find("outside the feasible range"), std::string::npos);
}
