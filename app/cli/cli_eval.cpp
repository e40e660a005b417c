#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "app/cli/cli_policy_args.h"
#include "core/common/error.h"
#include "core/common/format.h"
#include "core/config/tuned_config.h"
#include "core/eval/metrics.h"
#include "core/eval/sweep.h"
#include "core/policy/anytime.h"
#include "core/policy/baselines.h"
#include "core/policy/calibration.h"
#include "core/train/gate_trainer.h"

#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

namespace exitscope::app {

namespace {

/// Per-sample outcomes as CSV: sample index, label, exit, prediction, confidence (max softmax there), correct.
void writeOutcomeCsv(const core::Trace& t, const core::ExitOutcome& o, const std::string& path) {
    std::ostringstream csv;
    csv << "sample_index,label,exit,prediction,confidence,correct\n";
    for (int64_t n = 0; n < t.numSamples; ++n) {
        const auto i = static_cast<std::size_t>(n);
        const float* p = t.probsOf(n, o.exitTaken[i]);
        csv << t.sampleIndex[i] << ',' << t.labels[i] << ',' << o.exitTaken[i] << ',' << o.prediction[i] << ','
            << p[core::argmaxOf(p, t.numClasses)] << ',' << (o.prediction[i] == t.labels[i] ? 1 : 0) << '\n';
    }
    writeTextOutput(path, csv.str());
}

void printMetrics(const core::OutcomeMetrics& m) {
    std::printf("n %lld, accuracy %.2f%%\nMACs per sample: mean %.0f, median %.0f, p95 %.0f\n"
                "parameter fraction: mean %.3f; ms per sample: mean %.4f, p95 %.4f\n",
                static_cast<long long>(m.n), m.accuracy * 100, m.macs.mean, m.macs.median, m.macs.p95,
                m.paramFraction.mean, m.ms.mean, m.ms.p95);
    std::printf("%-5s %8s %10s\n", "exit", "samples", "accuracy");
    for (std::size_t k = 0; k < m.exitHistogram.size(); ++k)
        if (m.exitHistogram[k] == 0) {
            // No sample left here: there is no accuracy to give, and "nan%" is not one.
            std::printf("%-5zu %8lld %10s\n", k, 0LL, "-");
        } else {
            std::printf("%-5zu %8lld %9.2f%%\n", k, static_cast<long long>(m.exitHistogram[k]), m.exitAccuracy[k] * 100);
        }
}

} // namespace

int runEval(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "eval");
    const auto trace = core::readTrace(args.require("trace"));
    core::ExitOutcome outcome;
    nlohmann::json policyJson;
    if (args.has("config")) {
        const auto config = core::loadConfig(args.get("config"));
        core::checkConfigMatchesTrace(config, trace, args.get("trace"));
        outcome = core::applyPolicy(trace, config.policy);
        policyJson = core::policyToJson(config.policy);
    } else if (args.get("policy") == "oracle") {
        outcome = core::oracleExit(trace);
        policyJson = {{"kind", "oracle"}};
    } else {
        bool separate = false;
        const auto fit = fitTraceFromArgs(args, trace, args.get("trace"), separate);
        const auto policy = policyFromArgs(args, fit);
        outcome = core::applyPolicy(trace, policy);
        policyJson = core::policyToJson(policy);
    }
    const auto metrics = core::evaluateOutcome(trace, outcome);
    if (args.has("csv")) writeOutcomeCsv(trace, outcome, args.get("csv"));
    if (args.has("json")) {
        auto j = core::toJson(metrics);
        j["policy"] = policyJson;
        j["trace"] = args.get("trace");
        std::cout << j.dump() << "\n";
    } else if (args.get("csv") != "-") {
        printMetrics(metrics);
    }
    return 0;
}

int runTune(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "tune");
    const std::string out = args.require("out");
    const auto val = core::readTrace(args.require("trace"));
    const auto kind = core::parsePolicyKind(args.get("policy", "confidence"));
    core::PolicyConfig policy;
    if (kind == core::PolicyKind::Confidence && (args.has("target-accuracy") || args.has("budget"))) {
        // Choose the global threshold on the validation sweep.
        policy.confidence.criterion = core::parseCriterion(args.get("criterion", "max-softmax"));
        if (args.has("calibrate")) policy.confidence.temperatures = core::fitTemperatures(val);
        const auto scores = core::computeScores(val, policy.confidence.criterion, policy.confidence.temperatures);
        const auto grid = core::uniformThresholdGrid(args.getInt("points", 1001, 2, 1'000'000));
        const auto sweep = core::sweepGlobalThresholds(scores, grid);
        std::vector<core::SweepPoint> points;
        for (std::size_t i = 0; i < grid.size(); ++i) points.push_back({grid[i], sweep.accuracy[i], sweep.meanMacs[i]});
        const auto chosen = args.has("target-accuracy")
                                ? core::cheapestAtAccuracy(points, args.getDouble("target-accuracy", 0, 0, 1))
                                : core::bestUnderBudget(points, args.getDouble("budget", 0, 0, 1e18));
        policy.confidence.thresholds = {static_cast<float>(chosen.parameter)};
    } else {
        if (kind == core::PolicyKind::Confidence && !args.has("threshold") && !args.has("thresholds"))
            throw core::Error("tune --policy confidence needs --target-accuracy, --budget, --threshold or --thresholds");
        policy = policyFromArgs(args, val);
    }
    std::optional<core::Trace> test;
    if (args.has("test-trace")) test = core::readTrace(args.get("test-trace"));
    const auto config = core::makeTunedConfig(policy, val, test ? &*test : nullptr);
    core::saveConfig(config, out);
    std::printf("wrote %s (%s policy for %s %s)\n", out.c_str(), core::policyKindName(policy.kind).c_str(),
                config.model.c_str(), config.weightsHash.c_str());
    auto line = [](const char* split, const std::optional<core::ExpectedFigures>& f) {
        if (f) std::printf("  %-10s accuracy %.2f%%, mean %.0f MACs, mean %.4f ms\n", split, f->accuracy * 100, f->meanMacs, f->meanMs);
    };
    line("validation", config.validation);
    line("test", config.test);
    return 0;
}

int runCalibrate(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "calibrate");
    const auto val = core::readTrace(args.require("trace"));
    const auto report = core::calibrate(val, args.getInt("bins", 15, 2, 1000));
    std::optional<core::Trace> test;
    if (args.has("test-trace")) test = core::readTrace(args.get("test-trace"));
    std::vector<core::ReliabilityDiagram> testBefore, testAfter;
    if (test) {
        testBefore = core::reliabilityDiagrams(*test, args.getInt("bins", 15, 2, 1000));
        testAfter = core::reliabilityDiagrams(*test, args.getInt("bins", 15, 2, 1000), report.temperatures);
    }
    std::printf("per-exit temperature scaling fitted on %s\n%-5s %12s %14s %14s", args.get("trace").c_str(), "exit",
                "temperature", "val ECE before", "val ECE after");
    if (test) std::printf(" %15s %15s", "test ECE before", "test ECE after");
    std::printf("\n");
    for (std::size_t k = 0; k < report.temperatures.size(); ++k) {
        std::printf("%-5zu %12.4f %14.4f %14.4f", k, report.temperatures[k], report.before[k].ece, report.after[k].ece);
        if (test) std::printf(" %15.4f %15.4f", testBefore[k].ece, testAfter[k].ece);
        std::printf("\n");
    }
    return 0;
}

int runSweep(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "sweep");
    const auto trace = core::readTrace(args.require("trace"));
    bool separate = false;
    const auto fit = fitTraceFromArgs(args, trace, args.get("trace"), separate);
    const auto kind = core::parsePolicyKind(args.get("policy", "confidence"));
    const int64_t pointsWanted = args.getInt("points", 200, 2, 1'000'000);
    std::vector<core::SweepPoint> points;
    std::vector<double> meanMs;
    auto add = [&](double parameter, const core::ExitOutcome& o) {
        const auto f = core::expectedFigures(trace, o);
        points.push_back({parameter, f.accuracy, f.meanMacs});
        meanMs.push_back(f.meanMs);
    };
    if (kind == core::PolicyKind::Confidence) {
        const auto criterion = core::parseCriterion(args.get("criterion", "max-softmax"));
        const auto temps = args.has("calibrate") ? core::fitTemperatures(fit) : std::vector<float>{};
        const auto scores = core::computeScores(trace, criterion, temps);
        const auto grid = core::uniformThresholdGrid(pointsWanted);
        const auto s = core::sweepGlobalThresholds(scores, grid);
        for (std::size_t i = 0; i < grid.size(); ++i) {
            points.push_back({grid[i], s.accuracy[i], s.meanMacs[i]});
            meanMs.push_back(s.meanMs[i]);
        }
    } else if (kind == core::PolicyKind::Budgeted) {
        const double lo = static_cast<double>(fit.exitMacs.front()), hi = static_cast<double>(fit.exitMacs.back());
        for (int64_t i = 0; i < pointsWanted; ++i) {
            const double b = lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(pointsWanted - 1);
            add(b, core::evaluateBudgetedBatch(trace, core::fitBudgetedBatch(fit, b)).outcome);
        }
    } else if (kind == core::PolicyKind::Gates) {
        core::TrainGatesOptions o;
        o.costKind = args.get("cost", "params");
        const auto grid = core::alphaGrid(0.05);
        const auto sets = core::trainGateGrid(fit, 0.05, o, [](const core::Progress& p) { printProgress(p.fraction, p.message); });
        for (std::size_t i = 0; i < sets.size(); ++i) add(grid[i], core::applyGates(trace, sets[i]));
    } else if (kind == core::PolicyKind::Anytime) {
        // Accuracy against a per-image budget from 0 to the whole network, uniform guesses before exit 0.
        const std::string unit = args.get("unit", "macs");
        if (unit != "macs" && unit != "ms") throw core::Error("--unit: '" + unit + "' is not macs or ms");
        const auto profile = core::anytimeProfile(trace, unit == "macs" ? core::BudgetUnit::Macs : core::BudgetUnit::Milliseconds);
        const double top = profile.exitCost.back() * 1.05;
        for (int64_t i = 0; i < pointsWanted; ++i) {
            const double b = top * static_cast<double>(i) / static_cast<double>(pointsWanted - 1);
            const int64_t k = core::anytimeExit(profile, b);
            points.push_back({b, core::anytimeAccuracy(profile, b), k < 0 ? 0.0 : static_cast<double>(trace.exitMacs[static_cast<std::size_t>(k)])});
            meanMs.push_back(k < 0 ? 0.0 : trace.exitMs[static_cast<std::size_t>(k)]);
        }
    } else if (kind == core::PolicyKind::Static) {
        for (int64_t k = 0; k < trace.numExits; ++k) add(static_cast<double>(k), core::staticExit(trace, k));
    }
    const auto front = core::paretoFront(points);
    std::ostringstream csv;
    csv << "parameter,accuracy,mean_macs,mean_ms,pareto\n";
    for (std::size_t i = 0; i < points.size(); ++i) {
        bool onFront = false;
        for (const auto& f : front)
            onFront |= f.parameter == points[i].parameter && f.meanCost == points[i].meanCost && f.accuracy == points[i].accuracy;
        // Every figure reads back exactly (mean MACs once came out as 2.3849e+06).
        csv << core::exactNumber(points[i].parameter) << ',' << core::exactNumber(points[i].accuracy) << ','
            << core::exactNumber(points[i].meanCost) << ',' << core::exactNumber(meanMs[i]) << ',' << (onFront ? 1 : 0)
            << '\n';
    }
    const std::string path = args.get("csv", "-");
    writeTextOutput(path, csv.str());
    if (path != "-") std::printf("wrote %s: %zu points, %zu on the Pareto front\n", path.c_str(), points.size(), front.size());
    return 0;
}

} // namespace exitscope::app
