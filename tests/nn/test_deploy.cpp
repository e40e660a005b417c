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
#include "simulator/codec/codec.h"

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

/// Budgeted-batch thresholds fitted on the validation trace for 6 M MACs per sample.
es::PolicyConfig budgetedPolicy(const Fixture& f) {
    es::PolicyConfig policy;
    policy.kind = es::PolicyKind::Budgeted;
    policy.budgeted = es::fitBudgetedBatch(f.val, 6e6);
    return policy;
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
    const es::PolicyConfig policy = budgetedPolicy(f);
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

namespace {

/// The codec's per-tensor 8-bit round trip (simulator/codec), the reference
/// the device half's quantisation must equal.
std::vector<float> codecRoundTrip(const torch::Tensor& t) {
    exitscope::simulator::TensorData d;
    d.shape = t.sizes().vec();
    auto c = t.contiguous();
    d.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    auto back = exitscope::simulator::decodeState(exitscope::simulator::encodeState({d}, exitscope::simulator::CodecMode::PerTensor8));
    return back.at(0).values;
}

} // namespace

TEST(DeployExport, SplitHalvesQuantiseAsTheCodecAndChainedDecideAsTheWholeFile) {
    Fixture f;
    if (!load(f)) GTEST_SKIP() << "bundled assets or Fashion-MNIST missing";
    const es::PolicyConfig policy = budgetedPolicy(f);
    const auto config = es::makeTunedConfig(policy, f.val, &f.test);
    const std::string out = ::testing::TempDir() + "deploy_split.pt";
    const int64_t after = 2;
    es::exportDeployable(*f.net, config, "", out, after);
    const auto [devicePath, serverPath] = es::splitPartPaths(out);
    EXPECT_EQ(devicePath, ::testing::TempDir() + "deploy_split-device.pt");
    auto whole = torch::jit::load(out), device = torch::jit::load(devicePath), server = torch::jit::load(serverPath);
    EXPECT_EQ(device.attr("part").toStringRef(), "device");
    EXPECT_EQ(server.attr("split_after").toInt(), after);

    // The device half's quantisation is the codec's, value for value, on
    // ReLU-like, all-positive, all-negative and constant tensors.
    torch::manual_seed(3);
    for (const auto& t : {torch::relu(torch::randn({5, 4, 7, 7})), torch::rand({3, 10}) + 2.0, -torch::rand({2, 9}) - 0.5,
                          torch::full({2, 3}, 0.75f), torch::zeros({4, 2})}) {
        auto r = device.run_method("_quantise", t).toTuple();
        const auto q = r->elements()[0].toTensor();
        ASSERT_EQ(q.scalar_type(), torch::kUInt8);
        const auto deq = (q.to(torch::kFloat32) - static_cast<float>(r->elements()[2].toDouble())) *
                         static_cast<float>(r->elements()[1].toDouble());
        const auto want = codecRoundTrip(t);
        auto d = deq.contiguous();
        ASSERT_EQ(static_cast<std::size_t>(d.numel()), want.size());
        for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(d.data_ptr<float>()[i], want[i]) << "element " << i;
    }

    // Chained: device, then server on what it sent, equals the whole file
    // for every sample that left on the device, and for nearly all others.
    const int64_t n = 500;
    const auto x = rawImages(f, n);
    torch::NoGradGuard noGrad;
    int64_t onDevice = 0, sent = 0, agree = 0;
    for (int64_t s = 0; s < n; s += 100) {
        const auto xb = x.slice(0, s, s + 100);
        auto d = device.forward({xb}).toTuple();
        auto pred = d->elements()[0].toTensor(), ex = d->elements()[1].toTensor();
        const auto rows = d->elements()[3].toTensor();
        const auto w = whole.forward({xb}).toTuple();
        const auto wp = w->elements()[0].toTensor(), we = w->elements()[1].toTensor();
        const auto left = ex.ge(0);
        onDevice += left.sum().item<int64_t>();
        EXPECT_TRUE(ex.masked_select(left).equal(we.masked_select(left)));
        EXPECT_TRUE(pred.masked_select(left).equal(wp.masked_select(left)));
        if (rows.numel() > 0) {
            auto r = server.forward({d->elements()[4], d->elements()[5], d->elements()[6]}).toTuple();
            pred.index_copy_(0, rows, r->elements()[0].toTensor());
            ex.index_copy_(0, rows, r->elements()[1].toTensor());
            sent += rows.numel();
        }
        EXPECT_TRUE(ex.ge(0).all().item<bool>());
        agree += (ex.eq(we) & pred.eq(wp)).sum().item<int64_t>();
    }
    EXPECT_EQ(onDevice + sent, n);
    EXPECT_GT(onDevice, 0);
    EXPECT_GT(sent, 0);
    EXPECT_GE(agree, n * 98 / 100) << agree << " of " << n;
    std::printf("split after block %lld: %lld of %lld left on the device, chained = whole for %lld\n",
                static_cast<long long>(after), static_cast<long long>(onDevice), static_cast<long long>(n),
                static_cast<long long>(agree));

    // A server half given the wrong state is an error from the file itself.
    EXPECT_THROW(server.forward({c10::List<at::Tensor>({torch::zeros({1, 2}, torch::kUInt8), torch::zeros({1}, torch::kUInt8),
                                                        torch::zeros({1}, torch::kUInt8)}),
                                 c10::List<double>({1.0}), c10::List<double>({0.0})}),
                 std::exception);

    // A split that leaves the server nothing: one line, no file of any part.
    const std::string bad = ::testing::TempDir() + "deploy_split_bad.pt";
    try {
        es::exportDeployable(*f.net, config, "", bad, f.net->numBlocks() - 1);
        ADD_FAILURE() << "no error for a split after the last block";
    } catch (const es::Error& e) {
        EXPECT_NE(std::string(e.what()).find("--split-after"), std::string::npos) << e.what();
    }
    const auto badHalves = es::splitPartPaths(bad);
    EXPECT_FALSE(fs::exists(bad));
    EXPECT_FALSE(fs::exists(badHalves.first));
    EXPECT_FALSE(fs::exists(badHalves.second));
}
