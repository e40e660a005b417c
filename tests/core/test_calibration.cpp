#include "core/common/error.h"
#include "core/policy/calibration.h"
#include "core/policy/confidence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace es = exitscope::core;

namespace {

// One exit, `rows` as its probabilities.
es::Trace oneExitTrace(const std::vector<std::vector<float>>& rows, const std::vector<int64_t>& labels) {
    es::Trace t;
    t.numSamples = static_cast<int64_t>(rows.size());
    t.numExits = 1;
    t.numClasses = static_cast<int64_t>(rows.front().size());
    t.numBlocks = 1;
    for (const auto& r : rows) t.probs.insert(t.probs.end(), r.begin(), r.end());
    t.labels = labels;
    t.exitMacs = {100};
    return t;
}

// Exit 0 is overconfident, softmax(3 l); exit 1 is honest, softmax(l); the
// labels are drawn from softmax(l), so temperature 3 and 1 are the truth.
es::Trace overconfidentTrace(int64_t N, int64_t C, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> logit(0.0, 1.5);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    es::Trace t;
    t.numSamples = N;
    t.numExits = 2;
    t.numClasses = C;
    t.numBlocks = 2;
    t.exitMacs = {100, 200};
    std::vector<double> l(static_cast<std::size_t>(C));
    for (int64_t n = 0; n < N; ++n) {
        for (double& v : l) v = logit(rng);
        std::vector<float> rows[2];
        for (int e = 0; e < 2; ++e) {
            const double scale = e == 0 ? 3.0 : 1.0;
            double sum = 0;
            for (double v : l) sum += std::exp(scale * v);
            for (double v : l) rows[e].push_back(static_cast<float>(std::exp(scale * v) / sum));
        }
        double u = uniform(rng), cumulative = 0;
        int64_t label = C - 1;
        for (int64_t c = 0; c < C; ++c) {
            cumulative += rows[1][static_cast<std::size_t>(c)];
            if (u < cumulative) {
                label = c;
                break;
            }
        }
        t.labels.push_back(label);
        for (const auto& r : rows) t.probs.insert(t.probs.end(), r.begin(), r.end());
    }
    return t;
}

} // namespace

TEST(Calibration, TemperatureScalingOfHandDistributions) {
    // log-probabilities / T: [0.8, 0.2] at T = 2 is proportional to [sqrt 0.8, sqrt 0.2] = [2, 1] / sqrt 5.
    const float p[2] = {0.8f, 0.2f};
    float out[2];
    es::temperatureScale(p, 2, 2.0, out);
    EXPECT_NEAR(out[0], 2.0 / 3.0, 1e-6);
    EXPECT_NEAR(out[1], 1.0 / 3.0, 1e-6);
    es::temperatureScale(p, 2, 0.5, out);  // squares: [0.64, 0.04]
    EXPECT_NEAR(out[0], 16.0 / 17.0, 1e-6);
    es::temperatureScale(p, 2, 1.0, out);
    EXPECT_NEAR(out[0], 0.8, 1e-6);
    const float hard[3] = {1.0f, 0.0f, 0.0f};  // zeros are floored, not log(0)
    float soft[3];
    es::temperatureScale(hard, 3, 2.0, soft);
    EXPECT_TRUE(std::isfinite(soft[1]));
    EXPECT_NEAR(soft[0], 1.0, 1e-6);

    auto t = oneExitTrace({{0.8f, 0.2f}}, {0});
    es::applyTemperatures(t, {2.0f});
    EXPECT_NEAR(t.probs[0], 2.0 / 3.0, 1e-6);
}

TEST(Calibration, FitMatchesTheClosedFormOnTwoClasses) {
    // All rows [0.8, 0.2] (log-odds ln 4), two of three labelled class 0: the
    // MLE calibrated probability is 2/3, log-odds ln 2 = ln 4 / T, so T = 2.
    const auto t = oneExitTrace({{0.8f, 0.2f}, {0.8f, 0.2f}, {0.8f, 0.2f}}, {0, 0, 1});
    EXPECT_NEAR(es::fitTemperature(t, 0), 2.0, 1e-6);
    // NLL at T = 2: -(2/3 ln 2/3 + 1/3 ln 1/3); at T = 1: -(2/3 ln 0.8 + 1/3 ln 0.2).
    EXPECT_NEAR(es::negativeLogLikelihood(t, 0, 2.0),
                -(2.0 / 3.0 * std::log(2.0 / 3.0) + 1.0 / 3.0 * std::log(1.0 / 3.0)), 1e-6);
    EXPECT_NEAR(es::negativeLogLikelihood(t, 0, 1.0), -(2.0 / 3.0 * std::log(0.8) + 1.0 / 3.0 * std::log(0.2)), 1e-6);
}

TEST(Calibration, FitStopsAtTheRangeEnds) {
    // Always right: sharper is always better, down to the lower bound.
    const auto right = oneExitTrace({{0.9f, 0.1f}, {0.2f, 0.8f}}, {0, 1});
    EXPECT_DOUBLE_EQ(es::fitTemperature(right, 0), es::kMinTemperature);
    // Always wrong: flatter is always better, up to the upper bound.
    const auto wrong = oneExitTrace({{0.9f, 0.1f}, {0.2f, 0.8f}}, {1, 0});
    EXPECT_DOUBLE_EQ(es::fitTemperature(wrong, 0, 0.1, 10.0), 10.0);
}

TEST(Calibration, RecoversTheTemperatureOfAnOverconfidentExit) {
    const auto t = overconfidentTrace(20000, 10, 5);
    const auto report = es::calibrate(t, 15);
    ASSERT_EQ(report.temperatures.size(), 2u);
    EXPECT_NEAR(report.temperatures[0], 3.0, 0.15);
    EXPECT_NEAR(report.temperatures[1], 1.0, 0.05);
    EXPECT_LT(report.nllAfter[0], report.nllBefore[0]);
    EXPECT_LE(report.nllAfter[1], report.nllBefore[1]);
    // The overconfident exit's ECE drops to what sampling noise leaves.
    EXPECT_GT(report.before[0].ece, 0.1);
    EXPECT_LT(report.after[0].ece, 0.02);
    EXPECT_LT(report.after[0].ece, report.before[0].ece / 5);
    EXPECT_LT(report.after[1].ece, 0.02);
}

TEST(Calibration, EceOfAHandBuiltTwoBinCase) {
    // Bin [0, 0.5): confidences 0.4 (right), 0.45 (wrong): mean 0.425, accuracy 0.5.
    // Bin [0.5, 1]: 0.9 (right), 0.7 (right), 0.6 (wrong): mean 0.7333, accuracy 2/3.
    // ECE = 2/5 * 0.075 + 3/5 * (0.7333 - 0.6667) = 0.03 + 0.04 = 0.07.
    const auto t = oneExitTrace(
        {{0.4f, 0.3f, 0.3f}, {0.45f, 0.35f, 0.2f}, {0.9f, 0.05f, 0.05f}, {0.1f, 0.7f, 0.2f}, {0.2f, 0.2f, 0.6f}},
        {0, 1, 0, 1, 0});
    const auto d = es::reliabilityDiagrams(t, 2);
    ASSERT_EQ(d.size(), 1u);
    ASSERT_EQ(d[0].bins.size(), 2u);
    EXPECT_EQ(d[0].bins[0].count, 2);
    EXPECT_EQ(d[0].bins[1].count, 3);
    EXPECT_NEAR(d[0].bins[0].meanConfidence, 0.425, 1e-6);
    EXPECT_NEAR(d[0].bins[0].accuracy, 0.5, 1e-12);
    EXPECT_NEAR(d[0].bins[1].meanConfidence, 2.2 / 3.0, 1e-6);
    EXPECT_NEAR(d[0].bins[1].accuracy, 2.0 / 3.0, 1e-12);
    EXPECT_NEAR(d[0].ece, 0.07, 1e-6);
    const auto four = es::reliabilityDiagrams(t, 4);  // [0.25, 0.5) holds both low ones; [0.5, 0.75) 0.7 and 0.6
    EXPECT_TRUE(std::isnan(four[0].bins[0].accuracy));
    EXPECT_EQ(four[0].bins[1].count, 2);
    EXPECT_EQ(four[0].bins[2].count, 2);
    EXPECT_EQ(four[0].bins[3].count, 1);
}

TEST(Calibration, ThresholdsApplyToCalibratedConfidence) {
    // Exit 0 says [0.8, 0.2]: max softmax 0.8 passes 0.7; at T = 2 it is 2/3 and fails.
    es::Trace t;
    t.numSamples = 1;
    t.numExits = 2;
    t.numClasses = 2;
    t.numBlocks = 2;
    t.probs = {0.8f, 0.2f, 0.3f, 0.7f};
    t.labels = {1};
    t.exitMacs = {10, 20};
    const es::ConfidencePolicy raw{es::ConfidenceCriterion::MaxSoftmax, {0.7f}, {}};
    EXPECT_EQ(es::evaluate(t, raw).exitTaken[0], 0);
    const es::ConfidencePolicy calibrated{es::ConfidenceCriterion::MaxSoftmax, {0.7f}, {2.0f, 1.0f}};
    EXPECT_EQ(es::evaluate(t, calibrated).exitTaken[0], 1);
    EXPECT_EQ(es::evaluate(t, calibrated).prediction[0], 1);
    const auto scores = es::computeScores(t, es::ConfidenceCriterion::MaxSoftmax, {2.0f, 1.0f});
    EXPECT_NEAR(scores.score(0, 0), 2.0 / 3.0, 1e-6);
}

TEST(Calibration, BadInputsAreErrorsNamingTheValue) {
    const float p[2] = {0.8f, 0.2f};
    float out[2];
    try {
        es::temperatureScale(p, 2, -1.5, out);
        FAIL();
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find("-1.5"), std::string::npos);
    }
    EXPECT_THROW(es::temperatureScale(p, 2, 0.0, out), es::Error);
    EXPECT_THROW(es::temperatureScale(p, 2, std::nan(""), out), es::Error);
    try {
        es::checkTemperatures({1.0f, 0.0f}, 2);
        FAIL();
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find("exit 1"), std::string::npos);
    }
    try {
        es::checkTemperatures({1.0f}, 3);
        FAIL();
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find("1 temperatures"), std::string::npos);
    }
    auto t = oneExitTrace({{0.8f, 0.2f}}, {0});
    EXPECT_THROW(es::fitTemperature(t, 1), es::Error);
    EXPECT_THROW(es::fitTemperature(t, 0, 2.0, 1.0), es::Error);
    EXPECT_THROW(es::reliabilityDiagrams(t, 0), es::Error);
    EXPECT_THROW(es::applyTemperatures(t, {-1.0f}), es::Error);
    t.numSamples = 0;
    t.probs.clear();
    t.labels.clear();
    try {
        es::fitTemperature(t, 0);
        FAIL();
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find("no samples"), std::string::npos);
    }
    EXPECT_TRUE(std::isnan(es::reliabilityDiagrams(t, 3)[0].ece));
}
