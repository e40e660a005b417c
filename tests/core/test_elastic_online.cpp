#include "core/common/error.h"
#include "core/config/tuned_config.h"
#include "core/elastic/evaluation.h"
#include "core/elastic/predictor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace es = exitscope::core;

namespace {

void expectMessageHas(const std::function<void()>& f, const std::string& part) {
    try {
        f();
        FAIL() << "no Error thrown";
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

// Confidences that follow a random walk along the exits: observing exit k
// tells the most about exit k+1, and the more exits are observed, the
// smaller the error of the rest. c_0 ~ U(0.3, 0.7), steps N(0, 0.04).
std::vector<float> randomWalkConfidences(int64_t n, int64_t K, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> start(0.3f, 0.7f);
    std::normal_distribution<float> step(0.0f, 0.04f);
    std::vector<float> c;
    for (int64_t i = 0; i < n; ++i) {
        float v = start(rng);
        for (int64_t k = 0; k < K; ++k) {
            c.push_back(std::clamp(v, 0.15f, 1.0f));
            v += step(rng);
        }
    }
    return c;
}

// A trace of N samples, K exits, C = 4 classes whose exit k has the given
// max-softmax confidence and is right (argmax == label) or not.
es::Trace traceFrom(const std::vector<float>& conf, const std::vector<uint8_t>& right, int64_t K) {
    es::Trace t;
    t.numExits = K;
    t.numClasses = 4;
    t.numSamples = static_cast<int64_t>(conf.size()) / K;
    for (int64_t n = 0; n < t.numSamples; ++n) {
        const int64_t label = n % 4;
        t.labels.push_back(label);
        for (int64_t k = 0; k < K; ++k) {
            const auto i = static_cast<std::size_t>(n * K + k);
            const float c = std::max(conf[i], 0.3f);
            const int64_t top = right[i] ? label : (label + 1) % 4;
            for (int64_t cl = 0; cl < 4; ++cl) t.probs.push_back(cl == top ? c : (1 - c) / 3);
        }
    }
    return t;
}

es::ExecutionProfile evenProfile(int64_t K) {
    es::ExecutionProfile p;
    p.backboneMs.assign(static_cast<std::size_t>(K), 1.0);
    p.headMs.assign(static_cast<std::size_t>(K), 0.5);
    p.chanceAccuracy = 0.25;
    return p;
}

es::PredictorOptions quickOptions() {
    es::PredictorOptions o;
    o.hidden = {16};
    o.epochs = 30;
    o.seed = 1;
    return o;
}

}  // namespace

TEST(ElasticPredictor, ErrorFallsAsMoreExitsAreObserved) {
    const int64_t K = 6;
    const auto train = randomWalkConfidences(3000, K, 1);
    const auto test = randomWalkConfidences(1000, K, 2);
    const auto net = es::ConfidencePredictor::train(train, K, quickOptions());
    const auto e = es::predictorError(net, test);
    ASSERT_EQ(e.byObserved.size(), 6u);
    // Nothing observed: the spread of U(0.3, 0.7) plus the walk, MAE about
    // 0.1; one exit before the last observed: one step, MAE about 0.032.
    EXPECT_GT(e.byObserved[0], 0.08);
    EXPECT_LT(e.byObserved[K - 1], 0.045);
    for (int64_t L = 1; L < K; ++L)
        EXPECT_LT(e.byObserved[static_cast<std::size_t>(L)], e.byObserved[static_cast<std::size_t>(L - 1)] + 0.003)
            << "L = " << L;
    // The mean profile cannot use what it observes: its error stays high.
    const auto flat = es::predictorError(net.meanOnly(), test);
    EXPECT_GT(flat.byObserved[K - 1], 0.08);
    EXPECT_TRUE(std::isnan(e.matrix[static_cast<std::size_t>(2 * K + 1)]));  // exit 1 is observed when L = 2
}

TEST(ElasticPredictor, PredictKeepsObservedValuesAndIsReproducible) {
    const int64_t K = 4;
    const auto conf = randomWalkConfidences(500, K, 3);
    const auto a = es::ConfidencePredictor::train(conf, K, quickOptions());
    const auto b = es::ConfidencePredictor::train(conf, K, quickOptions());
    const float observed[4] = {0.42f, 0.0f, 0.0f, 0.0f};
    const uint8_t mask[4] = {1, 0, 0, 0};
    float pa[4], pb[4];
    a.predict(observed, mask, pa);
    b.predict(observed, mask, pb);
    EXPECT_EQ(pa[0], 0.42f);
    for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(pa[k], pb[k]);
        EXPECT_GT(pa[k], 0.0f);
        EXPECT_LT(pa[k], 1.0f);
    }
    // JSON round trip gives the same predictions.
    const auto c = es::ConfidencePredictor::fromJson(nlohmann::json::parse(a.toJson().dump()), "p");
    float pc[4];
    c.predict(observed, mask, pc);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(pa[k], pc[k]);
    expectMessageHas([&] { es::ConfidencePredictor::train({0.5f, 1.5f}, 2); }, "exit 1 is 1.5");
    expectMessageHas([&] { es::ConfidencePredictor::train({0.5f, 0.5f, 0.5f}, 2); }, "whole number");
    auto badOptions = quickOptions();
    badOptions.hidden = {0};
    expectMessageHas([&] { es::ConfidencePredictor::train(conf, K, badOptions); }, "hidden width 0");
}

TEST(ElasticOnline, NeverAnswersWithABranchNotFinishedByT) {
    const int64_t K = 6;
    const auto conf = randomWalkConfidences(200, K, 4);
    const auto net = es::ConfidencePredictor::train(conf, K, quickOptions());
    const auto profile = evenProfile(K);
    const auto d = es::ForcedExitDistribution::uniform(1.0, 9.0);
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> T(0.0, 12.0);
    for (int64_t n = 0; n < 200; ++n) {
        for (auto method : {es::SearchMethod::Hybrid, es::SearchMethod::Greedy, es::SearchMethod::Random}) {
            const auto run = es::runOnline(profile, d, net, conf.data() + n * K, method, {2, 8}, &rng);
            ASSERT_EQ(run.exits.size(), run.finishMs.size());
            // The finish times are those of a plan running exactly these branches.
            const auto finish = es::planFinishTimes(profile, es::maskOf(run.exits), es::initialState(profile));
            for (std::size_t i = 0; i < run.exits.size(); ++i)
                EXPECT_DOUBLE_EQ(run.finishMs[i], finish[static_cast<std::size_t>(run.exits[i])]);
            for (int j = 0; j < 20; ++j) {
                const double t = T(rng);
                const int64_t a = es::answerIndex(run, t);
                if (a >= 0) {
                    EXPECT_LE(run.finishMs[static_cast<std::size_t>(a)], t);
                }
                if (a + 1 < static_cast<int64_t>(run.exits.size())) {
                    EXPECT_GT(run.finishMs[static_cast<std::size_t>(a + 1)], t);
                }
            }
            // Each re-plan starts where the previous branch finished and
            // plans with the observed confidence of every branch that ran.
            for (std::size_t i = 0; i < run.exits.size() && i + 1 < run.steps.size(); ++i) {
                EXPECT_DOUBLE_EQ(run.steps[i + 1].timeMs, run.finishMs[i]);
                for (std::size_t r = 0; r <= i; ++r)
                    EXPECT_EQ(run.steps[i + 1].confidence[static_cast<std::size_t>(run.exits[r])],
                              conf[static_cast<std::size_t>(n * K + run.exits[r])]);
            }
        }
    }
}

TEST(ElasticOnline, BaselinePlansRunTheBranchesTheyName) {
    const auto profile = evenProfile(4);
    const float conf[4] = {0.5f, 0.96f, 0.2f, 0.99f};
    // 95%: exits 0 and 1 run (1 reaches it), exit 2 is skipped, the final runs.
    const auto c95 = es::runConfidencePlan(profile, conf, 0.95);
    EXPECT_EQ(c95.exits, (std::vector<int64_t>{0, 1, 3}));
    EXPECT_EQ(c95.finishMs, (std::vector<double>{1.5, 3.0, 5.5}));
    // 99%: none before the final reaches it, so every branch runs.
    EXPECT_EQ(es::runConfidencePlan(profile, conf, 0.99).exits, (std::vector<int64_t>{0, 1, 2, 3}));
    const auto finalOnly = es::runFixedPlan(profile, es::maskOf({3}));
    EXPECT_EQ(finalOnly.finishMs, (std::vector<double>{4.5}));
}

TEST(ElasticEvaluation, HandBuiltCaseAndReproducibleForASeed) {
    const int64_t K = 4;
    // Sample 0: only the final exit is right; sample 1: every exit right.
    std::vector<float> conf = {0.5f, 0.5f, 0.5f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f};
    std::vector<uint8_t> right = {0, 0, 0, 1, 1, 1, 1, 1};
    const auto trace = traceFrom(conf, right, K);
    const auto profile = evenProfile(K);  // all branches: 1.5, 3, 4.5, 6; final alone: 4.5
    const auto mean = es::ConfidencePredictor::meanProfile(conf, K);
    const auto fixed = es::ForcedExitDistribution::fixed(5.0);
    const auto ev = es::evaluateElastic(trace, profile, fixed, mean, {});
    // T = 5: the final alone (4.5) answers both right; running every branch
    // answers exit 2 (4.5): wrong for sample 0, right for sample 1.
    EXPECT_DOUBLE_EQ(ev.row("final-only").accuracy, 1.0);
    EXPECT_DOUBLE_EQ(ev.row("static-100").accuracy, 0.5);
    EXPECT_DOUBLE_EQ(ev.row("static-100").expectedAccuracy, 0.5);
    // Static 25% runs exit 0 only: right for sample 1.
    EXPECT_DOUBLE_EQ(ev.row("static-25").accuracy, 0.5);
    EXPECT_DOUBLE_EQ(ev.row("oracle").accuracy, 1.0);
    EXPECT_DOUBLE_EQ(ev.row("static-100").meanBranchesRun, 4.0);
    EXPECT_DOUBLE_EQ(ev.row("static-100").meanAnswered, 3.0);
    // T = 1: nothing has finished: a uniform guess, 1/4, for every strategy.
    const auto none = es::evaluateElastic(trace, profile, es::ForcedExitDistribution::fixed(1.0), mean, {});
    for (const auto& r : none.rows) EXPECT_DOUBLE_EQ(r.accuracy, 0.25) << r.key;

    // A random distribution: the same seed gives the same table with any
    // number of threads; another seed draws other times.
    const auto walk = randomWalkConfidences(300, K, 9);
    std::vector<uint8_t> walkRight;
    for (std::size_t i = 0; i < walk.size(); ++i) walkRight.push_back(walk[i] > 0.5f);
    const auto big = traceFrom(walk, walkRight, K);
    const auto net = es::ConfidencePredictor::train(walk, K, quickOptions());
    const auto u = es::ForcedExitDistribution::uniform(1.0, 7.0);
    es::ElasticEvalOptions o;
    o.seed = 11;
    o.threads = 1;
    const auto a = es::evaluateElastic(big, profile, u, net, o);
    o.threads = 3;
    const auto b = es::evaluateElastic(big, profile, u, net, o);
    ASSERT_EQ(a.rows.size(), b.rows.size());
    for (std::size_t i = 0; i < a.rows.size(); ++i) {
        EXPECT_EQ(a.rows[i].key, b.rows[i].key);
        EXPECT_EQ(a.rows[i].accuracy, b.rows[i].accuracy) << a.rows[i].key;
        EXPECT_EQ(a.rows[i].expectedAccuracy, b.rows[i].expectedAccuracy) << a.rows[i].key;
    }
    o.seed = 12;
    const auto c = es::evaluateElastic(big, profile, u, net, o);
    EXPECT_NE(a.meanForcedExitMs, c.meanForcedExitMs);
    // The oracle bounds every strategy, exactly and on the drawn times.
    for (const auto& r : a.rows) {
        EXPECT_LE(r.expectedAccuracy, a.row("oracle").expectedAccuracy + 1e-12) << r.key;
        EXPECT_LE(r.accuracy, a.row("oracle").accuracy + 1e-12) << r.key;
    }
    EXPECT_EQ(a.numSamples, 300);
    EXPECT_EQ(a.timesPerSample, 20);
}

// A tuned config edited and saved by a Windows editor starts with a UTF-8
// byte-order mark: it loads as the same config; ExitScope never writes one.
/// A 3-exit, 10-class config of a static policy.
es::TunedConfig staticConfig(const std::string& model, int64_t exit) {
    es::TunedConfig c;
    c.model = model;
    c.weightsHash = "abc";
    c.dataset = "fashion-mnist";
    c.numExits = 3;
    c.numClasses = 10;
    c.policy.kind = es::PolicyKind::Static;
    c.policy.staticExit = exit;
    return c;
}

TEST(TunedConfigFile, AByteOrderMarkIsAcceptedAndNeverWritten) {
    const es::TunedConfig c = staticConfig("msdnet", 1);
    const std::string path = ::testing::TempDir() + "config_bom.json";
    es::saveConfig(c, path);
    std::string text;
    {
        std::ifstream in(path, std::ios::binary);
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    ASSERT_FALSE(text.empty());
    EXPECT_NE(static_cast<unsigned char>(text[0]), 0xEF);
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << "\xEF\xBB\xBF" << text;
    }
    EXPECT_EQ(es::configToJson(es::loadConfig(path)), es::configToJson(c));
}

TEST(ElasticConfig, RoundTripAndOldConfigsStillLoad) {
    es::TunedConfig c = staticConfig("vgg-fine", 2);
    const std::string oldPath = ::testing::TempDir() + "elastic_old.json";
    es::saveConfig(c, oldPath);
    EXPECT_FALSE(es::loadConfig(oldPath).elastic.has_value());

    es::ElasticSettings s;
    s.method = es::SearchMethod::Greedy;
    s.search = {3, 12};
    s.deadlineSpec = "uniform:0.2,1.0";
    s.deadlineUnit = "fraction";
    s.fullMs = 5.0;
    s.distributionMs = es::ForcedExitDistribution::uniform(1.0, 5.0);
    s.device = "phone-class";
    s.predictor = es::ConfidencePredictor::train(randomWalkConfidences(100, 3, 1), 3, quickOptions());
    s.expectedTestAccuracy = 0.875;
    s.temperatures = {1.5f, 1.25f, 2.0f};
    c.elastic = s;
    const std::string path = ::testing::TempDir() + "elastic_new.json";
    es::saveConfig(c, path);
    const auto back = es::loadConfig(path);
    ASSERT_TRUE(back.elastic.has_value());
    const auto& e = *back.elastic;
    EXPECT_EQ(e.method, es::SearchMethod::Greedy);
    EXPECT_EQ(e.search.enumerate, 3);
    EXPECT_EQ(e.search.randomPlans, 12);
    EXPECT_EQ(e.deadlineSpec, "uniform:0.2,1.0");
    EXPECT_EQ(e.deadlineUnit, "fraction");
    EXPECT_DOUBLE_EQ(e.fullMs, 5.0);
    EXPECT_EQ(e.distributionMs.parameters(), (std::vector<double>{1.0, 5.0}));
    EXPECT_EQ(e.device, "phone-class");
    EXPECT_DOUBLE_EQ(*e.expectedTestAccuracy, 0.875);
    EXPECT_EQ(e.predictor.toJson(), s.predictor.toJson());
    EXPECT_EQ(e.temperatures, s.temperatures);
    EXPECT_EQ(back.policy.staticExit, 2);

    auto j = es::configToJson(c);
    j["elastic"]["deadline"]["unit"] = "seconds";
    expectMessageHas([&] { es::configFromJson(j, "cfg.json"); }, "cfg.json: elastic.deadline.unit 'seconds'");
    j = es::configToJson(c);
    j["elastic"]["temperatures"] = {1.0, 1.0};
    expectMessageHas([&] { es::configFromJson(j, "cfg.json"); }, "elastic.temperatures");
    j = es::configToJson(c);
    j["elastic"]["search"] = "beam";
    expectMessageHas([&] { es::configFromJson(j, "cfg.json"); }, "elastic.search");
    j = es::configToJson(c);
    j["model"]["num_exits"] = 4;
    j["policy"]["exit"] = 1;
    expectMessageHas([&] { es::configFromJson(j, "cfg.json"); }, "predictor is for 3 exits, the model has 4");
}

TEST(ElasticEvaluation, MismatchesAreErrorsAndCancelStops) {
    const int64_t K = 4;
    const auto walk = randomWalkConfidences(50, K, 3);
    std::vector<uint8_t> right(walk.size(), 1);
    const auto trace = traceFrom(walk, right, K);
    const auto mean = es::ConfidencePredictor::meanProfile(walk, K);
    const auto d = es::ForcedExitDistribution::uniform(1.0, 6.0);
    expectMessageHas([&] { es::evaluateElastic(trace, evenProfile(3), d, mean, {}); },
                     "the trace has 4 exits, the profile 3");
    es::ElasticEvalOptions o;
    o.timesPerSample = 0;
    expectMessageHas([&] { es::evaluateElastic(trace, evenProfile(K), d, mean, o); }, "at least one forced-exit time");
    o.timesPerSample = 3;
    o.maxSamples = 10;
    const auto ev = es::evaluateElastic(trace, evenProfile(K), d, mean, o);
    EXPECT_EQ(ev.numSamples, 10);
    // Every exit is right: the accuracy is 1 whenever some branch has finished.
    EXPECT_DOUBLE_EQ(ev.row("oracle").expectedAccuracy, (4.5 / 5.0) * 1.0 + (0.5 / 5.0) * 0.25);
    es::CancelFlag cancel{true};
    o.cancel = &cancel;
    EXPECT_THROW(es::evaluateElastic(trace, evenProfile(K), d, mean, o), es::Cancelled);
    expectMessageHas([&] { ev.row("nope"); }, "no row 'nope'");
}
