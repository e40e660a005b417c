// exitscope-cli simulate --drift: a request stream whose data shift over
// time (traces of corrupted images, profile --corrupt), through thresholds
// fitted once, re-fitted online from the final exit's answers, and an oracle
// re-fitted on labels (simulator/drift/drift.h).
#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/data/corruption.h"
#include "core/trace/trace.h"
#include "simulator/drift/drift.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

namespace exitscope::app {

namespace {

nlohmann::json spanJson(const simulator::DriftSpan& s) {
    return {{"first_request", s.firstRequest}, {"requests", s.requests},    {"severity", s.severity},
            {"accuracy", s.accuracy},          {"final_accuracy", s.finalAccuracy}, {"drop", s.drop},
            {"mean_exit", s.meanExit},         {"macs_fraction", s.macsFraction},  {"ran_to_end_share", s.ranToEndShare},
            {"threshold", s.threshold}};
}

} // namespace

int runDriftSimulation(const CliArgs& args) {
    const auto schedule = simulator::parseDriftSchedule(args.get("drift"));
    const auto adapt = simulator::parseAdaptOptions(args.get("adapt", "share=0.05,max-drop=0.01"));
    simulator::DriftOptions options;
    options.numRequests = args.getInt("requests", 10000, 1, 100'000'000);
    options.spanRequests = args.getInt("span", 500, 1, 100'000'000);
    options.seed = static_cast<uint64_t>(args.getInt("seed", 0, 0, 1LL << 62));
    options.keepRequests = args.has("csv");
    const std::string valPath = args.require("val-trace");
    const auto val = core::readTrace(valPath);
    if (!val.meta("corruption").empty())
        throw core::Error(valPath + ": the thresholds are fitted on clean validation data, but this trace is of " +
                          val.meta("corruption") + " images");
    // The clean test trace is severity 0; each --shifted trace says its corruption.
    std::vector<std::unique_ptr<core::Trace>> traces;
    std::map<int, const core::Trace*> bySeverity;
    std::map<int, std::string> pathOf;
    std::string kind;
    std::vector<std::string> paths{args.require("trace")};
    std::stringstream shifted(args.get("shifted"));
    for (std::string p; std::getline(shifted, p, ',');)
        if (!p.empty()) paths.push_back(p);
    for (std::size_t i = 0; i < paths.size(); ++i) {
        const std::string& p = paths[i];
        traces.push_back(std::make_unique<core::Trace>(core::readTrace(p)));
        const core::Trace& t = *traces.back();
        if (t.meta("weights_hash") != val.meta("weights_hash"))
            throw core::Error(p + ": profiled from other weights than " + valPath);
        int severity = 0;
        const std::string c = t.meta("corruption");
        if (!c.empty()) {
            const auto corruption = core::parseCorruption(c);
            const std::string name = c.substr(0, c.find(':'));
            if (!kind.empty() && name != kind)
                throw core::Error(p + ": a " + name + " trace among " + kind + " ones; a drift follows one corruption");
            kind = name;
            severity = corruption.severity;
        } else if (i > 0) {
            throw core::Error(p + ": --shifted takes traces made with profile --corrupt; this one is clean");
        }
        if (bySeverity.count(severity))
            throw core::Error(p + ": severity " + std::to_string(severity) + " is also in " + pathOf[severity]);
        bySeverity[severity] = &t;
        pathOf[severity] = p;
    }
    const auto report = simulator::simulateDrift(val, bySeverity, schedule, adapt, options);

    if (args.has("csv"))
        core::writeFileAtomically(args.get("csv"), [&](std::ostream& out) {
            out << "request,policy,severity,sample,threshold,exit,correct,final_correct,ran_to_end,macs\n";
            for (const auto& r : report.requests)
                out << r.index << ',' << r.policy << ',' << r.severity << ',' << r.sample << ',' << r.threshold << ','
                    << r.exitTaken << ',' << r.correct << ',' << r.finalCorrect << ',' << r.ranToEnd << ',' << r.macs << '\n';
        });
    if (args.has("json")) {
        nlohmann::json j;
        j["drift"] = args.get("drift");
        j["corruption"] = kind;
        j["adapt"] = {{"share", adapt.share}, {"max_drop", adapt.maxDrop}, {"window", adapt.window}, {"refit", adapt.refitEvery}};
        j["fitted_on_clean"] = report.fittedOnClean;
        for (const auto& p : report.policies) {
            nlohmann::json spans = nlohmann::json::array();
            for (const auto& s : p.spans) spans.push_back(spanJson(s));
            nlohmann::json segments = nlohmann::json::array();
            for (const auto& s : p.segments) segments.push_back(spanJson(s));
            j["policies"].push_back({{"name", p.name}, {"total", spanJson(p.total)}, {"spans_over_budget", p.spansOverBudget},
                                     {"segments", segments}, {"spans", spans}});
        }
        std::cout << j.dump() << "\n";
        return 0;
    }
    std::printf("drift %s of %s over %lld requests; budget: accuracy drop <= %.2f%% against the final exit\n",
                args.get("drift").c_str(), kind.empty() ? "clean data" : kind.c_str(),
                static_cast<long long>(options.numRequests), 100 * adapt.maxDrop);
    std::printf("thresholds fitted on the clean validation trace: %.2f; adaptive: %.0f%% of requests run to the end, "
                "window %lld, re-fit every %lld\n",
                report.fittedOnClean, 100 * adapt.share, static_cast<long long>(adapt.window),
                static_cast<long long>(adapt.refitEvery));
    for (const auto& p : report.policies) {
        std::printf("\n%s: accuracy %.2f%% (final exit %.2f%%, drop %.2f%%), MACs %.1f%% of the full network, "
                    "%.1f%% run to the end, %lld of %zu spans of %lld requests over budget\n",
                    p.name.c_str(), 100 * p.total.accuracy, 100 * p.total.finalAccuracy, 100 * p.total.drop,
                    100 * p.total.macsFraction, 100 * p.total.ranToEndShare, static_cast<long long>(p.spansOverBudget),
                    p.spans.size(), static_cast<long long>(options.spanRequests));
        std::printf("  %-9s %-4s %8s %8s %8s %9s %7s %9s\n", "from req", "sev", "acc %", "final %", "drop %", "mean exit",
                    "MACs %", "threshold");
        for (const auto& s : p.segments)
            std::printf("  %-9lld %-4d %8.2f %8.2f %8.2f %9.2f %7.1f %9.2f%s\n", static_cast<long long>(s.firstRequest),
                        s.severity, 100 * s.accuracy, 100 * s.finalAccuracy, 100 * s.drop, s.meanExit,
                        100 * s.macsFraction, s.threshold, s.drop > adapt.maxDrop + 1e-12 ? "  over" : "");
        if (!args.has("spans")) continue;
        std::printf("  every %lld requests:\n", static_cast<long long>(options.spanRequests));
        for (const auto& s : p.spans)
            std::printf("  %-9lld %-4d %8.2f %8.2f %8.2f %9.2f %7.1f %9.2f%s\n", static_cast<long long>(s.firstRequest),
                        s.severity, 100 * s.accuracy, 100 * s.finalAccuracy, 100 * s.drop, s.meanExit,
                        100 * s.macsFraction, s.threshold, s.drop > adapt.maxDrop + 1e-12 ? "  over" : "");
    }
    return 0;
}

} // namespace exitscope::app
