#pragma once

#include "core/data/dataset.h"
#include "core/model/model_info.h"

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

namespace exitscope::core {

/// Checks that a data set's images fit a model's input (channels and size);
/// Error naming both shapes otherwise.
void checkInputCompatible(const ImageSet& images, const ModelSpec& spec);

/// Normalised float batch [n, C, H, W] of the given images.
torch::Tensor imagesToTensor(const ImageSet& images, const std::vector<int64_t>& indices,
                             const Normalisation& norm);

/// Labels of the given images as int64 [n].
torch::Tensor labelsToTensor(const ImageSet& images, const std::vector<int64_t>& indices);

/// Per-channel mean and std of the given images (pixels scaled to [0, 1]).
Normalisation computeNormalisation(const ImageSet& images, const std::vector<int64_t>& indices);

/// Training augmentation: random horizontal flip and a random shift of up
/// to `pad` pixels (zero padded), per image, from `rng`.
torch::Tensor augment(const torch::Tensor& batch, int64_t pad, std::mt19937_64& rng);

} // namespace exitscope::core
