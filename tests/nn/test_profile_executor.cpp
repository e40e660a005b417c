// Profiling into traces and the real early-exit executor.
#include "core/common/error.h"
#include "core/data/registry.h"
#include "core/executor/executor.h"
#include "core/model/checkpoint.h"
#include "core/model/layers.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"
#include "core/model/zoo.h"
#include "core/policy/calibration.h"
#include "core/policy/confidence.h"
#include "core/policy/policy.h"
#include "core/train/gate_trainer.h"
#include "core/profile/profiler.h"
#include "core/trace/trace.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>

namespace es = exitscope::core;
namespace fs = std::filesystem;

namespace {

es::Dataset noiseDataset(int64_t n, int64_t classes) {
    es::Dataset d;
    d.name = "noise";
    auto& im = d.testImages;
    im.name = "noise/test";
    im.channels = 1;
    im.height = 28;
    im.width = 28;
    std::mt19937 rng(3);
    for (int64_t c = 0; c < classes; ++c) im.classNames.push_back(std::to_string(c));
    for (int64_t i = 0; i < n * 28 * 28; ++i) im.pixels.push_back(static_cast<uint8_t>(rng() % 256));
    for (int64_t i = 0; i < n; ++i) {
        im.labels.push_back(i % classes);
        d.testIndices.push_back(i);
    }
    d.trainImages = im;
    d.trainIndices = d.testIndices;
    return d;
}

std::shared_ptr<es::MultiExitNet> randomNet(const std::string& name, int64_t classes) {
    es::ModelSpec s;
    s.name = name;
    for (int64_t c = 0; c < classes; ++c) s.classNames.push_back(std::to_string(c));
    s.normalisation = {{0.5f}, {0.3f}};
    torch::manual_seed(11);
    auto net = es::buildModel(s);
    net->eval();
    return net;
}

std::string assetsDir() {
    const char* env = std::getenv("EXITSCOPE_ASSETS");
    return env ? env : std::string(EXITSCOPE_SOURCE_DIR) + "/assets";
}

} // namespace

TEST(Profile, TraceHoldsConsistentProbabilitiesCostsAndTimes) {
    auto net = randomNet("msdnet", 4);
    const auto data = noiseDataset(40, 4);
    es::ProfileOptions opts;
    opts.batchSize = 16;  // several batches, the last one partial
    opts.timingSamples = 5;
    opts.warmupSamples = 1;
    double lastFraction = -1;
    const auto trace = es::profileModel(*net, data, opts, [&](const es::Progress& p) {
        EXPECT_GE(p.fraction, lastFraction);
        lastFraction = p.fraction;
    });
    EXPECT_DOUBLE_EQ(lastFraction, 1.0);
    ASSERT_EQ(trace.numSamples, 40);
    ASSERT_EQ(trace.numExits, net->numExits());
    ASSERT_EQ(trace.numClasses, 4);
    ASSERT_EQ(trace.numBlocks, net->numBlocks());
    const auto costs = net->measureCosts();
    for (int64_t k = 0; k < trace.numExits; ++k) {
        EXPECT_EQ(trace.exitMacs[static_cast<std::size_t>(k)], costs.cumulativeExitMacs(static_cast<std::size_t>(k)));
        if (k > 0) {
            EXPECT_GE(trace.exitMs[static_cast<std::size_t>(k)], trace.exitMs[static_cast<std::size_t>(k - 1)]);
        }
    }
    // Probabilities against an independent full forward pass of the same images.
    torch::NoGradGuard ng;
    std::vector<int64_t> all(40);
    std::iota(all.begin(), all.end(), 0);
    auto logits = net->forwardAll(es::imagesToTensor(data.testImages, all, net->spec().normalisation));
    for (int64_t n = 0; n < 40; ++n) {
        EXPECT_EQ(trace.sampleIndex[static_cast<std::size_t>(n)], n);
        EXPECT_EQ(trace.labels[static_cast<std::size_t>(n)], n % 4);
        for (int64_t k = 0; k < trace.numExits; ++k) {
            auto p = torch::softmax(logits[static_cast<std::size_t>(k)][n], 0);
            double sum = 0;
            for (int64_t c = 0; c < 4; ++c) {
                EXPECT_NEAR(trace.prob(n, k, c), p[c].item<float>(), 1e-5);
                sum += trace.prob(n, k, c);
            }
            EXPECT_NEAR(sum, 1.0, 1e-5);
        }
    }
    EXPECT_EQ(trace.metadata.at("model"), "msdnet");
    EXPECT_EQ(trace.metadata.at("split"), "test");
    // Gate inputs: msdnet's coarsest scale is wider than 16 channels, so it is group-averaged to 16.
    EXPECT_EQ(trace.gateDim, es::ExitHead::kMaxGateFeatures);
    for (auto d : trace.gateDims) EXPECT_EQ(d, es::ExitHead::kMaxGateFeatures);
}

TEST(Profile, CancelStopsTheRun) {
    auto net = randomNet("vgg-fine", 3);
    const auto data = noiseDataset(8, 3);
    es::CancelFlag cancel{true};
    EXPECT_THROW(es::profileModel(*net, data, {}, {}, &cancel), es::Cancelled);
}

TEST(Executor, ThresholdsZeroAndOneGiveFirstAndLastExit) {
    auto net = randomNet("resnet-spinn", 5);
    const auto data = noiseDataset(12, 5);
    std::vector<int64_t> idx(12);
    std::iota(idx.begin(), idx.end(), 0);
    auto x = es::imagesToTensor(data.testImages, idx, net->spec().normalisation);
    torch::NoGradGuard ng;
    auto logits = net->forwardAll(x);

    es::EarlyExitExecutor first(net, std::vector<float>(static_cast<std::size_t>(net->numExits() - 1), 0.0f));
    const auto r0 = first.run(x);
    for (int64_t i = 0; i < 12; ++i) {
        EXPECT_EQ(r0[static_cast<std::size_t>(i)].exitTaken, 0);
        EXPECT_EQ(r0[static_cast<std::size_t>(i)].prediction, logits[0][i].argmax().item<int64_t>());
        EXPECT_EQ(r0[static_cast<std::size_t>(i)].confidences.size(), 1u);
    }
    // An untrained net never reaches a max softmax of exactly 1, so everything runs to the end.
    es::EarlyExitExecutor last(net, std::vector<float>(static_cast<std::size_t>(net->numExits() - 1), 1.0f));
    const auto r1 = last.run(x);
    for (int64_t i = 0; i < 12; ++i) {
        EXPECT_EQ(r1[static_cast<std::size_t>(i)].exitTaken, net->numExits() - 1);
        EXPECT_EQ(r1[static_cast<std::size_t>(i)].prediction, logits.back()[i].argmax().item<int64_t>());
        EXPECT_EQ(static_cast<int64_t>(r1[static_cast<std::size_t>(i)].confidences.size()), net->numExits());
    }
    EXPECT_TRUE(torch::equal(last.runFull(x), logits.back().argmax(1)));
}

TEST(Executor, BadThresholdsAndDevicesAreErrors) {
    auto net = randomNet("vgg-fine", 3);
    EXPECT_THROW(es::EarlyExitExecutor(net, {0.5f}), es::Error);
    EXPECT_THROW(es::EarlyExitExecutor(net, std::vector<float>(static_cast<std::size_t>(net->numExits() - 1), 1.5f)), es::Error);
    EXPECT_THROW(es::parseDevice("tpu"), es::Error);
    if (!torch::cuda::is_available()) {
        EXPECT_THROW(es::parseDevice("cuda"), es::Error);
    }
}

TEST(Executor, AgreesWithTheBundledTraceOn1000TestImages) {
    const std::string weights = assetsDir() + "/models/msdnet-fashion-mnist.pt";
    const std::string tracePath = assetsDir() + "/models/msdnet-fashion-mnist-test.safetensors";
    if (!fs::exists(weights) || !fs::exists(tracePath)) GTEST_SKIP() << "bundled assets missing: " << weights;
    es::Dataset data;
    try {
        data = es::loadDataset("fashion-mnist");
    } catch (const es::Error& e) {
        GTEST_SKIP() << "Fashion-MNIST not installed: " << e.what();
    }
    auto net = es::loadCheckpoint(weights, "msdnet");
    const auto trace = es::readTrace(tracePath);
    ASSERT_EQ(trace.metadata.at("weights_hash"), net->spec().weightsHash);
    ASSERT_GE(trace.numSamples, 1000);

    const std::vector<float> thresholds(static_cast<std::size_t>(trace.numExits - 1), 0.9f);
    const auto outcome = es::applyConfidenceThresholds(trace, thresholds);
    es::EarlyExitExecutor executor(net, thresholds);
    std::vector<int64_t> exitsUsed(static_cast<std::size_t>(trace.numExits), 0);
    int64_t agree = 0;
    for (int64_t start = 0; start < 1000; start += 250) {
        std::vector<int64_t> idx;
        for (int64_t n = start; n < start + 250; ++n) idx.push_back(trace.sampleIndex[static_cast<std::size_t>(n)]);
        const auto results = executor.run(es::imagesToTensor(data.testImages, idx, net->spec().normalisation));
        for (int64_t i = 0; i < 250; ++i) {
            const auto n = static_cast<std::size_t>(start + i);
            const auto& r = results[static_cast<std::size_t>(i)];
            ++exitsUsed[static_cast<std::size_t>(r.exitTaken)];
            agree += r.exitTaken == outcome.exitTaken[n] && r.prediction == outcome.prediction[n];
            // The confidences the executor saw are the trace's max softmax at each exit evaluated.
            for (std::size_t k = 0; k < r.confidences.size(); ++k) {
                const float* p = trace.probsOf(static_cast<int64_t>(n), static_cast<int64_t>(k));
                EXPECT_NEAR(r.confidences[k], p[es::argmaxOf(p, trace.numClasses)], 1e-4);
            }
        }
    }
    EXPECT_EQ(agree, 1000);
    EXPECT_GT(exitsUsed.front(), 0);  // early exit really happens
    EXPECT_LT(exitsUsed.front(), 1000);

    // Pooled across batches (msdnet's state is several tensors, joined with
    // torch::cat): the same decisions, in input order.
    std::vector<torch::Tensor> batches;
    for (int64_t start = 0; start < 1000; start += 250) {
        std::vector<int64_t> idx;
        for (int64_t n = start; n < start + 250; ++n) idx.push_back(trace.sampleIndex[static_cast<std::size_t>(n)]);
        batches.push_back(es::imagesToTensor(data.testImages, idx, net->spec().normalisation));
    }
    int64_t calls = 0;
    const auto pooled = executor.runStream(4, [&](int64_t i) { return batches[static_cast<std::size_t>(i)]; },
                                           [&](int64_t done) { EXPECT_EQ(done, ++calls); });
    EXPECT_EQ(calls, 4);
    ASSERT_EQ(pooled.size(), 1000u);
    int64_t agreePooled = 0;
    for (std::size_t n = 0; n < 1000; ++n)
        agreePooled += pooled[n].exitTaken == outcome.exitTaken[n] && pooled[n].prediction == outcome.prediction[n];
    EXPECT_EQ(agreePooled, 1000);
}

TEST(Executor, AppliesEveryPolicyKindLikeTheTrace) {
    const std::string dir = assetsDir() + "/models/vgg-fine-fashion-mnist";
    if (!fs::exists(dir + ".pt")) GTEST_SKIP() << "bundled assets missing: " << dir;
    es::Dataset data;
    try {
        data = es::loadDataset("fashion-mnist");
    } catch (const es::Error& e) {
        GTEST_SKIP() << "Fashion-MNIST not installed: " << e.what();
    }
    auto net = es::loadCheckpoint(dir + ".pt", "vgg-fine");
    const auto val = es::readTrace(dir + "-val.safetensors");
    auto test = es::readTrace(dir + "-test.safetensors");
    const int64_t n = 400;
    std::vector<int64_t> idx(test.sampleIndex.begin(), test.sampleIndex.begin() + n);
    const auto x = es::imagesToTensor(data.testImages, idx, net->spec().normalisation);

    std::vector<es::PolicyConfig> policies(6);
    policies[0].confidence = {es::ConfidenceCriterion::Entropy, {0.6f}, es::fitTemperatures(val)};
    policies[1].confidence = {es::ConfidenceCriterion::Margin, {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f}, {}};
    policies[2].kind = es::PolicyKind::Budgeted;
    policies[2].budgeted = es::fitBudgetedBatch(val, 4e6);
    policies[3].kind = es::PolicyKind::Gates;
    es::TrainGatesOptions gateOptions;
    gateOptions.alpha = 0.2;
    policies[3].gates = es::trainGates(val, gateOptions);
    policies[4].kind = es::PolicyKind::Static;
    policies[4].staticExit = 3;
    policies[5].kind = es::PolicyKind::Anytime;
    policies[5].anytimeBudget = 5.0;
    policies[5].anytimeUnit = es::BudgetUnit::Milliseconds;
    for (const auto& policy : policies) {
        SCOPED_TRACE(es::policyToJson(policy).dump().substr(0, 80));
        const auto expected = es::applyPolicy(test, policy);
        es::EarlyExitExecutor executor(net, policy, torch::kCPU, test.exitMs);
        const auto results = executor.run(x);
        int64_t agree = 0;
        std::set<int64_t> exits;
        for (int64_t i = 0; i < n; ++i) {
            const auto& r = results[static_cast<std::size_t>(i)];
            exits.insert(r.exitTaken);
            agree += r.exitTaken == expected.exitTaken[static_cast<std::size_t>(i)] &&
                     r.prediction == expected.prediction[static_cast<std::size_t>(i)];
        }
        EXPECT_EQ(agree, n);
        if (policy.kind != es::PolicyKind::Static && policy.kind != es::PolicyKind::Anytime) {
            EXPECT_GT(exits.size(), 1u);  // early exit really happens
        }
        // Survivors pooled across uneven batches (70, 70, ..., 50): every
        // sample decided as in one batch, with the same exits evaluated.
        const std::vector<int64_t> sizes{70, 70, 70, 70, 70, 50};
        std::vector<torch::Tensor> batches;
        for (int64_t start = 0, i = 0; i < static_cast<int64_t>(sizes.size()); start += sizes[static_cast<std::size_t>(i++)])
            batches.push_back(x.slice(0, start, start + sizes[static_cast<std::size_t>(i)]));
        const auto pooled = executor.runStream(static_cast<int64_t>(batches.size()),
                                               [&](int64_t i) { return batches[static_cast<std::size_t>(i)]; });
        ASSERT_EQ(pooled.size(), static_cast<std::size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
            const auto& a = pooled[static_cast<std::size_t>(i)];
            const auto& b = results[static_cast<std::size_t>(i)];
            EXPECT_EQ(a.exitTaken, b.exitTaken) << "sample " << i;
            EXPECT_EQ(a.prediction, b.prediction) << "sample " << i;
            EXPECT_EQ(a.exitsEvaluated, b.exitsEvaluated) << "sample " << i;
            ASSERT_EQ(a.scores.size(), b.scores.size());
            for (std::size_t k = 0; k < a.scores.size(); ++k) EXPECT_NEAR(a.scores[k], b.scores[k], 1e-5);
        }
    }
}
