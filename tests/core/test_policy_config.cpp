// The unified policy (decideAtExit / applyPolicy) against each policy's own
// evaluation, policy JSON, and tuned configs.
#include "core/common/error.h"
#include "core/config/tuned_config.h"
#include "core/policy/anytime.h"
#include "core/policy/baselines.h"
#include "core/policy/budgeted.h"
#include "core/policy/calibration.h"
#include "core/policy/policy.h"
#include "core/train/gate_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

namespace es = exitscope::core;
namespace fs = std::filesystem;

namespace {

/// A random but plausible trace: later exits are more often right and more confident.
es::Trace randomTrace(int64_t n, int64_t k, int64_t c, uint64_t seed, const std::string& hash = "abc123") {
    es::Trace t;
    t.numSamples = n;
    t.numExits = k;
    t.numClasses = c;
    t.numBlocks = k;
    t.gateDim = 4;
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(0.0, 1.0);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t label = static_cast<int64_t>(rng() % static_cast<uint64_t>(c));
        t.labels.push_back(label);
        t.sampleIndex.push_back(i);
        for (int64_t e = 0; e < k; ++e) {
            std::vector<double> logits(static_cast<std::size_t>(c));
            double sum = 0;
            for (int64_t j = 0; j < c; ++j) {
                logits[static_cast<std::size_t>(j)] = noise(rng) + (j == label ? 0.8 * static_cast<double>(e + 1) : 0.0);
                sum += std::exp(logits[static_cast<std::size_t>(j)]);
            }
            for (int64_t j = 0; j < c; ++j) t.probs.push_back(static_cast<float>(std::exp(logits[static_cast<std::size_t>(j)]) / sum));
            for (int64_t d = 0; d < t.gateDim; ++d) t.gateInputs.push_back(static_cast<float>(noise(rng) + (d == 0 ? logits[static_cast<std::size_t>(label)] : 0.0)));
        }
    }
    for (int64_t e = 0; e < k; ++e) {
        t.exitMacs.push_back(1000 * (e + 1) + 100 * e);
        t.exitParams.push_back(50 * (e + 1));
        t.exitMs.push_back(0.5f * static_cast<float>(e + 1));
        t.exitBlock.push_back(e);
        t.blockMacs.push_back(1000);
        t.blockParams.push_back(40);
        t.blockMs.push_back(0.4f);
        t.blockOutBytes.push_back(4096);
        t.blockRelu.push_back(1);
        t.headMacs.push_back(100);
        t.headParams.push_back(10);
        t.headMs.push_back(0.1f);
        t.gateDims.push_back(4);
    }
    t.metadata = {{"model", "msdnet"}, {"weights_hash", hash}, {"dataset", "fashion-mnist"}};
    return t;
}

void expectSameOutcome(const es::ExitOutcome& a, const es::ExitOutcome& b) {
    ASSERT_EQ(a.exitTaken.size(), b.exitTaken.size());
    EXPECT_EQ(a.exitTaken, b.exitTaken);
    EXPECT_EQ(a.prediction, b.prediction);
}

fs::path tempPath(const std::string& name) {
    return fs::temp_directory_path() / ("exitscope_cfg_" + std::to_string(::getpid()) + "_" + name);
}

} // namespace

TEST(PolicyConfig, AppliedPolicyEqualsEachPolicysOwnEvaluation) {
    const auto t = randomTrace(3000, 5, 10, 1);
    // Confidence: every criterion, global and per-exit thresholds, with and without temperatures.
    for (auto criterion : {es::ConfidenceCriterion::MaxSoftmax, es::ConfidenceCriterion::Entropy, es::ConfidenceCriterion::Margin}) {
        for (const auto& thresholds : {std::vector<float>{0.6f}, std::vector<float>{0.9f, 0.7f, 0.5f, 0.3f}}) {
            for (const auto& temps : {std::vector<float>{}, es::fitTemperatures(t)}) {
                es::PolicyConfig p;
                p.confidence = {criterion, thresholds, temps};
                expectSameOutcome(es::applyPolicy(t, p), es::evaluate(t, p.confidence));
            }
        }
    }
    // Budgeted batch, fitted on another trace.
    es::PolicyConfig b;
    b.kind = es::PolicyKind::Budgeted;
    b.budgeted = es::fitBudgetedBatch(randomTrace(2000, 5, 10, 2), 2500.0);
    expectSameOutcome(es::applyPolicy(t, b), es::evaluateBudgetedBatch(t, b.budgeted).outcome);
    // LEENet gates.
    es::PolicyConfig g;
    g.kind = es::PolicyKind::Gates;
    es::TrainGatesOptions opts;
    opts.alpha = 0.3;
    opts.iterations = 50;
    g.gates = es::trainGates(randomTrace(2000, 5, 10, 3), opts);
    expectSameOutcome(es::applyPolicy(t, g), es::applyGates(t, g.gates));
    // Static and anytime.
    es::PolicyConfig s;
    s.kind = es::PolicyKind::Static;
    s.staticExit = 2;
    expectSameOutcome(es::applyPolicy(t, s), es::staticExit(t, 2));
    es::PolicyConfig a;
    a.kind = es::PolicyKind::Anytime;
    a.anytimeBudget = 3400;  // exits cost 1000, 2100, 3200, 4300, ...: exit 2 is the deepest finished
    expectSameOutcome(es::applyPolicy(t, a), es::staticExit(t, 2));
    EXPECT_EQ(es::anytimeExit(es::anytimeProfile(t, es::BudgetUnit::Macs), 3400), 2);
    a.anytimeBudget = 999;
    EXPECT_THROW(es::applyPolicy(t, a), es::Error);
}

TEST(PolicyConfig, JsonRoundTripIsExactForEveryKind) {
    const auto t = randomTrace(1500, 4, 6, 4);
    std::vector<es::PolicyConfig> policies(5);
    policies[0].confidence = {es::ConfidenceCriterion::Margin, {0.1f, 0.2f, 0.3f}, es::fitTemperatures(t)};
    policies[1].kind = es::PolicyKind::Budgeted;
    policies[1].budgeted = es::fitBudgetedBatch(t, 2000.0);
    policies[2].kind = es::PolicyKind::Gates;
    es::TrainGatesOptions opts;
    opts.iterations = 20;
    policies[2].gates = es::trainGates(t, opts);
    policies[3].kind = es::PolicyKind::Static;
    policies[3].staticExit = 1;
    policies[4].kind = es::PolicyKind::Anytime;
    policies[4].anytimeBudget = 0.75;
    policies[4].anytimeUnit = es::BudgetUnit::Milliseconds;
    for (const auto& p : policies) {
        SCOPED_TRACE(es::policyKindName(p.kind));
        const auto text = es::policyToJson(p).dump();
        const auto back = es::policyFromJson(nlohmann::json::parse(text), "test");
        EXPECT_EQ(es::policyToJson(back).dump(), text);
        expectSameOutcome(es::applyPolicy(t, back), es::applyPolicy(t, p));
    }
    // The whole-network budget gives q = -infinity, which JSON cannot hold.
    es::PolicyConfig full;
    full.kind = es::PolicyKind::Budgeted;
    full.budgeted = es::fitBudgetedBatch(t, static_cast<double>(t.exitMacs.back()));
    EXPECT_TRUE(std::isinf(es::policyFromJson(es::policyToJson(full), "test").budgeted.q));
}

TEST(PolicyConfig, BadPolicyJsonNamesTheField) {
    auto expectError = [](const std::string& text, const std::string& needle) {
        try {
            es::policyFromJson(nlohmann::json::parse(text), "cfg.json");
            ADD_FAILURE() << text;
        } catch (const es::Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expectError(R"({"kind": "telepathy"})", "telepathy");
    expectError(R"({"kind": "confidence", "criterion": "max-softmax"})", "thresholds");
    expectError(R"({"kind": "confidence", "criterion": "vibes", "thresholds": [0.5]})", "vibes");
    expectError(R"({"kind": "confidence", "criterion": "margin", "thresholds": ["x"]})", "thresholds");
    expectError(R"({"kind": "static", "exit": 1.5})", "exit");
    expectError(R"({"kind": "anytime", "budget": 10, "unit": "parsecs"})", "parsecs");
    expectError(R"([1, 2])", "object");
}

TEST(TunedConfig, SaveLoadRoundTripAndExpectedFigures) {
    const auto val = randomTrace(2000, 5, 10, 5);
    const auto test = randomTrace(2000, 5, 10, 6);
    es::PolicyConfig p;
    p.confidence = {es::ConfidenceCriterion::MaxSoftmax, {0.8f}, {}};
    const auto config = es::makeTunedConfig(p, val, &test);
    ASSERT_TRUE(config.validation && config.test);
    const auto outcome = es::evaluate(val, p.confidence);
    EXPECT_DOUBLE_EQ(config.validation->accuracy, es::outcomeAccuracy(val, outcome));
    EXPECT_DOUBLE_EQ(config.validation->meanMacs, es::outcomeMeanMacs(val, outcome));
    EXPECT_EQ(config.validation->n, 2000);
    EXPECT_EQ(config.model, "msdnet");
    EXPECT_EQ(config.weightsHash, "abc123");

    const auto path = tempPath("round.json").string();
    es::saveConfig(config, path);
    const auto loaded = es::loadConfig(path);
    EXPECT_EQ(es::configToJson(loaded), es::configToJson(config));
    const auto j = nlohmann::json::parse(std::ifstream(path));
    EXPECT_EQ(j.at("schema"), 1);
    EXPECT_EQ(j.at("policy").at("kind"), "confidence");
    fs::remove(path);
}

TEST(TunedConfig, HashMismatchAndBadFilesAreRejectedSayingWhat) {
    const auto val = randomTrace(500, 5, 10, 7);
    es::PolicyConfig p;
    p.confidence = {es::ConfidenceCriterion::MaxSoftmax, {0.8f}, {}};
    const auto config = es::makeTunedConfig(p, val);
    try {
        es::checkConfigMatchesTrace(config, randomTrace(100, 5, 10, 8, "def456"), "other.safetensors");
        FAIL();
    } catch (const es::Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("weights hash is 'abc123' in the config but 'def456' here"), std::string::npos) << what;
    }
    EXPECT_THROW(es::checkConfigMatchesTrace(config, randomTrace(100, 4, 10, 8), "t"), es::Error);
    EXPECT_THROW(es::makeTunedConfig(p, val, &static_cast<const es::Trace&>(randomTrace(100, 5, 10, 9, "zzz"))), es::Error);

    auto write = [](const std::string& name, const std::string& text) {
        const auto path = tempPath(name).string();
        std::ofstream(path) << text;
        return path;
    };
    auto expectError = [](const std::string& path, const std::string& needle) {
        try {
            es::loadConfig(path);
            ADD_FAILURE() << path;
        } catch (const es::Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        }
        fs::remove(path);
    };
    auto good = es::configToJson(config);
    expectError(write("missing.json", ""), "not valid JSON");
    expectError(write("truncated.json", good.dump().substr(0, 40)), "not valid JSON");
    auto schema2 = good;
    schema2["schema"] = 2;
    expectError(write("schema.json", schema2.dump()), "schema 2");
    auto noHash = good;
    noHash["model"].erase("weights_hash");
    expectError(write("nohash.json", noHash.dump()), "weights_hash");
    auto fewThresholds = good;
    fewThresholds["policy"]["thresholds"] = {0.5, 0.5};
    expectError(write("few.json", fewThresholds.dump()), "thresholds");
    auto badThreshold = good;
    badThreshold["policy"]["thresholds"] = {1.5};
    expectError(write("range.json", badThreshold.dump()), "1.5");
    expectError(write("deep.json", std::string(100000, '[') + std::string(100000, ']')), "deep.json");
    EXPECT_THROW(es::loadConfig(tempPath("does-not-exist.json").string()), es::Error);
}
