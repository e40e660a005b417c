#include "core/common/error.h"
#include "core/policy/gates.h"
#include "core/train/gate_trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <random>

namespace es = exitscope::core;

namespace {

// Three exits, three classes, D = 2 with gate_dims {2, 1, 2}; the features are
// chosen so each standardised value is a small integer (see the test).
es::Trace tinyTrace() {
    es::Trace t;
    t.numSamples = 4;
    t.numExits = 3;
    t.numClasses = 3;
    t.gateDim = 2;
    t.gateDims = {2, 1, 2};
    // clang-format off
    t.probs = {
        0.6f, 0.3f, 0.1f,  0.2f, 0.7f, 0.1f,  0.1f, 0.1f, 0.8f,  // argmax 0, 1, 2
        0.6f, 0.3f, 0.1f,  0.2f, 0.7f, 0.1f,  0.1f, 0.1f, 0.8f,
        0.6f, 0.3f, 0.1f,  0.2f, 0.7f, 0.1f,  0.1f, 0.1f, 0.8f,
        0.6f, 0.3f, 0.1f,  0.2f, 0.7f, 0.1f,  0.1f, 0.1f, 0.8f,
    };
    t.labels = {1, 0, 2, 1};
    t.gateInputs = {
        3, 1,  1, 0,     9, 9,  // exit 0: z = -0.5; exit 1: z = 1 -> leaves at 1
        5, 0,  7, 0,     9, 9,  // exit 0: z = 2.5 -> leaves at 0
        1, 2,  0, 0,     9, 9,  // exit 0: z = -3.5; exit 1: z = -1 -> final exit
        0, 0,  1.5f, 0,  9, 9,  // exit 0: z = 0 exactly (p = 0.5 is not > 0.5); exit 1: z = 2 -> 1
    };
    // clang-format on
    t.exitParams = {10, 30, 100};
    t.exitMacs = {1000, 4000, 5000};
    return t;
}

es::GateSet tinyGates() {
    es::GateSet g;
    g.weights = {{1.0f, -2.0f}, {2.0f}};
    g.bias = {0.5f, -1.0f};
    g.featureMean = {{1.0f, 0.0f}, {0.0f}};
    g.featureStd = {{2.0f, 1.0f}, {1.0f}};
    g.alpha = 0.25;
    g.costKind = "macs";
    return g;
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Samples of "level" L are answered correctly (p = 0.9) by exits L, L+1, ...
// and wrongly (p[label] = 0.1, another class 0.8) before; 5% are wrong at
// every exit. Gate feature 0 is L plus small noise, feature 1 is constant, the
// rest are noise. So the right gate i opens exactly for levels <= i, and the
// cheapest exit is exit 0, known without running the trainer.
es::Trace levelTrace(int64_t N, int64_t K, int64_t D, uint32_t seed) {
    const int64_t C = 4;
    es::Trace t;
    t.numSamples = N;
    t.numExits = K;
    t.numClasses = C;
    t.gateDim = D;
    for (int64_t k = 0; k < K; ++k) t.gateDims.push_back(std::max<int64_t>(2, D - (k % 3) * (D / 4)));
    t.probs.assign(static_cast<std::size_t>(N * K * C), 0.0f);
    t.gateInputs.assign(static_cast<std::size_t>(N * K * D), 0.0f);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> level(0, K - 1), cls(0, C - 1);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    for (int64_t n = 0; n < N; ++n) {
        const int64_t L = u(rng) < 0.05 ? K : level(rng);
        const int64_t y = cls(rng);
        t.labels.push_back(y);
        for (int64_t k = 0; k < K; ++k) {
            float* p = t.probs.data() + (n * K + k) * C;
            for (int64_t c = 0; c < C; ++c) p[c] = 0.1f / 3.0f;
            if (k >= L) {
                p[y] = 0.9f;
            } else {
                p[y] = 0.1f;
                p[(y + 1) % C] = 0.8f;
                p[(y + 2) % C] = 0.05f;
                p[(y + 3) % C] = 0.05f;
            }
            float* x = t.gateInputs.data() + (n * K + k) * D;
            const int64_t width = t.gateDims[static_cast<std::size_t>(k)];
            x[0] = static_cast<float>(L) + 0.1f * noise(rng);
            x[1] = 3.0f;
            for (int64_t d = 2; d < width; ++d) x[d] = noise(rng);
        }
    }
    for (int64_t k = 0; k < K; ++k) {
        t.exitParams.push_back(1000 * (k + 1));
        t.exitMacs.push_back(100 * (k + 1) * (k + 1));
    }
    return t;
}

template <class F>
std::string errorOf(F&& f) {
    try {
        f();
    } catch (const es::Error& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST(Gates, ProbabilitiesAndExitsMatchHandComputation) {
    const auto t = tinyTrace();
    const auto g = tinyGates();
    // Sample 0, gate 0: x = (3, 1) -> ((3-1)/2, (1-0)/1) = (1, 1); z = 0.5 + 1 - 2 = -0.5.
    EXPECT_NEAR(es::gateProbability(g, 0, t.gateInputs.data()), sigmoid(-0.5), 1e-7);
    // Sample 0, gate 1: x = 1 -> 1; z = -1 + 2 = 1.
    EXPECT_NEAR(es::gateProbability(g, 1, t.gateInputs.data() + 2), sigmoid(1.0), 1e-7);
    EXPECT_NEAR(es::gateProbability(g, 0, t.gateInputs.data() + 6), sigmoid(2.5), 1e-7);
    EXPECT_FLOAT_EQ(es::gateProbability(g, 0, t.gateInputs.data() + 18), 0.5f);

    const auto out = es::applyGates(t, g);
    EXPECT_EQ(out.exitTaken, (std::vector<int64_t>{1, 0, 2, 1}));
    EXPECT_EQ(out.prediction, (std::vector<int64_t>{1, 0, 2, 1}));  // argmax of the exit taken
    EXPECT_DOUBLE_EQ(es::outcomeAccuracy(t, out), 1.0);
}

TEST(Gates, CostFractionsFollowTheChosenKind) {
    const auto t = tinyTrace();
    EXPECT_EQ(es::exitCostFractions(t, "params"), (std::vector<double>{0.1, 0.3, 1.0}));
    EXPECT_EQ(es::exitCostFractions(t, "macs"), (std::vector<double>{0.2, 0.8, 1.0}));
    EXPECT_NE(errorOf([&] { es::exitCostFractions(t, "flops"); }).find("flops"), std::string::npos);
}

TEST(Gates, WidthMismatchWithTheTraceNamesBothWidths) {
    auto t = tinyTrace();
    t.gateDims = {1, 1, 2};
    const auto msg = errorOf([&] { es::applyGates(t, tinyGates()); });
    EXPECT_NE(msg.find("width 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("gate_dims[0] is 1"), std::string::npos) << msg;
    auto g = tinyGates();
    g.weights.pop_back();
    g.bias.pop_back();
    g.featureMean.pop_back();
    g.featureStd.pop_back();
    EXPECT_THROW(es::applyGates(tinyTrace(), g), es::Error);  // gates for 2 exits, trace has 3
}

TEST(GateTrainer, AnalyticGradientMatchesFiniteDifferences) {
    auto t = levelTrace(24, 4, 5, 7);
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> u(0.05f, 1.0f);
    for (float& p : t.probs) p = u(rng);  // any positive values; CE only reads p[label]
    es::TrainGatesOptions o;
    o.alpha = 0.3;
    o.l2 = 0.01;
    auto g = es::initialGates(t, o);
    // Weights on a 2^-12 grid and a power-of-two step keep w +- h exact in float.
    std::uniform_int_distribution<int> q(-4096, 4096);
    for (auto& row : g.weights)
        for (float& w : row) w = static_cast<float>(q(rng)) / 4096.0f;
    for (float& b : g.bias) b = static_cast<float>(q(rng)) / 4096.0f;
    es::GateGradient grad;
    es::gateLoss(t, g, o, &grad);
    const float h = 1.0f / 1024.0f;
    auto check = [&](float& param, double analytic, const std::string& name) {
        const float saved = param;
        param = saved + h;
        const double up = es::gateLoss(t, g, o);
        param = saved - h;
        const double down = es::gateLoss(t, g, o);
        param = saved;
        const double numeric = (up - down) / (2.0 * h);
        EXPECT_LE(std::fabs(analytic - numeric), 1e-3 * std::max(std::fabs(numeric), 1e-3)) << name;
    };
    for (std::size_t k = 0; k < g.bias.size(); ++k) {
        for (std::size_t d = 0; d < g.weights[k].size(); ++d)
            check(g.weights[k][d], grad.weights[k][d], "w" + std::to_string(k) + "," + std::to_string(d));
        check(g.bias[k], grad.bias[k], "b" + std::to_string(k));
    }
}

TEST(GateTrainer, LossIsTheExpectedChargeOverExits) {
    // Zero weights: every gate is 1/2, so exit i is taken with probability
    // 2^-(i+1) and the final exit with 2^-(K-1). tinyTrace at alpha = 1, macs:
    // 0.5 * 0.2 + 0.25 * 0.8 + 0.25 * 1.0 = 0.55.
    auto g = tinyGates();
    for (auto& row : g.weights) std::fill(row.begin(), row.end(), 0.0f);
    g.bias = {0.0f, 0.0f};
    es::TrainGatesOptions o;
    o.alpha = 1.0;
    o.costKind = "macs";
    o.l2 = 0.0;
    EXPECT_NEAR(es::gateLoss(tinyTrace(), g, o), 0.55, 1e-12);
    // alpha = 0: mean over samples of 0.5 CE_0 + 0.25 CE_1 + 0.25 CE_2, the final exit included.
    o.alpha = 0.0;
    const double ce0 = -(std::log(0.3) + std::log(0.6) + std::log(0.1) + std::log(0.3)) / 4;
    const double ce1 = -(std::log(0.7) + std::log(0.2) + std::log(0.1) + std::log(0.7)) / 4;
    const double ce2 = -(std::log(0.1) + std::log(0.1) + std::log(0.8) + std::log(0.1)) / 4;
    EXPECT_NEAR(es::gateLoss(tinyTrace(), g, o), 0.5 * ce0 + 0.25 * ce1 + 0.25 * ce2, 1e-6);
}

// One alpha grid on N = 5000, K = 8, D = 16, shared by the behaviour tests.
class GateGrid : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_trace = new es::Trace(levelTrace(5000, 8, 16, 3));
        const auto start = std::chrono::steady_clock::now();
        s_grid = new std::vector<es::GateSet>(es::trainGateGrid(*s_trace));
        s_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cout << "[ timing ] alpha grid of " << s_grid->size() << " gate sets, N=5000 K=8 D=16: " << s_seconds
                  << " s\n";
    }
    static void TearDownTestSuite() {
        delete s_grid;
        delete s_trace;
    }
    static double meanParamFraction(const es::ExitOutcome& out) {
        double sum = 0;
        for (auto k : out.exitTaken) sum += static_cast<double>(k + 1) / 8.0;  // exit_params = 1000 (k + 1)
        return sum / static_cast<double>(out.exitTaken.size());
    }
    static es::Trace* s_trace;
    static std::vector<es::GateSet>* s_grid;
    static double s_seconds;
};
es::Trace* GateGrid::s_trace = nullptr;
std::vector<es::GateSet>* GateGrid::s_grid = nullptr;
double GateGrid::s_seconds = 0;

TEST_F(GateGrid, HasTwentyOneAlphasFromZeroToOne) {
    ASSERT_EQ(s_grid->size(), 21u);
    for (std::size_t a = 0; a < 21; ++a) EXPECT_NEAR((*s_grid)[a].alpha, 0.05 * static_cast<double>(a), 1e-12);
    EXPECT_EQ(s_grid->back().alpha, 1.0);
    EXPECT_LT(s_seconds, 60.0);  // a few seconds unloaded; generous for a busy machine
}

TEST_F(GateGrid, AlphaZeroKeepsTheFinalExitsAccuracy) {
    // By construction the final exit is right on the 95% of samples that any exit gets right.
    es::ExitOutcome finalExit;
    for (int64_t n = 0; n < 5000; ++n) {
        finalExit.exitTaken.push_back(7);
        finalExit.prediction.push_back(es::argmaxOf(s_trace->probsOf(n, 7), 4));
    }
    const double finalAcc = es::outcomeAccuracy(*s_trace, finalExit);
    EXPECT_NEAR(finalAcc, 0.95, 0.01);
    const auto out = es::applyGates(*s_trace, s_grid->front());
    EXPECT_GE(es::outcomeAccuracy(*s_trace, out), finalAcc - 0.01);
}

TEST_F(GateGrid, RetrainingAnExactAlphaReproducesItsGridEntry) {
    es::TrainGatesOptions o;
    o.alpha = es::alphaGrid()[7];
    EXPECT_EQ(es::gateSetToJson(es::trainGates(*s_trace, o)), es::gateSetToJson((*s_grid)[7]));
}

TEST_F(GateGrid, AlphaOneSendsNearlyEverySampleToTheCheapestExit) {
    const auto out = es::applyGates(*s_trace, s_grid->back());
    const auto atFirst = std::count(out.exitTaken.begin(), out.exitTaken.end(), 0);
    EXPECT_GE(static_cast<double>(atFirst) / 5000.0, 0.95);
}

TEST_F(GateGrid, MeanCostDoesNotRiseWithAlpha) {
    double previous = 2.0;
    for (const auto& g : *s_grid) {
        const double cost = meanParamFraction(es::applyGates(*s_trace, g));
        EXPECT_LE(cost, previous + 0.005) << "alpha " << g.alpha;
        previous = cost;
    }
    EXPECT_LT(meanParamFraction(es::applyGates(*s_trace, s_grid->back())),
              meanParamFraction(es::applyGates(*s_trace, s_grid->front())) - 0.2);
}

TEST(GateTrainer, SameSeedSameGatesAndRefiningDoesNotRaiseTheLoss) {
    const auto t = levelTrace(300, 4, 6, 5);
    es::TrainGatesOptions o;
    o.iterations = 50;
    const auto g = es::trainGates(t, o);
    const auto a = es::gateSetToJson(g);
    EXPECT_EQ(a, es::gateSetToJson(es::trainGates(t, o)));
    o.seed = 2;
    EXPECT_NE(a, es::gateSetToJson(es::trainGates(t, o)));
    o.learningRate = 0.01;
    EXPECT_LE(es::gateLoss(t, es::refineGates(t, g, o), o), es::gateLoss(t, g, o) + 1e-6);
}

TEST(GateTrainer, GridProgressRisesToOne) {
    const auto t = levelTrace(200, 3, 4, 5);
    std::vector<double> fractions;
    es::TrainGatesOptions o;
    o.iterations = 40;
    const auto grid = es::trainGateGrid(t, 0.5, o, [&](const es::Progress& p) { fractions.push_back(p.fraction); });
    ASSERT_EQ(grid.size(), 3u);
    ASSERT_FALSE(fractions.empty());
    EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));
    EXPECT_DOUBLE_EQ(fractions.back(), 1.0);
}

TEST(GateTrainer, CancelStopsTrainingAndTheGrid) {
    const auto t = levelTrace(300, 4, 6, 5);
    es::CancelFlag cancel{true};
    EXPECT_THROW(es::trainGates(t, {}, {}, &cancel), es::Cancelled);
    cancel = false;
    int calls = 0;
    double last = 0;
    auto stopAtFirst = [&](const es::Progress& p) {
        ++calls;
        EXPECT_GE(p.fraction, last);
        last = p.fraction;
        cancel = true;
    };
    EXPECT_THROW(es::trainGateGrid(t, 0.05, {}, stopAtFirst, &cancel), es::Cancelled);
    EXPECT_EQ(calls, 1);
    EXPECT_LT(last, 0.01);
}

TEST(GateTrainer, BadOptionsAreErrors) {
    const auto t = levelTrace(50, 3, 4, 5);
    es::TrainGatesOptions o;
    o.alpha = 1.5;
    EXPECT_NE(errorOf([&] { es::trainGates(t, o); }).find("1.5"), std::string::npos);
    o.alpha = 0.5;
    o.costKind = "joules";
    EXPECT_NE(errorOf([&] { es::trainGates(t, o); }).find("joules"), std::string::npos);
    EXPECT_THROW(es::alphaGrid(0.0), es::Error);
    EXPECT_EQ(es::alphaGrid(0.3), (std::vector<double>{0.0, 0.3, 0.6, 0.8999999999999999, 1.0}));
    auto noGates = t;
    noGates.gateDim = 0;
    noGates.gateInputs.clear();
    EXPECT_THROW(es::trainGates(noGates, {}), es::Error);
}

TEST(GatesJson, RoundTripIsExact) {
    auto g = tinyGates();
    g.weights[0] = {0.1f, -1.0e-30f};
    g.bias[1] = 3.14159274f;
    g.featureStd[1] = {7.0e-6f};
    g.alpha = 0.35;
    const auto back = es::gateSetFromJson(nlohmann::json::parse(es::gateSetToJson(g).dump()), "test");
    ASSERT_EQ(back.bias.size(), g.bias.size());
    for (std::size_t k = 0; k < g.bias.size(); ++k) {
        EXPECT_EQ(std::memcmp(&back.bias[k], &g.bias[k], sizeof(float)), 0);
        EXPECT_EQ(back.weights[k], g.weights[k]);
        EXPECT_EQ(back.featureMean[k], g.featureMean[k]);
        EXPECT_EQ(back.featureStd[k], g.featureStd[k]);
    }
    EXPECT_EQ(back.alpha, g.alpha);
    EXPECT_EQ(back.costKind, g.costKind);
    EXPECT_EQ(back.numExits(), 3);
}

TEST(GatesJson, BadJsonIsRejectedNamingTheField) {
    const auto good = es::gateSetToJson(tinyGates());
    auto missing = good;
    missing["gates"][1].erase("bias");
    EXPECT_NE(errorOf([&] { es::gateSetFromJson(missing, "cfg.json"); }).find("cfg.json: gates[1].bias is missing"),
              std::string::npos);
    auto wide = good;
    wide["gates"][0]["mean"].push_back(1.0);
    EXPECT_NE(errorOf([&] { es::gateSetFromJson(wide, "cfg.json"); }).find("gates[0].mean has 3"), std::string::npos);
    auto nan = good;
    nan["gates"][0]["weights"][1] = std::nan("");
    EXPECT_NE(errorOf([&] { es::gateSetFromJson(nan, "cfg.json"); }).find("gates[0].weights[1]"), std::string::npos);
    auto dumpedNan = nlohmann::json::parse(nan.dump());  // NaN is written as null
    EXPECT_NE(errorOf([&] { es::gateSetFromJson(dumpedNan, "cfg.json"); }).find("gates[0].weights[1] is not a number"),
              std::string::npos);
    auto zeroStd = good;
    zeroStd["gates"][1]["std"][0] = 0.0;
    EXPECT_NE(errorOf([&] { es::gateSetFromJson(zeroStd, "cfg.json"); }).find("gates[1].std[0]"), std::string::npos);
    auto count = good;
    count["num_exits"] = 4;
    EXPECT_NE(errorOf([&] { es::gateSetFromJson(count, "cfg.json"); }).find("num_exits"), std::string::npos);
    auto alpha = good;
    alpha["alpha"] = -0.1;
    EXPECT_NE(errorOf([&] { es::gateSetFromJson(alpha, "cfg.json"); }).find("alpha"), std::string::npos);
    auto kind = good;
    kind["cost_kind"] = "watts";
    EXPECT_NE(errorOf([&] { es::gateSetFromJson(kind, "cfg.json"); }).find("watts"), std::string::npos);
}
