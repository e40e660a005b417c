// The deployable export (core/export/deploy.h) opened through torch::jit::load
// alone: every sample's exit and prediction equal the trace-based policy,
// set_thresholds changes the decisions as the policy with those thresholds
// decides, and bad configs or paths leave no file behind. The same files in
// Debian's python3-torch: tests/deploy/ (ctest deploy.*).
#include "core/common/error.h"
#include "core/config/tuned_config.h"
#include "core/data/registry.h"
#include "core/executor/executor.h"
#include "core/export/deploy.h"
#include "core/model/checkpoint.h"
#include "core/model/tensor_data.h"
#include "core/model/multi_exit_net.h"
#include "core/policy/budgeted.h"
#include "core/policy/calibration.h"
#include "core/policy/policy.h"
#include "core/trace/trace.h"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <filesystem>
#include <set>

namespace es = exitscope::core;
namespace fs = std::filesystem;

namespace {

const std::string kDir = std::string(EXITSCOPE_SOURCE_DIR) + "/assets/models/msdnet-fashion-mnist";

struct Fixture {
    std::shared_ptr<es::MultiExitNet> net;
    es::Trace val, test;
    es::Dataset data;
};

bool load(Fixture& f) {
    if (!fs::exists(kDir + ".pt")) return false;
    try {
        f.data = es::loadDataset("fashion-mnist");
    } catch (const es::Error&) {
        return false;
    }
    f.net = es::loadCheckpoint(kDir + ".pt", "msdnet");
    f.val = es::readTrace(kDir + "-val.safetensors");
    f.test = es::readTrace(kDir + "-test.safetensors");
    return true;
}

/// The first n test images of the trace as [n, 1, 28, 28] scaled to [0, 1] (no normalisation).
torch::Tensor rawImages(const Fixture& f, int64_t n) {
    const auto& im = f.data.testImages;
    auto out = torch::empty({n, im.channels, im.height, im.width});
    for (int64_t i = 0; i < n; ++i) {
        const uint8_t* p = im.image(static_cast<std::size_t>(f.test.sampleIndex[static_cast<std::size_t>(i)]));
        out[i] = torch::from_blob(const_cast<uint8_t*>(p), {im.channels, im.height, im.width}, torch::kUInt8)
                     .to(torch::kFloat32) / 255.0;
    }
    return out;
}

/// forward(x) of a loaded export over `x` in batches of 100.
std::pair<std::vector<int64_t>, std::vector<int64_t>> runExport(torch::jit::Module& m, const torch::Tensor& x) {
    std::vector<int64_t> exits, preds;
    torch::NoGradGuard noGrad;
    for (int64_t s = 0; s < x.size(0); s += 100) {
        auto out = m.forward({x.slice(0, s, std::min(x.size(0), s + 100))}).toTuple();
        auto p = out->elements()[0].toTensor(), e = out->elements()[1].toTensor();
        for (int64_t i = 0; i < p.size(0); ++i) {
            preds.push_back(p[i].item<int64_t>());
            exits.push_back(e[i].item<int64_t>());
        }
    }
    return {exits, preds};
}

} // namespace

TEST(DeployExport, LoadedWithTorchJitLoadItDecidesAsThePolicyOnTheTrace) {
    Fixture f;
    if (!load(f)) GTEST_SKIP() << "bundled assets or Fashion-MNIST missing";
    es::PolicyConfig policy;
    policy.kind = es::PolicyKind::Budgeted;
    policy.budgeted = es::fitBudgetedBatch(f.val, 6e6);
    const auto config = es::makeTunedConfig(policy, f.val, &f.test);
    const std::string out = ::testing::TempDir() + "deploy_budgeted.pt";
    es::exportDeployable(*f.net, config, "", out);

    auto m = torch::jit::load(out);
    m.eval();
    const int64_t n = 500;
    const auto x = rawImages(f, n);
    const auto [exits, preds] = runExport(m, x);
    const auto expected = es::applyPolicy(f.test, policy);
    int64_t agree = 0;
    std::set<int64_t> used;
    for (int64_t i = 0; i < n; ++i) {
        used.insert(exits[static_cast<std::size_t>(i)]);
        agree += exits[static_cast<std::size_t>(i)] == expected.exitTaken[static_cast<std::size_t>(i)] &&
                 preds[static_cast<std::size_t>(i)] == expected.prediction[static_cast<std::size_t>(i)];
    }
    EXPECT_EQ(agree, n);
    EXPECT_GT(used.size(), 2u);  // it really exits at several exits

    // The scores it returns are the executor's.
    es::EarlyExitExecutor executor(f.net, policy);
    const auto results = executor.run(es::imagesToTensor(f.data.testImages,
                                                         std::vector<int64_t>(f.test.sampleIndex.begin(), f.test.sampleIndex.begin() + 100),
                                                         f.net->spec().normalisation));
    auto first = m.forward({x.slice(0, 0, 100)}).toTuple();
    const auto scores = first->elements()[2].toTensor();
    for (int64_t i = 0; i < 100; ++i) EXPECT_NEAR(scores[i].item<float>(), results[static_cast<std::size_t>(i)].scores.back(), 1e-6);

    // New thresholds without exporting again: as the policy with those thresholds decides.
    std::vector<double> t(static_cast<std::size_t>(f.test.numExits - 1), 0.95);
    m.run_method("set_thresholds", c10::List<double>(t));
    const auto [exits2, preds2] = runExport(m, x);
    es::PolicyConfig moved = policy;
    moved.budgeted.thresholds.assign(t.size(), 0.95f);
    const auto expected2 = es::applyPolicy(f.test, moved);
    int64_t agree2 = 0;
    for (int64_t i = 0; i < n; ++i)
        agree2 += exits2[static_cast<std::size_t>(i)] == expected2.exitTaken[static_cast<std::size_t>(i)];
    EXPECT_EQ(agree2, n);
    EXPECT_NE(exits2, exits);
    // A threshold outside [0, 1] is refused by the file itself.
    EXPECT_THROW(m.run_method("set_thresholds", c10::List<double>(std::vector<double>{1.5})), std::exception);

    // forward_budget: every sample at the deepest exit within the budget.
    auto b = m.run_method("forward_budget", x.slice(0, 0, 10), static_cast<double>(f.test.exitMacs[1])).toTuple();
    EXPECT_TRUE(b->elements()[1].toTensor().eq(1).all().item<bool>());

    // What is inside: the config, the weights hash and the class names.
    torch::jit::ExtraFilesMap extra{{"exitscope/config.json", ""}, {"exitscope/weights_hash", ""}, {"exitscope/class_names.json", ""}};
    torch::jit::load(out, torch::kCPU, extra);
    EXPECT_EQ(extra["exitscope/weights_hash"], f.net->spec().weightsHash);
    EXPECT_EQ(nlohmann::json::parse(extra["exitscope/config.json"]), es::configToJson(config));
    EXPECT_EQ(nlohmann::json::parse(extra["exitscope/class_names.json"]), nlohmann::json(f.net->spec().classNames));
}

TEST(DeployExport, BadConfigsAndPathsAreOneLineErrorsThatLeaveNoFile) {
    Fixture f;
    if (!load(f)) GTEST_SKIP() << "bundled assets or Fashion-MNIST missing";
    es::PolicyConfig policy;
    policy.confidence.thresholds = {0.9f};
    auto config = es::makeTunedConfig(policy, f.val);
    auto expectRefused = [&](const es::TunedConfig& c, const std::string& path, const std::string& words) {
        try {
            es::exportDeployable(*f.net, c, "", path);
            ADD_FAILURE() << "no error for " << words;
        } catch (const es::Error& e) {
            EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
            EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
        }
        EXPECT_FALSE(fs::exists(path)) << path;
    };
    auto otherWeights = config;
    otherWeights.weightsHash = "0123456789abcdef";
    expectRefused(otherWeights, ::testing::TempDir() + "deploy_hash.pt", "weights hash");
    auto ms = config;
    ms.policy = {};
    ms.policy.kind = es::PolicyKind::Anytime;
    ms.policy.anytimeBudget = 5;
    ms.policy.anytimeUnit = es::BudgetUnit::Milliseconds;
    expectRefused(ms, ::testing::TempDir() + "deploy_ms.pt", "anytime budget in ms");
    expectRefused(config, "/nonexistent-dir/model-ee.pt", "/nonexistent-dir");
}
