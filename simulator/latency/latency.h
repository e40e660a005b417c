#pragma once

#include "core/trace/trace.h"
#include "simulator/platform/platform.h"

#include <vector>

namespace exitscope::simulator {

/// Milliseconds per sample to reach and evaluate each exit on `device`:
/// the blocks up to the exit's block plus every head up to and including
/// it, each scaled from the trace's measured time (or MACs, for a GFLOP/s
/// platform) by Platform::computeMs. Error when the platform is invalid.
std::vector<double> exitLatencyMs(const core::Trace& trace, const Platform& device);

} // namespace exitscope::simulator
