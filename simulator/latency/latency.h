#pragma once

#include "core/trace/trace.h"

#include <string>
#include <vector>

namespace exitscope::simulator {

/// A compute platform described by its speed relative to the machine the
/// trace was profiled on (2.0 = twice as fast). Times are scaled from the
/// trace's measured block_ms / head_ms, never invented.
struct DeviceProfile {
    std::string name = "profiling machine";
    double relativeSpeed = 1.0;
};

/// Milliseconds per sample to reach and evaluate each exit on `device`:
/// the blocks up to the exit's block plus every head up to and including
/// it, each measured time divided by the device's relative speed.
/// Error when the speed is not a positive finite number.
std::vector<double> exitLatencyMs(const core::Trace& trace, const DeviceProfile& device);

} // namespace exitscope::simulator
