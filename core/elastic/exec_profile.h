#pragma once

#include "core/trace/trace.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace exitscope::core {

/// EINet's execution-time profile of a multi-exit network, in milliseconds:
/// the backbone time between consecutive exit points and the time of each
/// exit branch (head). With a plan that runs some branches, branch k
/// finishes at the sum of backboneMs[0..k] plus the heads of the planned
/// branches up to and including k: skipping a branch saves its head time,
/// so every later branch finishes earlier. A plain struct, so a caller can
/// build one by hand.
struct ExecutionProfile {
    std::vector<double> backboneMs;  ///< [K], backbone blocks from exit point k-1 (or the input) to exit point k
    std::vector<double> headMs;      ///< [K], exit branch k alone
    double chanceAccuracy = 0.0;     ///< 1 / C, the expected accuracy of a uniform guess

    int64_t numExits() const { return static_cast<int64_t>(headMs.size()); }
    /// When branch k finishes if every branch runs (the trace's exit_ms).
    double allBranchesFinishMs(int64_t k) const;
    /// When the final branch finishes if every branch runs: the full
    /// network's time, the reference for deadlines given as fractions.
    double fullMs() const { return allBranchesFinishMs(numExits() - 1); }
    /// When branch k finishes if it is the only branch that runs.
    double soloFinishMs(int64_t k) const;
};

/// Converts a time measured on the profiling machine (ms) with its MAC
/// count into the time on the target device; the identity when empty.
using DeviceTimeFn = std::function<double(double measuredMs, double macs)>;

/// The profile of a trace from its block_ms, head_ms and exit_block, each
/// time passed through `deviceTime` (e.g. a simulator Platform's computeMs)
/// when given. Blocks after the last exit point are left out (no answer
/// depends on them). Error when the timing arrays are missing or their
/// sizes disagree, exit_block is not non-decreasing, or a time is negative
/// or not finite (before or after the device conversion).
ExecutionProfile executionProfile(const Trace& trace, const DeviceTimeFn& deviceTime = {});

/// Checks a hand-built profile: K >= 1 equal sizes, finite non-negative
/// times, chance accuracy in [0, 1]. Error beginning with `where`.
void checkExecutionProfile(const ExecutionProfile& profile, const std::string& where);

}  // namespace exitscope::core
