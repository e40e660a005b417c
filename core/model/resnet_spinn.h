#pragma once

#include "core/model/multi_exit_net.h"

namespace exitscope::core {

/// ResNet-style backbone (basic residual blocks in three stages) with
/// SPINN-style exits at about 15, 30, ..., 90% of the backbone's MACs plus
/// the final classifier. Options: "widths" [3], "blocks_per_stage" [3],
/// "exit_fractions", "head_channels".
std::shared_ptr<MultiExitNet> buildResNetSpinn(ModelSpec spec);

} // namespace exitscope::core
