#pragma once

#include "core/model/multi_exit_net.h"

namespace exitscope::core {

/// A VGG-style network with an EINet-style branch (one conv + two fully
/// connected layers) after every conv layer. Options: "layers" (conv
/// widths, 0 = max pool), "branch_channels", "branch_hidden".
std::shared_ptr<MultiExitNet> buildVggFine(ModelSpec spec);

} // namespace exitscope::core
