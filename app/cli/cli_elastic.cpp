// exitscope-cli elastic: EINet's comparison under an unpredictable forced
// exit: the CS-Predictor trained on the validation trace, the online
// planner and the baselines run on the test trace.
#include "app/cli/cli_args.h"
#include "app/cli/cli_policy_args.h"
#include "app/cli/cli_commands.h"
#include "core/common/error.h"
#include "core/config/tuned_config.h"
#include "core/elastic/elastic_config.h"
#include "core/elastic/evaluation.h"
#include "core/policy/calibration.h"
#include "core/trace/trace.h"
#include "simulator/platform/platform.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace exitscope::app {

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string metadataOf(const core::Trace& t, const std::string& key) {
    const auto it = t.metadata.find(key);
    return it == t.metadata.end() ? std::string() : it->second;
}

std::string derivedValTrace(const std::string& testPath) {
    if (const auto val = valTraceNextTo(testPath)) return *val;
    throw core::Error(
        "elastic: give --val-trace VAL (the predictor is trained on a validation trace; none found next to " +
        testPath + ")");
}

std::vector<int64_t> parseWidths(const CliArgs& args) {
    std::vector<int64_t> widths;
    if (!args.has("hidden")) return core::PredictorOptions{}.hidden;
    for (double v : args.getDoubles("hidden")) {
        if (v != static_cast<double>(static_cast<int64_t>(v)) || v < 1 || v > core::ConfidencePredictor::kMaxWidth)
            throw core::Error("--hidden: each width must be an integer in [1, 1024], not " + std::to_string(v));
        widths.push_back(static_cast<int64_t>(v));
    }
    if (widths.empty()) throw core::Error("--hidden: give at least one width, e.g. 32,32");
    return widths;
}

std::string describeWidths(int64_t K, const std::vector<int64_t>& hidden) {
    std::string s = std::to_string(2 * K);
    for (int64_t h : hidden) s += "-" + std::to_string(h);
    return s + "-" + std::to_string(K);
}

nlohmann::json rowJson(const core::ElasticMethodResult& r) {
    return {{"key", r.key},
            {"name", r.name},
            {"accuracy", r.accuracy},
            {"expected_accuracy", r.expectedAccuracy},
            {"mean_branches_run", r.meanBranchesRun},
            {"mean_answered", r.meanAnswered},
            {"replans_per_sample", r.replansPerSample}};
}

}  // namespace

int runElastic(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "elastic");
    const std::string testPath = args.require("trace");
    const std::string spec = args.require("deadline");
    const std::string unit = args.get("unit", "fraction");
    if (unit != "fraction" && unit != "ms") throw core::Error("--unit: '" + unit + "' is not fraction or ms");
    const auto given = [&] {
        try {
            return core::ForcedExitDistribution::parse(spec);
        } catch (const core::Error& e) {
            throw core::Error(std::string("--deadline: ") + e.what());
        }
    }();

    auto test = core::readTrace(testPath);
    const std::string valPath = args.has("val-trace") ? args.get("val-trace") : derivedValTrace(testPath);
    auto val = core::readTrace(valPath);
    if (val.numExits != test.numExits || metadataOf(val, "weights_hash") != metadataOf(test, "weights_hash"))
        throw core::Error("elastic: " + valPath + " and " + testPath +
                          " come from different models (weights hash or number of exits differ)");
    const int64_t K = test.numExits;
    // Calibrated confidences make better proxies of the probability of
    // being right, which is what the plan's expected accuracy needs; the
    // argmax (and so every exit's correctness) does not change.
    std::vector<float> temperatures;
    if (args.has("calibrate")) {
        temperatures = core::fitTemperatures(val);
        core::applyTemperatures(val, temperatures);
        core::applyTemperatures(test, temperatures);
    }
    if (K > 64) throw core::Error("elastic: the planner handles at most 64 exits, the trace has " + std::to_string(K));

    std::string deviceName = "profiling machine";
    core::DeviceTimeFn deviceTime;
    simulator::Platform device;
    if (args.has("device")) {
        device = simulator::loadPlatformSpec(args.get("device"));
        simulator::checkPlatform(device, "--device");
        deviceName = device.name;
        deviceTime = [&device](double ms, double macs) { return device.computeMs(ms, macs); };
    }
    const auto profile = core::executionProfile(test, deviceTime);
    const double fullMs = profile.fullMs();
    const auto distribution = unit == "fraction" ? given.scaled(fullMs) : given;

    core::PredictorOptions popts;
    popts.hidden = parseWidths(args);
    popts.epochs = args.getInt("epochs", popts.epochs, 1, 10000);
    popts.seed = static_cast<uint64_t>(args.getInt("seed", 0, 0, 1LL << 62));
    const bool json = args.has("json");
    const auto trainStart = std::chrono::steady_clock::now();
    const auto predictor = core::ConfidencePredictor::train(
        core::exitConfidences(val), K, popts,
        json ? core::ProgressFn() : [](const core::Progress& p) { printProgress(p.fraction, p.message); });
    const double trainSeconds = secondsSince(trainStart);
    const auto error = core::predictorError(predictor, core::exitConfidences(test));

    core::ElasticEvalOptions eopts;
    eopts.timesPerSample = args.getInt("times", 20, 1, 100000);
    eopts.seed = popts.seed;
    eopts.search.enumerate = args.getInt("m", 4, 0, 24);
    eopts.search.randomPlans = args.getInt("random-plans", 16, 1, 1000000);
    eopts.threads = args.getInt("threads", 0, 0, 256);
    eopts.maxSamples = args.getInt("max-samples", 0, 0, 1LL << 40);
    if (!json) eopts.progress = [](const core::Progress& p) { printProgress(p.fraction, p.message); };
    const auto evalStart = std::chrono::steady_clock::now();
    const auto ev = core::evaluateElastic(test, profile, distribution, predictor, eopts);
    const double evalSeconds = secondsSince(evalStart);

    if (args.has("out")) {
        core::PolicyConfig fallback;
        fallback.kind = core::PolicyKind::Static;
        fallback.staticExit = K - 1;
        auto config = core::makeTunedConfig(fallback, val, &test);
        core::ElasticSettings s;
        s.method = core::SearchMethod::Hybrid;
        s.search = eopts.search;
        s.deadlineSpec = spec;
        s.deadlineUnit = unit;
        s.fullMs = fullMs;
        s.distributionMs = distribution;
        s.device = args.get("device");
        s.predictor = predictor;
        s.temperatures = temperatures;
        s.expectedTestAccuracy = ev.row("einet").expectedAccuracy;
        config.elastic = s;
        core::saveConfig(config, args.get("out"));
    }

    if (json) {
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& r : ev.rows) rows.push_back(rowJson(r));
        nlohmann::json j{
            {"trace", testPath},
            {"val_trace", valPath},
            {"model", metadataOf(test, "model")},
            {"num_exits", K},
            {"device", deviceName},
            {"full_ms", fullMs},
            {"final_only_ms", profile.soloFinishMs(K - 1)},
            {"deadline",
             {{"spec", spec},
              {"unit", unit},
              {"distribution_ms", distribution.toJson()},
              {"mean_ms", distribution.mean()}}},
            {"samples", ev.numSamples},
            {"times_per_sample", ev.timesPerSample},
            {"seed", eopts.seed},
            {"enumerate", eopts.search.enumerate},
            {"random_plans", eopts.search.randomPlans},
            {"predictor",
             {{"layers", describeWidths(K, popts.hidden)},
              {"epochs", popts.epochs},
              {"train_seconds", trainSeconds},
              {"mae_by_observed", error.byObserved},
              {"mae_by_exit", error.byExit}}},
            {"temperatures", temperatures},
            {"eval_seconds", evalSeconds},
            {"rows", rows},
        };
        if (args.has("out")) j["out"] = args.get("out");
        std::cout << j.dump() << "\n";
        return 0;
    }
    std::printf("model:      %s, %lld exits; test %s (%lld samples x %lld forced-exit times, seed %llu)\n",
                metadataOf(test, "model").c_str(), static_cast<long long>(K), testPath.c_str(),
                static_cast<long long>(ev.numSamples), static_cast<long long>(ev.timesPerSample),
                static_cast<unsigned long long>(eopts.seed));
    std::printf("device:     %s; every branch run: %.3f ms; final classifier alone: %.3f ms\n", deviceName.c_str(),
                fullMs, profile.soloFinishMs(K - 1));
    std::printf("deadline:   %s%s = %s ms, mean %.3f ms\n", spec.c_str(),
                unit == "fraction" ? " (fraction of every branch run)" : " ms", distribution.describe().c_str(),
                distribution.mean());
    if (!temperatures.empty()) {
        std::printf("confidence: max softmax after per-exit temperature scaling fitted on VAL:");
        for (float t : temperatures) std::printf(" %.3f", t);
        std::printf("\n");
    }
    std::printf("predictor:  MLP %s trained on %s (%lld samples, %lld epochs) in %.2f s\n",
                describeWidths(K, popts.hidden).c_str(), valPath.c_str(), static_cast<long long>(val.numSamples),
                static_cast<long long>(popts.epochs), trainSeconds);
    std::printf("test MAE with the first L exits observed:");
    for (std::size_t L = 0; L < error.byObserved.size(); ++L) std::printf(" L=%zu %.4f", L, error.byObserved[L]);
    std::printf("\ntest MAE per exit (over the prefixes leaving it unobserved):");
    for (std::size_t k = 0; k < error.byExit.size(); ++k) std::printf(" %zu:%.4f", k, error.byExit[k]);
    std::printf("\n\n%-44s %9s %9s %9s %9s\n", "strategy", "accuracy", "exact", "branches", "answered");
    for (const auto& r : ev.rows) {
        std::printf("%-44s %8.2f%% %8.2f%%", r.name.c_str(), 100 * r.accuracy, 100 * r.expectedAccuracy);
        if (r.key == "oracle")
            std::printf(" %9s %9s\n", "-", "-");
        else
            std::printf(" %9.2f %9.2f\n", r.meanBranchesRun, r.meanAnswered);
    }
    std::printf(
        "\naccuracy: over the drawn times (no answer yet counts 1/C); exact: averaged over the distribution;\n"
        "branches: run per sample when never stopped; answered: finished by the forced exit, on average.\n");
    std::printf("evaluation: %.2f s\n", evalSeconds);
    if (args.has("out")) std::printf("wrote %s (elastic section; policy: final exit)\n", args.get("out").c_str());
    return 0;
}

}  // namespace exitscope::app
