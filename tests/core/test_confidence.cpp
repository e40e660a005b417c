#include "core/common/error.h"
#include "core/policy/baselines.h"
#include "core/policy/confidence.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

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
        0.6f, 0.3f, 0.1f, 0.4f, 0.4f, 0.2f, 0.9f,  0.05f, 0.05f,  // sample 0, label 0
        0.5f, 0.4f, 0.1f, 0.1f, 0.8f, 0.1f, 0.05f, 0.9f,  0.05f,  // sample 1, label 1
        0.2f, 0.2f, 0.6f, 0.3f, 0.5f, 0.2f, 0.1f,  0.1f,  0.8f,   // sample 2, label 2
        0.7f, 0.2f, 0.1f, 0.2f, 0.7f, 0.1f, 0.1f,  0.8f,  0.1f,   // sample 3, label 1
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

// ---------------------------------------------------------------------------
// Criteria, per-exit and global thresholds, precomputed scores, summaries,
// sweeps and the static / oracle baselines.
// ---------------------------------------------------------------------------

namespace {

double entropyScore(std::initializer_list<double> p) {
    double h = 0;
    for (double v : p) h -= v * std::log(v);
    return 1.0 - h / std::log(static_cast<double>(p.size()));
}

es::ConfidencePolicy policy(es::ConfidenceCriterion c, std::vector<float> thresholds) {
    return es::ConfidencePolicy{c, std::move(thresholds), {}};
}

// Exits that grow more accurate and more confident with depth; each sample
// has its own difficulty so the exits' confidences are correlated, as in a
// real profile.
es::Trace randomTrace(int64_t N, int64_t K, int64_t C, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    es::Trace t;
    t.numSamples = N;
    t.numExits = K;
    t.numClasses = C;
    t.numBlocks = K;
    for (int64_t n = 0; n < N; ++n) {
        const int64_t label = static_cast<int64_t>(rng() % static_cast<unsigned>(C));
        t.labels.push_back(label);
        const float ease = noise(rng);
        for (int64_t k = 0; k < K; ++k) {
            std::vector<float> z(static_cast<std::size_t>(C));
            double sum = 0;
            for (int64_t c = 0; c < C; ++c) {
                z[c] = 1.5f * noise(rng) + (c == label ? 1.0f + 0.8f * k + ease : 0.0f);
                sum += std::exp(z[c]);
            }
            for (int64_t c = 0; c < C; ++c) t.probs.push_back(static_cast<float>(std::exp(z[c]) / sum));
        }
    }
    for (int64_t k = 0; k < K; ++k) {
        t.exitMacs.push_back(1000 * (k + 1) + 37 * k * k);
        t.exitMs.push_back(0.25f * static_cast<float>(k + 1));
    }
    return t;
}

std::vector<int64_t> histogramOf(const es::ExitOutcome& out, int64_t K) {
    std::vector<int64_t> hist(static_cast<std::size_t>(K), 0);
    for (auto k : out.exitTaken) ++hist[static_cast<std::size_t>(k)];
    return hist;
}

} // namespace

TEST(ConfidenceCriteria, ScoresOfSimpleDistributions) {
    const float uniform[4] = {0.25f, 0.25f, 0.25f, 0.25f};
    const float certain[4] = {0.0f, 1.0f, 0.0f, 0.0f};
    const float mixed[3] = {0.6f, 0.3f, 0.1f};
    using C = es::ConfidenceCriterion;
    EXPECT_FLOAT_EQ(es::confidenceScore(uniform, 4, C::MaxSoftmax), 0.25f);
    EXPECT_NEAR(es::confidenceScore(uniform, 4, C::Entropy), 0.0f, 1e-6);
    EXPECT_FLOAT_EQ(es::confidenceScore(uniform, 4, C::Margin), 0.0f);
    EXPECT_FLOAT_EQ(es::confidenceScore(certain, 4, C::MaxSoftmax), 1.0f);
    EXPECT_FLOAT_EQ(es::confidenceScore(certain, 4, C::Entropy), 1.0f);
    EXPECT_FLOAT_EQ(es::confidenceScore(certain, 4, C::Margin), 1.0f);
    EXPECT_NEAR(es::confidenceScore(mixed, 3, C::Entropy), entropyScore({0.6, 0.3, 0.1}), 1e-6);
    EXPECT_NEAR(es::confidenceScore(mixed, 3, C::Margin), 0.3, 1e-6);
    const float single[1] = {1.0f};
    EXPECT_FLOAT_EQ(es::confidenceScore(single, 1, C::Entropy), 1.0f);
    EXPECT_FLOAT_EQ(es::confidenceScore(single, 1, C::Margin), 1.0f);
    EXPECT_EQ(es::parseCriterion("entropy"), C::Entropy);
    EXPECT_EQ(es::parseCriterion(es::criterionName(C::Margin)), C::Margin);
    try {
        es::parseCriterion("vibes");
        FAIL();
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find("vibes"), std::string::npos);
    }
}

TEST(ConfidenceCriteria, MaxSoftmaxGlobalThreshold) {
    // 0.65 everywhere: s0 0.6, 0.4 -> exit 2; s1 0.5, 0.8 -> 1; s2 0.6, 0.5 -> 2; s3 0.7 -> 0.
    const auto out = es::evaluate(handBuiltTrace(), policy(es::ConfidenceCriterion::MaxSoftmax, {0.65f}));
    EXPECT_EQ(out.exitTaken, (std::vector<int64_t>{2, 1, 2, 0}));
    EXPECT_EQ(out.prediction, (std::vector<int64_t>{0, 1, 2, 0}));
}

TEST(ConfidenceCriteria, MarginGlobalAndPerExit) {
    // Margins: s0 0.3, 0.0; s1 0.1, 0.7; s2 0.4, 0.2; s3 0.5, 0.5.
    const auto t = handBuiltTrace();
    const auto global = es::evaluate(t, policy(es::ConfidenceCriterion::Margin, {0.35f}));
    EXPECT_EQ(global.exitTaken, (std::vector<int64_t>{2, 1, 0, 0}));
    EXPECT_EQ(global.prediction, (std::vector<int64_t>{0, 1, 2, 0}));
    EXPECT_DOUBLE_EQ(es::outcomeAccuracy(t, global), 0.75);
    EXPECT_DOUBLE_EQ(es::outcomeMeanMacs(t, global), (1000 + 300 + 100 + 100) / 4.0);
    const auto perExit = es::evaluate(t, policy(es::ConfidenceCriterion::Margin, {0.45f, 0.6f}));
    EXPECT_EQ(perExit.exitTaken, (std::vector<int64_t>{2, 1, 2, 0}));
}

TEST(ConfidenceCriteria, EntropyGlobalAndPerExit) {
    // Scores 1 - H/log 3: s0 0.183, 0.040; s1 0.141, 0.418; s2 0.135, 0.063; s3 0.270, 0.270.
    const auto t = handBuiltTrace();
    EXPECT_NEAR(es::confidenceScore(t.probsOf(1, 1), 3, es::ConfidenceCriterion::Entropy),
                entropyScore({0.1, 0.8, 0.1}), 1e-6);
    const auto global = es::evaluate(t, policy(es::ConfidenceCriterion::Entropy, {0.15f}));
    EXPECT_EQ(global.exitTaken, (std::vector<int64_t>{0, 1, 2, 0}));
    EXPECT_DOUBLE_EQ(es::outcomeAccuracy(t, global), 0.75);
    const auto perExit = es::evaluate(t, policy(es::ConfidenceCriterion::Entropy, {0.2f, 0.05f}));
    EXPECT_EQ(perExit.exitTaken, (std::vector<int64_t>{2, 1, 1, 0}));
    EXPECT_EQ(perExit.prediction, (std::vector<int64_t>{0, 1, 1, 0}));
    EXPECT_DOUBLE_EQ(es::outcomeAccuracy(t, perExit), 0.5);
}

TEST(ConfidenceScores, PrecomputedScoresGiveTheSameOutcomeAsTheTrace) {
    const auto t = randomTrace(500, 5, 10, 7);
    for (auto c :
         {es::ConfidenceCriterion::MaxSoftmax, es::ConfidenceCriterion::Entropy, es::ConfidenceCriterion::Margin}) {
        for (const std::vector<float>& temps : {std::vector<float>{}, std::vector<float>{2.f, 1.5f, 1.f, .8f, .5f}}) {
            const auto scores = es::computeScores(t, c, temps);
            for (const std::vector<float>& thr :
                 {std::vector<float>{0.5f}, std::vector<float>{0.9f, 0.7f, 0.3f, 0.6f}}) {
                const auto direct = es::evaluate(t, es::ConfidencePolicy{c, thr, temps});
                const auto cached = es::evaluate(scores, thr);
                EXPECT_EQ(direct.exitTaken, cached.exitTaken) << es::criterionName(c);
                EXPECT_EQ(direct.prediction, cached.prediction) << es::criterionName(c);
            }
        }
    }
}

TEST(ConfidenceScores, SummaryOfHandTrace) {
    auto t = handBuiltTrace();
    t.exitMs = {1.0f, 2.0f, 5.0f};
    // Threshold 0.55: exits {0, 1, 0, 0}; correct at exit 0: s0, s2; at exit 1: s1.
    const auto s = es::summarize(es::computeScores(t, es::ConfidenceCriterion::MaxSoftmax), {0.55f});
    EXPECT_EQ(s.numSamples, 4);
    EXPECT_EQ(s.exitHistogram, (std::vector<int64_t>{3, 1, 0}));
    EXPECT_EQ(s.correctPerExit, (std::vector<int64_t>{2, 1, 0}));
    EXPECT_DOUBLE_EQ(s.accuracy, 0.75);
    EXPECT_DOUBLE_EQ(s.meanMacs, 150.0);
    EXPECT_DOUBLE_EQ(s.meanMs, 1.25);
}

TEST(ConfidenceSweep, HandTraceAtFourThresholds) {
    const auto scores = es::computeScores(handBuiltTrace(), es::ConfidenceCriterion::MaxSoftmax);
    // Given out of order on purpose; results come back in the grid's order.
    const auto sw = es::sweepGlobalThresholds(scores, {0.65f, 0.0f, 1.0f, 0.55f});
    EXPECT_EQ(sw.accuracy, (std::vector<double>{0.75, 0.5, 1.0, 0.75}));
    EXPECT_EQ(sw.meanMacs, (std::vector<double>{600.0, 100.0, 1000.0, 150.0}));
    EXPECT_EQ(sw.exitHistograms, (std::vector<int64_t>{1, 1, 2, 4, 0, 0, 0, 0, 4, 3, 1, 0}));
    EXPECT_TRUE(std::isnan(sw.meanMs[0]));  // the hand trace has no exit_ms
}

TEST(ConfidenceSweep, EqualsBruteForceAtEveryThreshold) {
    const auto t = randomTrace(2000, 6, 10, 11);
    for (auto c :
         {es::ConfidenceCriterion::MaxSoftmax, es::ConfidenceCriterion::Entropy, es::ConfidenceCriterion::Margin}) {
        const auto scores = es::computeScores(t, c);
        auto grid = es::uniformThresholdGrid(201);
        // Scores themselves as thresholds test the >= at equality; shuffle the order.
        for (int i = 0; i < 30; ++i) grid.push_back(scores.scores[static_cast<std::size_t>(i * 97 % 12000)]);
        std::shuffle(grid.begin(), grid.end(), std::mt19937(3));
        const auto sw = es::sweepGlobalThresholds(scores, grid);
        for (std::size_t g = 0; g < grid.size(); ++g) {
            const auto out = es::evaluate(t, es::ConfidencePolicy{c, {grid[g]}, {}});
            const auto hist = histogramOf(out, t.numExits);
            EXPECT_EQ(std::vector<int64_t>(sw.exitHistograms.begin() + static_cast<std::ptrdiff_t>(g * 6),
                                           sw.exitHistograms.begin() + static_cast<std::ptrdiff_t>(g * 6 + 6)),
                      hist);
            EXPECT_EQ(sw.accuracy[g], es::outcomeAccuracy(t, out)) << "threshold " << grid[g];
            EXPECT_EQ(sw.meanMacs[g], es::outcomeMeanMacs(t, out)) << "threshold " << grid[g];
            const auto sum = es::summarize(scores, {grid[g]});
            EXPECT_EQ(sw.meanMs[g], sum.meanMs);
            EXPECT_EQ(sw.accuracy[g], sum.accuracy);
        }
    }
}

TEST(ConfidencePolicyChecks, BadPoliciesAreErrorsNamingTheValue) {
    const auto t = handBuiltTrace();
    auto message = [&](const es::ConfidencePolicy& p) {
        try {
            es::evaluate(t, p);
        } catch (const es::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    using C = es::ConfidenceCriterion;
    EXPECT_NE(message(policy(C::Entropy, {1.25f})).find("1.25"), std::string::npos);
    EXPECT_NE(message(policy(C::Margin, {-0.5f, 0.5f})).find("-0.5"), std::string::npos);
    EXPECT_NE(message(policy(C::Margin, {0.1f, 0.2f, 0.3f, 0.4f})).find("4 thresholds"), std::string::npos);
    EXPECT_NE(message(policy(C::Margin, {})).find("0 thresholds"), std::string::npos);
    EXPECT_NE(message(policy(C::Margin, {std::nanf("")})).find("nan"), std::string::npos);
    EXPECT_NE(message(es::ConfidencePolicy{C::MaxSoftmax, {0.5f}, {1.0f, -2.0f, 1.0f}}).find("-2"), std::string::npos);
    EXPECT_NE(message(es::ConfidencePolicy{C::MaxSoftmax, {0.5f}, {1.0f, 1.0f}}).find("2 temperatures"),
              std::string::npos);
    const auto scores = es::computeScores(t, C::MaxSoftmax);
    try {
        es::sweepGlobalThresholds(scores, {0.5f, 1.2f});
        FAIL();
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find("1.2"), std::string::npos);
    }
    EXPECT_THROW(es::summarize(scores, {0.5f, 0.5f, 0.5f, 0.5f}), es::Error);
    EXPECT_THROW(es::uniformThresholdGrid(1), es::Error);
}

TEST(Baselines, StaticExitOnHandTrace) {
    const auto t = handBuiltTrace();
    const auto out = es::staticExit(t, 1);
    EXPECT_EQ(out.exitTaken, (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(out.prediction, (std::vector<int64_t>{0, 1, 1, 1}));  // s0's tie goes to class 0
    EXPECT_DOUBLE_EQ(es::outcomeAccuracy(t, out), 0.75);
    EXPECT_DOUBLE_EQ(es::outcomeMeanMacs(t, out), 300.0);
    try {
        es::staticExit(t, 3);
        FAIL();
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find("exit 3"), std::string::npos);
    }
    EXPECT_THROW(es::staticExit(t, -1), es::Error);
}

TEST(Baselines, OracleTakesTheEarliestCorrectExit) {
    auto t = handBuiltTrace();
    // Predictions per exit: s0 0,0,0; s1 0,1,1; s2 2,1,2; s3 0,1,1.
    const auto out = es::oracleExit(t);
    EXPECT_EQ(out.exitTaken, (std::vector<int64_t>{0, 1, 0, 1}));
    EXPECT_DOUBLE_EQ(es::outcomeAccuracy(t, out), 1.0);
    EXPECT_DOUBLE_EQ(es::outcomeMeanMacs(t, out), 200.0);
    t.labels[0] = 2;  // no exit gets s0 right: it pays for the whole network
    const auto wrong = es::oracleExit(t);
    EXPECT_EQ(wrong.exitTaken[0], 2);
    EXPECT_EQ(wrong.prediction[0], 0);
    EXPECT_DOUBLE_EQ(es::outcomeAccuracy(t, wrong), 0.75);
}

TEST(ConfidenceScores, SingleExitModelAlwaysAnswersAtItsOnlyExit) {
    es::Trace t;
    t.numSamples = 2;
    t.numExits = 1;
    t.numClasses = 2;
    t.numBlocks = 1;
    t.probs = {0.3f, 0.7f, 0.9f, 0.1f};
    t.labels = {1, 1};
    t.exitMacs = {50};
    const auto out = es::evaluate(t, policy(es::ConfidenceCriterion::Margin, {}));
    EXPECT_EQ(out.exitTaken, (std::vector<int64_t>{0, 0}));
    EXPECT_EQ(out.prediction, (std::vector<int64_t>{1, 0}));
    const auto sw = es::sweepGlobalThresholds(es::computeScores(t, es::ConfidenceCriterion::Margin), {0.0f, 1.0f});
    EXPECT_EQ(sw.accuracy, (std::vector<double>{0.5, 0.5}));
    EXPECT_EQ(sw.meanMacs, (std::vector<double>{50.0, 50.0}));
}
