#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// A set of 8-bit images with integer labels, stored contiguously in
/// N x C x H x W order. Class names travel with the images.
struct ImageSet {
    std::string name;   ///< where it came from: "fashion-mnist/train", a path, ...
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    std::vector<uint8_t> pixels;  ///< size() * channels * height * width bytes
    std::vector<int64_t> labels;  ///< one per image, in [0, classNames.size())
    std::vector<std::string> classNames;

    std::size_t size() const { return labels.size(); }
    std::size_t imageBytes() const {
        return static_cast<std::size_t>(channels * height * width);
    }
    const uint8_t* image(std::size_t i) const { return pixels.data() + i * imageBytes(); }
};

/// Per-channel normalisation applied to pixels scaled to [0, 1]:
/// x = (p / 255 - mean[c]) / std[c]. Stored with the model.
struct Normalisation {
    std::vector<float> mean;
    std::vector<float> std;
};

/// Which images of a data set make up a split. Indices point into the
/// data set's train images (train, val) or test images (test).
enum class SplitKind { Train, Val, Test };

/// A data set as a model sees it: its train and test images plus a
/// deterministic train / validation carve-out chosen by a seed.
struct Dataset {
    std::string name;  ///< "fashion-mnist", "mnist", "cifar10", or a path
    ImageSet trainImages;
    ImageSet testImages;
    std::vector<int64_t> trainIndices;  ///< into trainImages, never overlapping valIndices
    std::vector<int64_t> valIndices;    ///< into trainImages
    std::vector<int64_t> testIndices;   ///< into testImages
    uint64_t seed = 0;

    /// The images and the indices that make up one split.
    const ImageSet& imagesOf(SplitKind kind) const {
        return kind == SplitKind::Test ? testImages : trainImages;
    }
    const std::vector<int64_t>& indicesOf(SplitKind kind) const {
        return kind == SplitKind::Train ? trainIndices
               : kind == SplitKind::Val ? valIndices
                                        : testIndices;
    }
};

SplitKind parseSplitKind(const std::string& text);  ///< "train" | "val" | "test"
std::string toString(SplitKind kind);

} // namespace exitscope::core
