// The corruptions of `profile --corrupt` (issue 18), each against what it
// must do to an image whose answer is known without the code under test.
#include "core/common/error.h"
#include "core/data/corruption.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

using namespace exitscope::core;

namespace {

constexpr int64_t kSide = 28;

std::vector<uint8_t> filled(uint8_t v, int64_t side = kSide) { return std::vector<uint8_t>(side * side, v); }

std::vector<uint8_t> corrupt(std::vector<uint8_t> img, const std::string& what, int64_t key = 0, uint64_t seed = 0,
                           int64_t side = kSide) {
    corruptImage(img.data(), 1, side, side, parseCorruption(what, seed), key);
    return img;
}

double mean(const std::vector<uint8_t>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

double stddev(const std::vector<uint8_t>& v) {
    const double m = mean(v);
    double s = 0;
    for (auto x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size()));
}

double mse(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
    return s / static_cast<double>(a.size());
}

} // namespace

TEST(Corruption, ParsesNameAndSeverityAndRefusesTheRest) {
    const auto c = parseCorruption("jpeg:4", 9);
    EXPECT_EQ(c.kind, CorruptionKind::Jpeg);
    EXPECT_EQ(c.severity, 4);
    EXPECT_EQ(c.seed, 9u);
    EXPECT_EQ(toString(c), "jpeg:4");
    for (const auto& name : corruptionNames()) EXPECT_EQ(toString(parseCorruption(name + ":1")), name + ":1");
    for (const char* bad : {"fog:3", "jpeg", "jpeg:", "jpeg:0", "jpeg:6", "jpeg:x", "jpeg:33", ":3", ""}) {
        try {
            parseCorruption(bad);
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("--corrupt"), std::string::npos) << m;
            EXPECT_EQ(m.find('\n'), std::string::npos) << m;
        }
    }
}

TEST(Corruption, BrightnessShiftsTheMeanIntensityByItsShareOfTheRangeAndClips) {
    std::vector<uint8_t> img(kSide * kSide);
    for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<uint8_t>(i % 101);  // 0..100
    // Severity 2 adds 0.2 of the range: 0.2 * 255 = 51 to every pixel, none reaching 255.
    const auto out = corrupt(img, "brightness:2");
    EXPECT_DOUBLE_EQ(mean(out), mean(img) + 51);
    EXPECT_EQ(corrupt(filled(250), "brightness:1"), filled(255));
}

TEST(Corruption, ContrastPullsEveryPixelTowardsTheImageMeanByItsFactor) {
    std::vector<uint8_t> img(kSide * kSide);
    for (std::size_t i = 0; i < img.size(); ++i) img[i] = i % 2 ? 200 : 0;  // mean 100
    const auto out = corrupt(img, "contrast:1");  // factor 0.4: 0 -> 60, 200 -> 140
    for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], i % 2 ? 140 : 60) << i;
}

TEST(Corruption, GaussianNoiseHasItsSigmaAndIsTheSameForTheSameImageAndSeed) {
    const auto base = filled(128, 64);
    const auto a = corrupt(base, "gaussian-noise:2", 5, 1, 64);  // sigma 0.08 * 255 = 20.4
    EXPECT_NEAR(stddev(a), 20.4, 1.0);
    EXPECT_NEAR(mean(a), 128, 1.0);
    EXPECT_EQ(a, corrupt(base, "gaussian-noise:2", 5, 1, 64));
    EXPECT_NE(a, corrupt(base, "gaussian-noise:2", 6, 1, 64));  // another image
    EXPECT_NE(a, corrupt(base, "gaussian-noise:2", 5, 2, 64));  // another seed
    EXPECT_GT(stddev(corrupt(base, "gaussian-noise:5", 5, 1, 64)), stddev(corrupt(base, "gaussian-noise:4", 5, 1, 64)));
}

TEST(Corruption, BlurSpreadsAnImpulseAsAGaussianOfItsSigma) {
    auto img = filled(0);
    img[14 * kSide + 14] = 255;
    const auto out = corrupt(img, "blur:5");  // sigma 2: the peak keeps 1 / (2 pi sigma^2) of it
    EXPECT_NEAR(out[14 * kSide + 14], 255.0 / (2 * M_PI * 4), 1.0);
    EXPECT_NEAR(out[14 * kSide + 16], 255.0 / (2 * M_PI * 4) * std::exp(-4.0 / 8), 1.0);
    EXPECT_NEAR(std::accumulate(out.begin(), out.end(), 0.0), 255.0, 40.0);  // total kept, up to rounding of the tails
    EXPECT_EQ(corrupt(filled(90), "blur:3"), filled(90));
}

TEST(Corruption, JpegRoundsAFlatImageAsItsQuantisationTableSaysAndLosesMoreDetailAtEachSeverity) {
    // A flat block of 77 has only a DC coefficient, 8 * (77 - 128) = -408. libjpeg scales the
    // luminance table's DC step 16 by 5000 / quality % (quality < 50): quality 25 -> step 32,
    // -408 / 32 rounds to -13 -> 128 - 13 * 32 / 8 = 76; quality 7 -> step 114, -408 / 114
    // rounds to -4 -> 128 - 4 * 114 / 8 = 71.
    EXPECT_EQ(corrupt(filled(77), "jpeg:1"), filled(76));
    EXPECT_EQ(corrupt(filled(77), "jpeg:5"), filled(71));
    std::vector<uint8_t> img(kSide * kSide);
    for (int64_t y = 0; y < kSide; ++y)
        for (int64_t x = 0; x < kSide; ++x) img[y * kSide + x] = static_cast<uint8_t>(((x / 2 + y / 3) % 2) * 180 + 30);
    double last = 0;
    for (int s : {1, 3, 5}) {
        const double e = mse(corrupt(img, "jpeg:" + std::to_string(s)), img);
        EXPECT_GT(e, last) << "severity " << s;
        last = e;
    }
}

TEST(Corruption, PixelateAtHalfScaleMakesTwoByTwoBlocksOfTheBlockMeans) {
    std::vector<uint8_t> img(kSide * kSide);
    for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<uint8_t>((i * 37) % 251);
    const auto out = corrupt(img, "pixelate:2");  // scale 0.5: 28 -> 14 -> 28
    for (int64_t y = 0; y < kSide; y += 2)
        for (int64_t x = 0; x < kSide; x += 2) {
            const double m = (img[y * kSide + x] + img[y * kSide + x + 1] + img[(y + 1) * kSide + x] + img[(y + 1) * kSide + x + 1]) / 4.0;
            for (int64_t dy = 0; dy < 2; ++dy)
                for (int64_t dx = 0; dx < 2; ++dx) ASSERT_NEAR(out[(y + dy) * kSide + x + dx], m, 0.5 + 1e-9) << x << "," << y;
        }
}

TEST(Corruption, RotateTurnsABlobAboutTheCentreByTheSeveritysAngle) {
    // A 3x3 blob 8 pixels right of the centre (13.5, 13.5).
    auto img = filled(0);
    for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) img[(13 + dy) * kSide + 21 + dx] = 255;
    const double cx = 21 - 13.5, cy = 13 - 13.5;  // blob centre relative to the image centre
    for (int64_t key : {0, 1, 2, 3}) {
        const auto out = corrupt(img, "rotate:5", key);  // 30 degrees, either way
        double sx = 0, sy = 0, w = 0;
        for (int64_t y = 0; y < kSide; ++y)
            for (int64_t x = 0; x < kSide; ++x) {
                sx += out[y * kSide + x] * (x - 13.5);
                sy += out[y * kSide + x] * (y - 13.5);
                w += out[y * kSide + x];
            }
        const double a = 30 * M_PI / 180;
        // OpenCV's positive angle turns counter-clockwise on screen (y down).
        const double ccwX = cx * std::cos(a) + cy * std::sin(a), ccwY = -cx * std::sin(a) + cy * std::cos(a);
        const double cwX = cx * std::cos(a) - cy * std::sin(a), cwY = cx * std::sin(a) + cy * std::cos(a);
        const double dCcw = std::hypot(sx / w - ccwX, sy / w - ccwY), dCw = std::hypot(sx / w - cwX, sy / w - cwY);
        EXPECT_LT(std::min(dCcw, dCw), 0.3) << "key " << key << ": centroid " << sx / w << "," << sy / w;
    }
}

TEST(Corruption, CorruptImagesTouchesOnlyTheImagesAsked) {
    ImageSet set;
    set.name = "test";
    set.channels = 1;
    set.height = set.width = 4;
    set.pixels.assign(3 * 16, 10);
    set.labels = {0, 1, 2};
    corruptImages(set, {1}, parseCorruption("brightness:1"));
    EXPECT_EQ(set.pixels[0], 10);
    EXPECT_EQ(set.pixels[16], 10 + 26);  // 0.1 * 255 = 25.5, rounded half away from zero
    EXPECT_EQ(set.pixels[32], 10);
    EXPECT_THROW(corruptImages(set, {3}, parseCorruption("brightness:1")), Error);
}
