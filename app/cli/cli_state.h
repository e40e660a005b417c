#pragma once

// Conversions between a network's State (LibTorch) and the codec's plain
// tensors, shared by the CLI commands that send states over a link.
#include "core/model/layers.h"
#include "simulator/codec/codec.h"

#include <cstdint>
#include <vector>

namespace exitscope::app {

/// Sample `i` of a batched state as the codec's plain tensors (batch dim 1).
std::vector<simulator::TensorData> sampleState(const core::State& state, int64_t i);

/// Decoded plain tensors back into a State (copies the values).
core::State stateFromPlain(const std::vector<simulator::TensorData>& tensors);

/// The shapes of a state's tensors, for decodeState's expected shapes.
std::vector<std::vector<int64_t>> stateShapes(const core::State& state);

} // namespace exitscope::app
