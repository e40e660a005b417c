#include "app/cli/cli_policy_args.h"

#include "core/common/error.h"
#include "core/policy/calibration.h"
#include "core/train/gate_trainer.h"

#include <cstdio>
#include <filesystem>

namespace exitscope::app {

std::optional<std::string> valTraceNextTo(const std::string& testPath) {
    const std::string from = "-test.safetensors";
    if (testPath.size() > from.size() && testPath.compare(testPath.size() - from.size(), from.size(), from) == 0) {
        const std::string val = testPath.substr(0, testPath.size() - from.size()) + "-val.safetensors";
        std::error_code ec;
        if (std::filesystem::is_regular_file(val, ec)) return val;
    }
    return std::nullopt;
}

core::Trace fitTraceFromArgs(const CliArgs& args, const core::Trace& trace, const std::string& tracePath,
                             bool& separate) {
    const std::string kind = args.get("policy", "confidence");
    const bool fits = kind == "budgeted" || kind == "gates" || (kind == "confidence" && args.has("calibrate"));
    separate = true;
    if (args.has("val-trace")) return core::readTrace(args.get("val-trace"));
    if (!fits) return trace;  // nothing is fitted
    if (args.has("fit-on-test")) {
        separate = false;
        std::fprintf(stderr, "note: fitting the %s policy on %s itself (--fit-on-test): its figures are optimistic\n",
                     kind.c_str(), tracePath.c_str());
        return trace;
    }
    if (const auto val = valTraceNextTo(tracePath)) {
        std::fprintf(stderr, "note: fitting the %s policy on %s\n", kind.c_str(), val->c_str());
        return core::readTrace(*val);
    }
    // Fitting thresholds on the trace being evaluated would report test-set-tuned figures.
    throw core::Error("--policy " + kind + " fits on a validation trace: give --val-trace VAL (no -val trace next to " +
                      tracePath + "), or --fit-on-test to fit on it");
}

core::PolicyConfig policyFromArgs(const CliArgs& args, const core::Trace& fitTrace) {
    core::PolicyConfig p;
    p.kind = core::parsePolicyKind(args.get("policy", "confidence"));
    switch (p.kind) {
    case core::PolicyKind::Confidence: {
        p.confidence.criterion = core::parseCriterion(args.get("criterion", "max-softmax"));
        if (args.has("thresholds")) {
            for (double t : args.getDoubles("thresholds")) p.confidence.thresholds.push_back(static_cast<float>(t));
        } else {
            p.confidence.thresholds = {static_cast<float>(args.getDouble("threshold", 0.9, 0.0, 1.0))};
        }
        if (args.has("calibrate")) p.confidence.temperatures = core::fitTemperatures(fitTrace);
        break;
    }
    case core::PolicyKind::Budgeted:
        if (!args.has("budget")) throw core::Error("--policy budgeted needs --budget (average MACs per sample)");
        p.budgeted = core::fitBudgetedBatch(fitTrace, args.getDouble("budget", 0, 0, 1e18));
        break;
    case core::PolicyKind::Gates: {
        core::TrainGatesOptions o;
        o.alpha = args.getDouble("alpha", 0.5, 0.0, 1.0);
        o.costKind = args.get("cost", "params");
        p.gates = core::trainGates(fitTrace, o);
        break;
    }
    case core::PolicyKind::Static:
        p.staticExit = args.getInt("exit", fitTrace.numExits - 1, 0, fitTrace.numExits - 1);
        break;
    case core::PolicyKind::Anytime: {
        if (!args.has("budget")) throw core::Error("--policy anytime needs --budget (MACs or ms per image)");
        p.anytimeBudget = args.getDouble("budget", 0, 0, 1e18);
        const std::string unit = args.get("unit", "macs");
        if (unit != "macs" && unit != "ms") throw core::Error("--unit: '" + unit + "' is not macs or ms");
        p.anytimeUnit = unit == "macs" ? core::BudgetUnit::Macs : core::BudgetUnit::Milliseconds;
        break;
    }
    }
    return p;
}

} // namespace exitscope::app
