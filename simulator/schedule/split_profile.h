#pragma once

#include "simulator/schedule/latency_model.h"

#include <string>
#include <vector>

namespace exitscope::simulator {

/// The split points of `trace` with the bytes and codec times measured on
/// real activations by `exitscope-cli profile-splits` (a companion
/// safetensors file: split_block, encoded_bytes_mean, encode_ms, decode_ms)
/// in place of defaultSplitPoints' estimate. Error naming the file when it
/// was made from other weights, a measured block is not a split candidate
/// of the trace, or a value is missing, negative or not finite.
std::vector<SplitPoint> measuredSplitPoints(const core::Trace& trace, const std::string& splitsPath);

} // namespace exitscope::simulator
