#pragma once

#include "core/policy/confidence.h"
#include "core/trace/trace.h"

#include <cstdint>

namespace exitscope::core {

/// The static baseline: every sample answers at exit `exit` (0-based), as a
/// network cut after that exit would. Error naming the exit when it is
/// outside [0, K).
ExitOutcome staticExit(const Trace& trace, int64_t exit);

/// The oracle, an upper bound no real policy reaches: each sample leaves at
/// the earliest exit whose prediction is correct; samples no exit gets right
/// take the final exit (the full network's cost and answer).
ExitOutcome oracleExit(const Trace& trace);

} // namespace exitscope::core
