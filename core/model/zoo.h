#pragma once

#include "core/model/model_info.h"

#include <memory>
#include <string>
#include <vector>

namespace exitscope::core {

class MultiExitNet;

/// Names of the built-in multi-exit models.
std::vector<std::string> zooModelNames();

/// Builds a zoo model from its spec (name, options, input shape, classes).
/// Missing options get their defaults, which are written back into the
/// returned model's spec so a checkpoint records them. Unknown names and
/// bad options are an Error.
std::shared_ptr<MultiExitNet> buildModel(const ModelSpec& spec);

/// Picks, for each target fraction of backbone MACs, the block boundary
/// whose cumulative fraction is closest (distinct, increasing). Used to place
/// SPINN-style exits from FLOP counts rather than by hand.
std::vector<int64_t> placeExitsByFraction(const std::vector<int64_t>& blockMacs,
                                          const std::vector<double>& targets);

} // namespace exitscope::core
