#pragma once

#include "app/cli/cli_args.h"
#include "core/policy/policy.h"
#include "core/trace/trace.h"

#include <optional>
#include <set>
#include <string>

namespace exitscope::app {

/// Builds a deployable policy from command-line options on `trace`:
/// --policy confidence [--criterion C] (--threshold T | --thresholds t1,..) [--calibrate],
/// --policy budgeted --budget MACS, --policy gates --alpha A [--cost params|macs],
/// --policy static --exit K, --policy anytime --budget B [--unit macs|ms].
/// Fitting (temperatures, budgeted thresholds, gates) uses `fitTrace`
/// (the validation trace). Oracle is not deployable and is handled by callers.
core::PolicyConfig policyFromArgs(const CliArgs& args, const core::Trace& fitTrace);

/// The "-val" trace next to a "-test" trace (the names `profile` and the bundled assets use), when it exists.
std::optional<std::string> valTraceNextTo(const std::string& testPath);

/// The trace a policy is fitted on: --val-trace; else, for policies that fit
/// (budgeted, gates, calibrated confidence), the -val trace next to
/// `tracePath`; the evaluated trace itself only with --fit-on-test (said on
/// stderr); Error naming both ways otherwise. `separate` is false only then.
core::Trace fitTraceFromArgs(const CliArgs& args, const core::Trace& trace, const std::string& tracePath,
                             bool& separate);

} // namespace exitscope::app
