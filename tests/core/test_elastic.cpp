#include "core/common/error.h"
#include "core/elastic/distribution.h"
#include "core/elastic/exec_profile.h"
#include "core/elastic/planner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace es = exitscope::core;

namespace {

// Three exits; the backbone takes 1 ms to each exit point and each branch
// 1 ms, so with every branch running they finish at 2, 4 and 6 ms.
es::ExecutionProfile handProfile() {
    es::ExecutionProfile p;
    p.backboneMs = {1, 1, 1};
    p.headMs = {1, 1, 1};
    p.chanceAccuracy = 0.1;
    return p;
}

const std::vector<double> kConf = {0.5, 0.7, 0.9};

double expected(const es::ForcedExitDistribution& d, es::ExitMask plan, const es::PlanState& state) {
    return es::expectedAccuracy(handProfile(), d, kConf.data(), plan, state);
}

double expected(const es::ForcedExitDistribution& d, es::ExitMask plan) {
    return expected(d, plan, es::initialState(handProfile()));
}

void expectMessageHas(const std::function<void()>& f, const std::string& part) {
    try {
        f();
        FAIL() << "no Error thrown";
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

std::string writeTemp(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + name;
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST(ElasticPlan, FinishTimesShiftWhenABranchIsSkipped) {
    const auto all = es::planFinishTimes(handProfile(), es::maskOf({0, 1, 2}), es::initialState(handProfile()));
    EXPECT_DOUBLE_EQ(all[0], 2.0);
    EXPECT_DOUBLE_EQ(all[1], 4.0);
    EXPECT_DOUBLE_EQ(all[2], 6.0);
    const auto skip = es::planFinishTimes(handProfile(), es::maskOf({0, 2}), es::initialState(handProfile()));
    EXPECT_DOUBLE_EQ(skip[0], 2.0);
    EXPECT_TRUE(std::isnan(skip[1]));
    EXPECT_DOUBLE_EQ(skip[2], 5.0);  // exit 1's head no longer runs
    EXPECT_EQ(es::describePlan(es::maskOf({0, 2})), "0,2");
    EXPECT_EQ(es::exitsOf(es::maskOf({2, 0})), (std::vector<int64_t>{0, 2}));
}

TEST(ElasticPlan, ExpectedAccuracyUnderAUniformForcedExit) {
    const auto u = es::ForcedExitDistribution::uniform(0, 10);
    // All branches: finishes 2, 4, 6; P(T<2)=.2, P(2<=T<4)=.2, P(4<=T<6)=.2, P(T>=6)=.4.
    EXPECT_NEAR(expected(u, es::maskOf({0, 1, 2})), 0.1 * .2 + 0.5 * .2 + 0.7 * .2 + 0.9 * .4, 1e-12);
    // Only the last branch: it finishes at 4.
    EXPECT_NEAR(expected(u, es::maskOf({2})), 0.1 * .4 + 0.9 * .6, 1e-12);
    // Skip exit 1: finishes 2 and 5.
    EXPECT_NEAR(expected(u, es::maskOf({0, 2})), 0.1 * .2 + 0.5 * .3 + 0.9 * .5, 1e-12);
    // Nothing runs: always a uniform guess.
    EXPECT_NEAR(expected(u, 0), 0.1, 1e-12);
}

TEST(ElasticPlan, ExpectedAccuracyUnderOtherDistributions) {
    // Exponential with rate 0.5: P(T >= 2) = e^-1.
    const double s2 = std::exp(-1.0);
    EXPECT_NEAR(expected(es::ForcedExitDistribution::exponential(0.5), es::maskOf({0})), 0.1 * (1 - s2) + 0.5 * s2,
                1e-12);
    // Normal(2, 1) truncated at 0: P(T >= 2) = 0.5 / Phi(2), Phi(2) = 0.9772498680518208.
    const double n2 = 0.5 / 0.9772498680518208;
    EXPECT_NEAR(expected(es::ForcedExitDistribution::normal(2, 1), es::maskOf({0})), 0.1 * (1 - n2) + 0.5 * n2, 1e-9);
    // Empirical {1, 3, 3, 5}: P(T >= 2) = 3/4, P(T >= 4) = 1/4, P(T >= 6) = 0.
    const auto e = es::ForcedExitDistribution::empirical({5, 3, 1, 3});
    EXPECT_NEAR(expected(e, es::maskOf({0, 1, 2})), 0.1 * .25 + 0.5 * .5 + 0.7 * .25, 1e-12);
    // Fixed 4: a branch finishing exactly at T counts as finished.
    EXPECT_NEAR(expected(es::ForcedExitDistribution::fixed(4), es::maskOf({0, 1, 2})), 0.7, 1e-12);
    EXPECT_NEAR(expected(es::ForcedExitDistribution::fixed(3.9), es::maskOf({0, 1, 2})), 0.5, 1e-12);
}

TEST(ElasticPlan, ExpectedAccuracyOfARePlanIsConditionedOnTheTimeSpent) {
    // Exit 0 ran and answered 0.5 at 2 ms; exits 1 and 2 still to come at 4 and 6 ms.
    const es::PlanState state{1, 2.0, 0.5};
    const auto u = es::ForcedExitDistribution::uniform(0, 10);
    // Given T >= 2 (prob .8): P(2<=T<4)=.2/.8, P(4<=T<6)=.2/.8, P(T>=6)=.4/.8.
    EXPECT_NEAR(expected(u, es::maskOf({1, 2}), state), (0.5 * .2 + 0.7 * .2 + 0.9 * .4) / .8, 1e-12);
    // Bits before `next` are already decided and ignored.
    EXPECT_NEAR(expected(u, es::maskOf({0, 1, 2}), state), expected(u, es::maskOf({1, 2}), state), 1e-12);
}

TEST(ElasticSearch, EnumerationFindsTheKnownOptimum) {
    // With T fixed at 4.5 ms only a plan running exit 2 alone (finish 4)
    // answers with 0.9; any other branch delays exit 2 to 5 ms or later.
    const auto d = es::ForcedExitDistribution::fixed(4.5);
    const auto p = handProfile();
    for (auto method : {es::SearchMethod::Enumerate, es::SearchMethod::Hybrid}) {
        const auto r = es::searchPlan(p, d, kConf.data(), es::initialState(p), method, {3, 16});
        EXPECT_EQ(r.plan, es::maskOf({2})) << es::searchMethodName(method);
        EXPECT_NEAR(r.expectedAccuracy, 0.9, 1e-12);
    }
    // With T fixed at 2.5 only exit 0 can answer: the optimum runs it first.
    const auto early = es::searchPlan(p, es::ForcedExitDistribution::fixed(2.5), kConf.data(), es::initialState(p),
                                      es::SearchMethod::Enumerate);
    EXPECT_TRUE(early.plan & es::maskOf({0}));
    EXPECT_NEAR(early.expectedAccuracy, 0.5, 1e-12);
}

TEST(ElasticSearch, HybridWithMEqualToKIsEnumerationAndNeverBelowGreedy) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    const std::vector<es::ForcedExitDistribution> dists = {
        es::ForcedExitDistribution::uniform(2, 20), es::ForcedExitDistribution::normal(10, 4),
        es::ForcedExitDistribution::exponential(0.1), es::ForcedExitDistribution::empirical({3, 5, 8, 8, 13, 21})};
    for (int trial = 0; trial < 60; ++trial) {
        const int64_t K = 3 + trial % 8;
        es::ExecutionProfile p;
        p.chanceAccuracy = 0.1;
        std::vector<double> conf;
        for (int64_t k = 0; k < K; ++k) {
            p.backboneMs.push_back(0.2 + 2 * u01(rng));
            p.headMs.push_back(0.1 + u01(rng));
            conf.push_back(0.2 + 0.8 * u01(rng));
        }
        const auto& d = dists[static_cast<std::size_t>(trial) % dists.size()];
        const auto s = es::initialState(p);
        const auto exact = es::searchPlan(p, d, conf.data(), s, es::SearchMethod::Enumerate);
        const auto hybridK = es::searchPlan(p, d, conf.data(), s, es::SearchMethod::Hybrid, {K, 1});
        EXPECT_EQ(hybridK.plan, exact.plan) << "trial " << trial;
        EXPECT_DOUBLE_EQ(hybridK.expectedAccuracy, exact.expectedAccuracy);
        // The reported value is the plan's expected accuracy.
        EXPECT_NEAR(exact.expectedAccuracy, es::expectedAccuracy(p, d, conf.data(), exact.plan, s), 1e-12);
        const auto greedy = es::searchPlan(p, d, conf.data(), s, es::SearchMethod::Greedy);
        const auto hybrid2 = es::searchPlan(p, d, conf.data(), s, es::SearchMethod::Hybrid, {2, 1});
        EXPECT_GE(hybrid2.expectedAccuracy, greedy.expectedAccuracy - 1e-12);
        EXPECT_GE(exact.expectedAccuracy, hybrid2.expectedAccuracy - 1e-12);
        std::mt19937_64 r2(trial);
        const auto random = es::searchPlan(p, d, conf.data(), s, es::SearchMethod::Random, {4, 8}, &r2);
        EXPECT_GE(exact.expectedAccuracy, random.expectedAccuracy - 1e-12);
    }
}

TEST(ElasticSearch, BadInputsAreErrors) {
    const auto p = handProfile();
    const auto d = es::ForcedExitDistribution::uniform(0, 10);
    expectMessageHas([&] { es::searchPlan(p, d, kConf.data(), es::initialState(p), es::SearchMethod::Random); },
                     "random generator");
    expectMessageHas(
        [&] {
            es::searchPlan(p, d, kConf.data(), {4, 0.0, 0.1}, es::SearchMethod::Greedy);
        },
        "outside the network");
    expectMessageHas([&] { es::parseSearchMethod("beam"); }, "'beam'");
    expectMessageHas([&] { es::maskOf({64}); }, "exit 64");
}

TEST(ElasticDistribution, BadParametersAreErrors) {
    expectMessageHas([] { es::ForcedExitDistribution::fixed(-1); }, "negative");
    expectMessageHas([] { es::ForcedExitDistribution::uniform(2, 1); }, "upper bound below");
    expectMessageHas([] { es::ForcedExitDistribution::uniform(-1, 1); }, "negative");
    expectMessageHas([] { es::ForcedExitDistribution::normal(1, 0); }, "stddev 0");
    expectMessageHas([] { es::ForcedExitDistribution::normal(-100, 1); }, "no mass above 0");
    expectMessageHas([] { es::ForcedExitDistribution::exponential(-2); }, "rate -2");
    expectMessageHas([] { es::ForcedExitDistribution::empirical({}); }, "at least one");
    expectMessageHas([] { es::ForcedExitDistribution::empirical({1, -3}); }, "#2");
    expectMessageHas([] { es::ForcedExitDistribution::uniform(0, NAN); }, "not finite");
}

// Times so large that a mean or a plot range would overflow are refused
// (fuzz_elastic): up to 1e12 is accepted, with finite answers.
TEST(ElasticDistribution, TimesBeyondTheLargestAcceptedAreErrors) {
    using D = es::ForcedExitDistribution;
    expectMessageHas([] { D::parse("uniform:1e308,1.7e308"); }, "time 1e+308 is beyond 1e+12");
    expectMessageHas([] { D::normal(1e308, 1e308); }, "is beyond 1e+12");
    expectMessageHas([] { D::empirical({1.0, 1e13}); }, "1e+13 is beyond");
    expectMessageHas([] { D::exponential(1e-13); }, "mean time 1 / 1e-13 is beyond");
    expectMessageHas([] { D::fixed(2e12); }, "beyond");
    expectMessageHas([] { D::fixed(1e12).scaled(10.0); }, "beyond");
    const D wide = D::uniform(1e12, 1e12);
    EXPECT_EQ(wide.mean(), 1e12);
    EXPECT_TRUE(std::isfinite(D::exponential(1e-12).plotRange().second));
    EXPECT_TRUE(std::isfinite(D::normal(1e12, 1e12).plotRange().second));
    EXPECT_TRUE(std::isfinite(D::empirical({1e12, 1e12, 1e12}).mean()));
    // Times 3e-308 apart are a point mass: no histogram of infinite height.
    const D tiny = D::empirical({0.0, 0.0, 3e-308});
    EXPECT_EQ(tiny.density(1e-308), 0.0);
    // Half the mass in the first of 40 bins over [0, 1]: height 0.5 / (1 / 40) = 20.
    EXPECT_NEAR(D::empirical({0.0, 1.0}).density(0.01), 20.0, 1e-9);
}

TEST(ElasticDistribution, SpecsParseAndBadSpecsNameTheProblem) {
    EXPECT_DOUBLE_EQ(es::ForcedExitDistribution::parse("uniform:0.2,1.0").mean(), 0.6);
    EXPECT_DOUBLE_EQ(es::ForcedExitDistribution::parse("fixed:3").mean(), 3.0);
    EXPECT_DOUBLE_EQ(es::ForcedExitDistribution::parse("exponential:4").mean(), 0.25);
    EXPECT_DOUBLE_EQ(es::ForcedExitDistribution::parse("exponential:mean=0.5").mean(), 0.5);
    EXPECT_EQ(es::ForcedExitDistribution::parse("normal:0.5,0.1").kind(), es::ForcedExitDistribution::Kind::Normal);
    expectMessageHas([] { es::ForcedExitDistribution::parse("uniform:1"); }, "expected 2 values");
    expectMessageHas([] { es::ForcedExitDistribution::parse("uniform:a,2"); }, "'a' is not a number");
    expectMessageHas([] { es::ForcedExitDistribution::parse("gauss:1,2"); }, "unknown kind 'gauss'");
    expectMessageHas([] { es::ForcedExitDistribution::parse("0.5"); }, "is not one of");
    expectMessageHas([] { es::ForcedExitDistribution::parse("uniform:1,0.5"); }, "upper bound below");
    expectMessageHas([] { es::ForcedExitDistribution::parse("exponential:mean=0"); }, "positive");
}

// A byte-order mark in front of the first time must not turn it into a
// header line that is skipped (2 of 3 times read, the mean off).
TEST(ElasticDistribution, CsvWithAByteOrderMarkReadsAsWithout) {
    const auto plain = es::ForcedExitDistribution::loadCsv(writeTemp("times_plain.csv", "1\n2\n6\n"));
    const auto marked = es::ForcedExitDistribution::loadCsv(writeTemp("times_bom.csv", "\xEF\xBB\xBF" "1\n2\n6\n"));
    EXPECT_DOUBLE_EQ(plain.mean(), 3.0);
    EXPECT_DOUBLE_EQ(marked.mean(), 3.0);
    EXPECT_DOUBLE_EQ(marked.probabilityAtLeast(1), 1.0);
    const auto header = es::ForcedExitDistribution::loadCsv(writeTemp("times_bom_h.csv", "\xEF\xBB\xBFtime_ms\n1\n2\n6\n"));
    EXPECT_DOUBLE_EQ(header.mean(), 3.0);
}

TEST(ElasticDistribution, CsvOfTimes) {
    const auto ok =
        es::ForcedExitDistribution::loadCsv(writeTemp("times_ok.csv", "time_ms,note\n# comment\n1,a\n\n3\n3\n5\n"));
    EXPECT_EQ(ok.kind(), es::ForcedExitDistribution::Kind::Empirical);
    EXPECT_DOUBLE_EQ(ok.mean(), 3.0);
    EXPECT_DOUBLE_EQ(ok.probabilityAtLeast(2), 0.75);
    EXPECT_DOUBLE_EQ(ok.probabilityAtLeast(5), 0.25);
    EXPECT_DOUBLE_EQ(ok.probabilityAtLeast(5.1), 0.0);
    const auto viaSpec = es::ForcedExitDistribution::parse("csv:" + writeTemp("times_spec.csv", "2\n4\n"));
    EXPECT_DOUBLE_EQ(viaSpec.mean(), 3.0);
    expectMessageHas([] { es::ForcedExitDistribution::loadCsv(writeTemp("times_bad.csv", "1\n2\nfoo\n")); },
                     "times_bad.csv:3: 'foo'");
    expectMessageHas([] { es::ForcedExitDistribution::loadCsv(writeTemp("times_neg.csv", "1\n-2\n")); },
                     "times_neg.csv:2");
    expectMessageHas([] { es::ForcedExitDistribution::loadCsv(writeTemp("times_empty.csv", "time\n")); },
                     "no forced-exit times");
    expectMessageHas([] { es::ForcedExitDistribution::loadCsv(::testing::TempDir() + "no_such_times.csv"); },
                     "no_such_times.csv");
}

TEST(ElasticDistribution, SamplesFollowTheDistribution) {
    std::mt19937_64 rng(3);
    const int n = 200000;
    auto meanOf = [&](const es::ForcedExitDistribution& d, double lo, double hi) {
        double s = 0;
        for (int i = 0; i < n; ++i) {
            const double t = d.sample(rng);
            EXPECT_GE(t, lo);
            EXPECT_LE(t, hi);
            s += t;
        }
        return s / n;
    };
    EXPECT_NEAR(meanOf(es::ForcedExitDistribution::uniform(2, 4), 2, 4), 3.0, 0.01);
    EXPECT_NEAR(meanOf(es::ForcedExitDistribution::exponential(2), 0, 1e9), 0.5, 0.01);
    // Standard normal truncated at 0: the half-normal, mean sqrt(2 / pi).
    EXPECT_NEAR(meanOf(es::ForcedExitDistribution::normal(0, 1), 0, 1e9), std::sqrt(2 / M_PI), 0.01);
    EXPECT_NEAR(es::ForcedExitDistribution::normal(0, 1).mean(), std::sqrt(2 / M_PI), 1e-12);
    EXPECT_NEAR(meanOf(es::ForcedExitDistribution::empirical({1, 3, 3, 5}), 1, 5), 3.0, 0.02);
    // Densities integrate to one over the plotting range.
    for (const auto& d :
         {es::ForcedExitDistribution::uniform(2, 4), es::ForcedExitDistribution::normal(3, 1),
          es::ForcedExitDistribution::exponential(2), es::ForcedExitDistribution::empirical({1, 2, 2, 3, 7})}) {
        const auto [lo, hi] = d.plotRange();
        double area = 0;
        const int steps = 100000;
        for (int i = 0; i < steps; ++i) area += d.density(lo + (hi - lo) * (i + 0.5) / steps) * (hi - lo) / steps;
        EXPECT_NEAR(area, 1.0, 0.002) << d.describe();
    }
}

TEST(ElasticDistribution, ScalingAndJsonRoundTrip) {
    const auto u = es::ForcedExitDistribution::uniform(0.2, 1.0).scaled(5.0);
    EXPECT_DOUBLE_EQ(u.parameters()[0], 1.0);
    EXPECT_DOUBLE_EQ(u.parameters()[1], 5.0);
    EXPECT_DOUBLE_EQ(es::ForcedExitDistribution::exponential(2).scaled(10).mean(), 5.0);
    EXPECT_DOUBLE_EQ(es::ForcedExitDistribution::normal(1, 0.5).scaled(2).parameters()[1], 1.0);
    for (const auto& d : {es::ForcedExitDistribution::fixed(1.5), es::ForcedExitDistribution::uniform(1, 2),
                          es::ForcedExitDistribution::normal(3, 0.25), es::ForcedExitDistribution::exponential(0.7),
                          es::ForcedExitDistribution::empirical({0.1, 0.3, 0.2})}) {
        const auto back = es::ForcedExitDistribution::fromJson(d.toJson(), "d");
        EXPECT_EQ(back.kind(), d.kind());
        EXPECT_EQ(back.parameters(), d.parameters());
    }
    expectMessageHas(
        [] {
            es::ForcedExitDistribution::fromJson({{"kind", "uniform"}, {"low", 1}}, "cfg.d");
        },
        "cfg.d.high is missing");
    expectMessageHas(
        [] {
            es::ForcedExitDistribution::fromJson({{"kind", "uniform"}, {"low", 2}, {"high", 1}}, "cfg.d");
        },
        "cfg.d: forced-exit distribution: uniform");
}

TEST(ElasticProfile, FromTraceBlocksAndHeadsWithADeviceFactor) {
    es::Trace t;
    t.numSamples = 0;
    t.numExits = 2;
    t.numClasses = 4;
    t.numBlocks = 5;
    t.blockMs = {1, 2, 3, 4, 100};  // the last block follows the last exit and never matters
    t.blockMacs = {10, 20, 30, 40, 50};
    t.exitBlock = {1, 3};
    t.headMs = {0.5f, 0.25f};
    t.headMacs = {5, 6};
    const auto p = es::executionProfile(t);
    EXPECT_EQ(p.backboneMs, (std::vector<double>{3, 7}));
    EXPECT_EQ(p.headMs, (std::vector<double>{0.5, 0.25}));
    EXPECT_DOUBLE_EQ(p.chanceAccuracy, 0.25);
    EXPECT_DOUBLE_EQ(p.fullMs(), 10.75);
    EXPECT_DOUBLE_EQ(p.soloFinishMs(1), 10.25);
    // A device twice as slow doubles every time; a MAC-based one uses the MACs.
    const auto slow = es::executionProfile(t, [](double ms, double) { return 2 * ms; });
    EXPECT_DOUBLE_EQ(slow.fullMs(), 21.5);
    const auto byMacs = es::executionProfile(t, [](double, double macs) { return macs / 10; });
    EXPECT_EQ(byMacs.backboneMs, (std::vector<double>{3, 7}));
    EXPECT_EQ(byMacs.headMs, (std::vector<double>{0.5, 0.6}));

    auto bad = t;
    bad.exitBlock = {3, 1};
    expectMessageHas([&] { es::executionProfile(bad); }, "exit_block[1] = 1 is before");
    bad = t;
    bad.headMs.clear();
    expectMessageHas([&] { es::executionProfile(bad); }, "head_ms has 0 values");
    expectMessageHas([&] { es::executionProfile(t, [](double, double) { return -1.0; }); }, "not a non-negative");
}
