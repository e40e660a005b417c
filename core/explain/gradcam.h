#pragma once

#include "core/data/dataset.h"

#include <cstdint>
#include <vector>

namespace exitscope::core {

class MultiExitNet;

/// What one exit looked at for one image (Grad-CAM, Selvaraju et al. 2017):
/// the gradient of the exit's top-class logit with respect to the feature
/// map its head reads, averaged over space into one weight per channel, the
/// channel-weighted sum of the map, ReLU, upsampled bilinearly to the input.
struct ExitAttention {
    int64_t exit = 0;
    int64_t prediction = 0;   ///< the exit's top class
    float confidence = 0;     ///< its max softmax
    int64_t height = 0, width = 0;                ///< the input's size
    int64_t featureHeight = 0, featureWidth = 0;  ///< the feature map's own size
    std::vector<float> map;   ///< [height * width], scaled so its maximum is 1 (all 0 when nothing is positive)
};

/// Grad-CAM of exits 0..lastExit (-1: every exit) of image `index` of
/// `images`, computed on the loaded weights (zoo models and imported
/// TorchScript models alike; eval mode, on the CPU). The feature map is the
/// four-dimensional state tensor that the exit's head reads and that gets a
/// gradient; of several (MSDNet's scales), the last one that does. Error when
/// a head reads no four-dimensional tensor (nothing spatial to show).
std::vector<ExitAttention> gradCam(MultiExitNet& net, const ImageSet& images, int64_t index, int64_t lastExit = -1);

} // namespace exitscope::core
