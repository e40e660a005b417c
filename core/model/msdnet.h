#pragma once

#include "core/model/multi_exit_net.h"

namespace exitscope::core {

/// A small MSDNet: feature maps at three scales, dense connectivity within
/// each scale (every layer appends new features from its own scale and the
/// next finer one), finest scales dropped in later blocks, and a classifier
/// on the coarsest scale after every block. Options: "blocks", "base_channels",
/// "growth", "layers_per_block", "head_channels".
std::shared_ptr<MultiExitNet> buildMsdNet(ModelSpec spec);

} // namespace exitscope::core
