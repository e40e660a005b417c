// Grad-CAM per exit (core/explain/gradcam.h, issue 18): on a hand-built
// network whose exit reads one known region the map lights that region;
// on the bundled models the maps are finite and the same on every run.
#include "core/common/error.h"
#include "core/explain/gradcam.h"
#include "core/model/checkpoint.h"
#include "core/model/multi_exit_net.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace es = exitscope::core;

namespace {

constexpr int64_t kSide = 16;

// Channel 0 keeps the input inside the rectangle [y0, y1) x [x0, x1) and
// channel 1 outside it, then (optionally) halves the resolution: the
// network alone decides where each channel can see.
class MaskBlock : public es::Block {
public:
    MaskBlock(int64_t y0, int64_t y1, int64_t x0, int64_t x1, bool pool) : m_pool(pool) {
        m_mask = torch::zeros({1, 1, kSide, kSide});
        m_mask.index_put_({0, 0, torch::indexing::Slice(y0, y1), torch::indexing::Slice(x0, x1)}, 1.0);
    }
    es::State forward(const es::State& in) override {
        torch::Tensor x = in[0];
        torch::Tensor f = torch::cat({x * m_mask, x * (1 - m_mask)}, 1);
        if (m_pool) f = torch::avg_pool2d(f, 2);
        return {f};
    }

private:
    torch::Tensor m_mask;
    bool m_pool;
};

// Class 0's logit is the sum of channel 0, class 1's a constant below it:
// the exit's decision depends on the masked region only.
class RegionHead : public es::ExitHead {
public:
    torch::Tensor forward(const es::State& in) override {
        const torch::Tensor s = in[0].index({torch::indexing::Slice(), 0}).sum({1, 2});
        return torch::stack({s, torch::zeros_like(s) - 1.0 + 0.0 * in[0].sum({1, 2, 3})}, 1);
    }
};

std::shared_ptr<es::MultiExitNet> regionNet(bool pool) {
    es::ModelSpec spec;
    spec.name = "region";
    spec.channels = 1;
    spec.height = spec.width = kSide;
    spec.classNames = {"region", "other"};
    spec.normalisation = {{0.0f}, {1.0f}};
    auto net = std::make_shared<es::MultiExitNet>(spec);
    net->addBlock(std::make_shared<MaskBlock>(2, 6, 9, 14, pool));
    net->addExit(std::make_shared<RegionHead>(), 0);
    return net;
}

es::ImageSet images(int64_t n, int64_t c, int64_t side, unsigned seed, bool uniform) {
    es::ImageSet s;
    s.name = "test images";
    s.channels = c;
    s.height = s.width = side;
    std::mt19937 rng(seed);
    for (int64_t i = 0; i < n * c * side * side; ++i) s.pixels.push_back(uniform ? 200 : static_cast<uint8_t>(rng() % 256));
    for (int64_t i = 0; i < n; ++i) s.labels.push_back(0);
    s.classNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    return s;
}

} // namespace

TEST(GradCam, LightsTheRegionTheExitReadsAndNothingElse) {
    for (bool pool : {false, true}) {
        auto net = regionNet(pool);
        es::ImageSet img = images(1, 1, kSide, 1, /*uniform=*/true);
        img.classNames = {"region", "other"};
        const auto maps = es::gradCam(*net, img, 0);
        ASSERT_EQ(maps.size(), 1u);
        const auto& a = maps[0];
        EXPECT_EQ(a.prediction, 0);
        EXPECT_EQ(a.featureHeight, pool ? kSide / 2 : kSide);
        ASSERT_EQ(a.map.size(), static_cast<std::size_t>(kSide * kSide));
        // On a uniform image only the network's region can stand out: the peak lies in it,
        // and at full resolution the map is exactly the region.
        int64_t peak = 0;
        for (int64_t i = 0; i < kSide * kSide; ++i)
            if (a.map[static_cast<std::size_t>(i)] > a.map[static_cast<std::size_t>(peak)]) peak = i;
        const int64_t py = peak / kSide, px = peak % kSide;
        EXPECT_TRUE(py >= 2 && py < 6 && px >= 9 && px < 14) << "peak at " << px << "," << py;
        EXPECT_FLOAT_EQ(a.map[static_cast<std::size_t>(peak)], 1.0f);
        double inside = 0, outside = 0;
        for (int64_t y = 0; y < kSide; ++y)
            for (int64_t x = 0; x < kSide; ++x)
                (y >= 2 && y < 6 && x >= 9 && x < 14 ? inside : outside) += a.map[static_cast<std::size_t>(y * kSide + x)];
        if (!pool) {
            EXPECT_DOUBLE_EQ(inside, 20.0);  // 4 x 5 pixels at 1
            EXPECT_DOUBLE_EQ(outside, 0.0);
        } else {
            // Bilinear upsampling of 2x2 cells spills past the edges a little: per pixel, the
            // region still stands out by far.
            EXPECT_GT(inside / 20, 10 * outside / (kSide * kSide - 20));
        }
    }
}

TEST(GradCam, BundledModelsGiveFiniteMapsThatAreTheSameOnEveryRun) {
    const std::string dir = std::string(EXITSCOPE_SOURCE_DIR) + "/assets/models/";
    for (const char* model : {"msdnet", "resnet-spinn", "vgg-fine"}) {
        const std::string path = dir + model + "-fashion-mnist.pt";
        if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not built";
        auto net = es::loadCheckpoint(path, model);
        const auto img = images(2, 1, 28, 7, false);
        const auto a = es::gradCam(*net, img, 1);
        const auto b = es::gradCam(*net, img, 1);
        ASSERT_EQ(a.size(), static_cast<std::size_t>(net->numExits())) << model;
        for (std::size_t k = 0; k < a.size(); ++k) {
            EXPECT_EQ(a[k].map, b[k].map) << model << " exit " << k;
            EXPECT_EQ(a[k].prediction, b[k].prediction);
            float peak = 0;
            for (float v : a[k].map) {
                ASSERT_TRUE(std::isfinite(v) && v >= 0 && v <= 1) << model << " exit " << k;
                peak = std::max(peak, v);
            }
            EXPECT_TRUE(peak == 1.0f || peak == 0.0f) << model << " exit " << k;
        }
        // Up to one exit only, and bad indices.
        EXPECT_EQ(es::gradCam(*net, img, 0, 1).size(), 2u);
        EXPECT_THROW(es::gradCam(*net, img, 2), es::Error);
        EXPECT_THROW(es::gradCam(*net, img, 0, net->numExits()), es::Error);
    }
}
