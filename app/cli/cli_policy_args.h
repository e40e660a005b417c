#pragma once

#include "app/cli/cli_args.h"
#include "core/policy/policy.h"
#include "core/trace/trace.h"

#include <set>
#include <string>

namespace exitscope::app {

/// Options every policy-reading subcommand (eval, tune, sweep) accepts.
const std::set<std::string>& policyOptionNames();

/// Builds a deployable policy from command-line options on `trace`:
/// --policy confidence [--criterion C] (--threshold T | --thresholds t1,..) [--calibrate],
/// --policy budgeted --budget MACS, --policy gates --alpha A [--cost params|macs],
/// --policy static --exit K, --policy anytime --budget B [--unit macs|ms].
/// Fitting (temperatures, budgeted thresholds, gates) uses `fitTrace`
/// (the validation trace). Oracle is not deployable and is handled by callers.
core::PolicyConfig policyFromArgs(const CliArgs& args, const core::Trace& fitTrace);

/// Reads --val-trace when given, else returns `trace` (fitting on the trace
/// being evaluated is allowed but reported).
core::Trace fitTraceFromArgs(const CliArgs& args, const core::Trace& trace, bool& separate);

} // namespace exitscope::app
