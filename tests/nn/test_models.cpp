// Model zoo, cost counting, checkpoints and training.
#include "core/common/error.h"
#include "core/model/checkpoint.h"
#include "core/model/layers.h"
#include "core/model/multi_exit_net.h"
#include "core/model/zoo.h"
#include "core/train/trainer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace es = exitscope::core;
namespace fs = std::filesystem;

namespace {

es::ModelSpec specFor(const std::string& name, int64_t c, int64_t hw, int64_t classes) {
    es::ModelSpec s;
    s.name = name;
    s.channels = c;
    s.height = hw;
    s.width = hw;
    for (int64_t i = 0; i < classes; ++i) s.classNames.push_back("class" + std::to_string(i));
    s.normalisation.mean.assign(static_cast<std::size_t>(c), 0.5f);
    s.normalisation.std.assign(static_cast<std::size_t>(c), 0.25f);
    return s;
}

fs::path tempDir(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("exitscope_nn_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

/// A tiny learnable data set: class c has a bright square at a class-specific place.
es::Dataset squaresDataset(int64_t perClass, int64_t classes) {
    es::Dataset d;
    d.name = "squares";
    es::ImageSet& im = d.trainImages;
    im.name = "squares/train";
    im.channels = 1;
    im.height = 28;
    im.width = 28;
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> noise(0, 60);
    for (int64_t c = 0; c < classes; ++c) im.classNames.push_back(std::to_string(c));
    for (int64_t i = 0; i < perClass * classes; ++i) {
        const int64_t c = i % classes;
        std::vector<uint8_t> px(28 * 28);
        for (auto& p : px) p = static_cast<uint8_t>(noise(rng));
        const int64_t y0 = 2 + (c / 3) * 8, x0 = 2 + (c % 3) * 8;
        for (int64_t y = y0; y < y0 + 6; ++y)
            for (int64_t x = x0; x < x0 + 6; ++x) px[static_cast<std::size_t>(y * 28 + x)] = 230;
        im.pixels.insert(im.pixels.end(), px.begin(), px.end());
        im.labels.push_back(c);
    }
    d.testImages = im;
    for (int64_t i = 0; i < static_cast<int64_t>(im.size()); ++i) (i % 5 == 0 ? d.valIndices : d.trainIndices).push_back(i);
    for (int64_t i = 0; i < static_cast<int64_t>(im.size()); ++i) d.testIndices.push_back(i);
    return d;
}

} // namespace

TEST(MacCount, ConvAndLinearMatchHandComputedValues) {
    // conv 3->8, 3x3, stride 1, padding 1 on 10x10: 8 outputs x 100 positions x 3*3*3 MACs,
    // plus batch norm at one MAC per output element (8 x 100).
    EXPECT_EQ(es::conv2dMacs(3, 8, 3, 3, 1, 10, 10), 8 * 100 * 27);
    es::ConvBnRelu conv(3, 8, 3, 1);
    conv->eval();
    es::MacCounter counter;
    torch::NoGradGuard ng;
    conv(torch::zeros({2, 3, 10, 10}));
    EXPECT_EQ(counter.macs(), 8 * 100 * 27 + 8 * 100);

    // Stride 2 halves each side (10 -> 5): 8 x 25 x 27.
    es::MacCounter strided;
    es::ConvBnRelu conv2(3, 8, 3, 2);
    conv2->eval();
    conv2(torch::zeros({1, 3, 10, 10}));
    EXPECT_EQ(strided.macs(), 8 * 25 * 27 + 8 * 25);

    es::MacCounter lin;
    es::CountedLinear fc(20, 5);
    fc(torch::zeros({4, 20}));
    EXPECT_EQ(lin.macs(), 100);  // per sample, whatever the batch
    EXPECT_EQ(es::linearMacs(20, 5), 100);
}

TEST(Zoo, EveryExitHeadHasTheRightShapeForBothInputKinds) {
    const std::map<std::string, int64_t> minExits{{"msdnet", 5}, {"resnet-spinn", 7}, {"vgg-fine", 8}};
    for (const auto& name : es::zooModelNames()) {
        for (auto [c, hw] : {std::pair<int64_t, int64_t>{1, 28}, {3, 32}}) {
            for (int64_t classes : {10, 3}) {
                SCOPED_TRACE(name + " " + std::to_string(c) + "x" + std::to_string(hw) + " classes " + std::to_string(classes));
                auto net = es::buildModel(specFor(name, c, hw, classes));
                EXPECT_GE(net->numExits(), minExits.at(name));
                net->eval();
                torch::NoGradGuard ng;
                auto logits = net->forwardAll(torch::randn({3, c, hw, hw}));
                ASSERT_EQ(static_cast<int64_t>(logits.size()), net->numExits());
                for (const auto& l : logits) {
                    EXPECT_EQ(l.dim(), 2);
                    EXPECT_EQ(l.size(0), 3);
                    EXPECT_EQ(l.size(1), classes);
                }
                const auto costs = net->measureCosts();
                EXPECT_EQ(static_cast<int64_t>(costs.blocks.size()), net->numBlocks());
                for (std::size_t k = 1; k < costs.exits.size(); ++k)
                    EXPECT_GT(costs.cumulativeExitMacs(k), costs.cumulativeExitMacs(k - 1));
                EXPECT_EQ(net->exitBlock(net->numExits() - 1), net->numBlocks() - 1);
            }
        }
    }
}

TEST(Zoo, ResNetSpinnExitsSitWithinFivePointsOfTheirFlopTargets) {
    for (auto [c, hw] : {std::pair<int64_t, int64_t>{1, 28}, {3, 32}}) {
        auto net = es::buildModel(specFor("resnet-spinn", c, hw, 10));
        const auto costs = net->measureCosts();
        const std::vector<double> targets{0.15, 0.30, 0.45, 0.60, 0.75, 0.90};
        ASSERT_EQ(costs.exits.size(), targets.size() + 1);
        for (std::size_t k = 0; k < targets.size(); ++k)
            EXPECT_NEAR(costs.backboneFractionAtExit(k), targets[k], 0.05) << "exit " << k;
        EXPECT_DOUBLE_EQ(costs.backboneFractionAtExit(targets.size()), 1.0);
        for (const auto& b : costs.blocks) EXPECT_TRUE(b.relu);
    }
}

TEST(Zoo, PlaceExitsByFractionPicksTheNearestBoundary) {
    // Cumulative fractions 0.1, 0.3, 0.6, 1.0.
    const auto pos = es::placeExitsByFraction({1, 2, 3, 4}, {0.25, 0.5, 0.9});
    EXPECT_EQ(pos, (std::vector<int64_t>{1, 2, 3}));
    EXPECT_THROW(es::placeExitsByFraction({1, 2}, {0.5, 1.5}), es::Error);
}

TEST(Zoo, MsdNetKeepsThreeScalesAndDropsTheFinestLater) {
    auto net = es::buildModel(specFor("msdnet", 1, 28, 10));
    net->eval();
    torch::NoGradGuard ng;
    es::State s = net->runBlock(0, es::inputState(torch::zeros({2, 1, 28, 28})));
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(s[0].size(2), 28);
    EXPECT_EQ(s[1].size(2), 14);
    EXPECT_EQ(s[2].size(2), 7);
    for (int64_t b = 1; b < net->numBlocks(); ++b) s = net->runBlock(b, s);
    EXPECT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].size(2), 7);
    // Multi-scale state: block 0's output bytes are the sum over the three scales.
    const auto costs = net->measureCosts();
    // Default options: stem widths 8/16/32, two dense layers of growth 4/8/16 in block 0,
    // so 16 x 28x28 + 32 x 14x14 + 64 x 7x7 floats leave it.
    EXPECT_EQ(costs.blocks[0].outBytes, 4 * (16 * 28 * 28 + 32 * 14 * 14 + 64 * 7 * 7));
}

TEST(Zoo, BadNamesAndOptionsAreErrors) {
    EXPECT_THROW(es::buildModel(specFor("alexnet", 1, 28, 10)), es::Error);
    auto s = specFor("resnet-spinn", 1, 28, 10);
    s.options["widths"] = {8, 16};
    EXPECT_THROW(es::buildModel(s), es::Error);
    s.options["widths"] = "wide";
    EXPECT_THROW(es::buildModel(s), es::Error);
    EXPECT_THROW(es::buildModel(specFor("msdnet", 1, 28, 1)), es::Error);
}

TEST(Checkpoint, RoundTripRestoresWeightsSpecAndHash) {
    const auto dir = tempDir("ckpt");
    auto net = es::buildModel(specFor("vgg-fine", 1, 28, 10));
    const std::string path = (dir / "vgg.pt").string();
    es::saveCheckpoint(*net, path);
    auto loaded = es::loadCheckpoint(path, "vgg-fine");
    EXPECT_EQ(loaded->spec().weightsHash, net->contentHash());
    EXPECT_EQ(loaded->spec().options, net->spec().options);
    net->eval();
    torch::NoGradGuard ng;
    auto x = torch::randn({2, 1, 28, 28});
    auto a = net->forwardAll(x), b = loaded->forwardAll(x);
    for (std::size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(torch::equal(a[k], b[k]));
    EXPECT_EQ(es::readCheckpointSpec(path).name, "vgg-fine");
    fs::remove_all(dir);
}

TEST(Checkpoint, WrongArchitectureAndBadFilesAreClearErrors) {
    const auto dir = tempDir("ckpt_bad");
    auto net = es::buildModel(specFor("vgg-fine", 1, 28, 10));
    const std::string path = (dir / "vgg.pt").string();
    es::saveCheckpoint(*net, path);
    auto expectError = [](const std::function<void()>& f, const std::string& needle) {
        try {
            f();
            ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
        } catch (const es::Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expectError([&] { es::loadCheckpoint(path, "msdnet"); }, "not 'msdnet'");
    expectError([&] { es::loadCheckpoint((dir / "missing.pt").string()); }, "missing.pt");

    const std::string junk = (dir / "junk.pt").string();
    std::ofstream(junk, std::ios::binary) << std::string(4096, '\x5a');
    expectError([&] { es::loadCheckpoint(junk); }, "junk.pt");

    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const std::string truncated = (dir / "truncated.pt").string();
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    expectError([&] { es::loadCheckpoint(truncated); }, "truncated.pt");

    // A checkpoint of another configuration of the same model: shapes disagree with the recorded spec.
    auto other = es::buildModel(specFor("vgg-fine", 1, 28, 10));
    other->spec().options["branch_hidden"] = 32;
    const std::string mismatched = (dir / "mismatched.pt").string();
    es::saveCheckpoint(*other, mismatched);
    expectError([&] { es::loadCheckpoint(mismatched); }, "do not fit");
    fs::remove_all(dir);
}

TEST(Train, ShortRunOn512ImagesLowersTheLoss) {
    const auto data = squaresDataset(64, 9);  // 576 images, 460 train
    auto spec = specFor("vgg-fine", 1, 28, 9);
    spec.normalisation = {};
    auto net = es::buildModel(spec);
    es::TrainOptions opts;
    opts.epochs = 3;
    opts.batchSize = 64;
    opts.maxTrainSamples = 512;
    opts.learningRate = 3e-3;
    int64_t progressCalls = 0;
    const auto reports = es::trainModel(*net, data, opts, [&](const es::TrainProgress&) { ++progressCalls; });
    ASSERT_EQ(reports.size(), 3u);
    EXPECT_LT(reports.back().trainLoss, reports.front().trainLoss);
    EXPECT_GT(progressCalls, 3);
    EXPECT_EQ(net->spec().normalisation.mean.size(), 1u);  // computed from the training split
    EXPECT_GT(reports.back().valAccuracy.back(), 1.0 / 9 + 0.2);
}

TEST(Train, FrozenBackboneTrainsOnlyTheHeads) {
    const auto data = squaresDataset(16, 9);
    auto net = es::buildModel(specFor("resnet-spinn", 1, 28, 9));
    const auto before = net->block(3).parameters()[0].clone();
    const auto headBefore = net->head(0).parameters()[0].clone();
    es::TrainOptions opts;
    opts.epochs = 1;
    opts.batchSize = 32;
    opts.freezeBackbone = true;
    es::trainModel(*net, data, opts);
    EXPECT_TRUE(torch::equal(before, net->block(3).parameters()[0]));
    EXPECT_FALSE(torch::equal(headBefore, net->head(0).parameters()[0]));
}

TEST(Train, CancelAndBadOptions) {
    const auto data = squaresDataset(8, 9);
    auto net = es::buildModel(specFor("vgg-fine", 1, 28, 9));
    es::CancelFlag cancel{true};
    EXPECT_THROW(es::trainModel(*net, data, {}, {}, &cancel), es::Cancelled);
    es::TrainOptions bad;
    bad.exitWeights = {1.0, 2.0};
    EXPECT_THROW(es::trainModel(*net, data, bad), es::Error);
    auto wrongShape = data;
    wrongShape.trainImages.channels = 3;
    EXPECT_THROW(es::trainModel(*net, wrongShape, {}), es::Error);
}
