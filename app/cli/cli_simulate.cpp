// exitscope-cli simulate: a request stream through device, link and server
// under a bandwidth schedule, with the scheduler re-planning online.
#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/config/tuned_config.h"
#include "core/trace/trace.h"
#include "simulator/platform/link.h"
#include "simulator/platform/platform.h"
#include "simulator/schedule/scheduler.h"
#include "simulator/schedule/split_profile.h"
#include "simulator/simulate/event_sim.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace exitscope::app {

namespace {

double parseNumber(const std::string& text, const std::string& what) {
    try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size()) return v;
    } catch (const std::exception&) {
    }
    throw core::Error(what + ": '" + text + "' is not a number");
}

simulator::Goal parseGoal(const std::string& text) {
    const auto colon = text.find(':');
    const std::string kind = text.substr(0, colon);
    const std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
    if (kind == "latency" && !rest.empty()) return simulator::Goal::lowestLatency(parseNumber(rest, "--goal latency"));
    if (kind == "accuracy" && !rest.empty())
        return simulator::Goal::highestAccuracy(parseNumber(rest, "--goal accuracy"));
    if (kind == "throughput" && colon == std::string::npos) return simulator::Goal::highestThroughput();
    if (kind == "cost") {
        const auto comma = rest.find(',');
        if (comma != std::string::npos)
            return simulator::Goal::lowestServerCost(parseNumber(rest.substr(0, comma), "--goal cost"),
                                                     parseNumber(rest.substr(comma + 1), "--goal cost"));
    }
    throw core::Error("--goal: '" + text +
                      "' is not latency:MIN_ACCURACY, accuracy:MAX_P95_MS, throughput or cost:MAX_P95_MS,MIN_ACCURACY");
}

nlohmann::json summaryJson(const simulator::SimSummary& s) {
    return {{"count", s.count},
            {"accuracy", s.accuracy},
            {"mean_ms", s.meanMs},
            {"median_ms", s.medianMs},
            {"p95_ms", s.p95Ms},
            {"mean_queueing_ms", s.meanQueueingMs},
            {"throughput_per_s", s.throughputPerS},
            {"replans", s.replans},
            {"design_changes", s.designChanges},
            {"infeasible_replans", s.infeasibleReplans}};
}

} // namespace

int runSimulate(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "simulate");
    if (args.has("drift")) return runDriftSimulation(args);
    for (const char* drift : {"adapt", "shifted", "val-trace", "span"})
        if (args.has(drift)) throw core::Error(std::string("simulate: --") + drift + " belongs to --drift");
    // Required without --drift; named as CliArgs names a missing required option.
    for (const auto& [name, value] : {std::pair<const char*, const char*>{"device", "PRESET|FILE"}, {"server", "PRESET|FILE"},
                                      {"goal", "latency:ACC|accuracy:P95MS|throughput|cost:P95MS,ACC"}})
        if (!args.has(name))
            throw core::Error(std::string("option --") + name + " " + value +
                              " is required (exitscope-cli simulate --help lists the options)");
    const auto trace = core::readTrace(args.require("trace"));
    const auto device = simulator::loadPlatformSpec(args.require("device"));
    const auto server = simulator::loadPlatformSpec(args.require("server"));
    const auto goal = parseGoal(args.require("goal"));

    if (args.has("link") == args.has("link-csv")) throw core::Error("simulate: give one of --link MBPS[,RTT_MS] or --link-csv FILE");
    simulator::Link link;
    std::vector<double> bandwidths;
    if (args.has("link")) {
        const auto values = args.getDoubles("link");
        if (values.empty() || values.size() > 2)
            throw core::Error("--link: '" + args.get("link") + "' is not MBPS or MBPS,RTT_MS");
        link.bandwidthMbps = values[0];
        if (values.size() == 2) link.rttMs = values[1];
    }
    link.rttMs = args.getDouble("rtt", link.rttMs, 0, 1e9);
    link.jitterMs = args.getDouble("jitter", 0.0, 0, 1e9);
    const auto schedule = args.has("link-csv") ? simulator::BandwidthSchedule::loadCsv(args.get("link-csv"))
                                               : simulator::BandwidthSchedule::constant(link.bandwidthMbps);
    link.bandwidthMbps = schedule.mbpsAt(0.0);
    simulator::checkLink(link, "--link");

    simulator::SimConfig config;
    config.goal = goal;
    config.numRequests = args.getInt("requests", 0, 1, 100'000'000);
    if (!args.has("requests")) throw core::Error("simulate: --requests N is required");
    if (args.has("period") == args.has("rate")) throw core::Error("simulate: give one of --period MS or --rate PER_S");
    if (args.has("period")) {
        config.arrivals = simulator::ArrivalKind::Periodic;
        config.periodMs = parseNumber(args.get("period"), "--period");
    } else {
        config.arrivals = simulator::ArrivalKind::Poisson;
        config.ratePerS = parseNumber(args.get("rate"), "--rate");
    }
    config.seed = static_cast<uint64_t>(args.getInt("seed", 0, 0, 1LL << 62));
    config.replanIntervalMs = args.getDouble("replan", 1000.0, 1e-9, 1e12);

    auto splits = args.has("splits") ? simulator::measuredSplitPoints(trace, args.get("splits"))
                                     : simulator::defaultSplitPoints(trace);
    simulator::Scheduler scheduler(trace, std::move(splits));
    if (args.has("config")) {
        // A tuned policy of any kind joins the thresholds as a candidate design.
        const auto tuned = core::loadConfig(args.get("config"));
        core::checkConfigMatchesTrace(tuned, trace, args.get("config"));
        scheduler.addProfile(simulator::policyProfile(trace, tuned.policy, args.get("config")));
    }
    scheduler.setConditions(device, server, link);
    const auto result = simulator::simulate(scheduler, trace, schedule, config);

    if (args.has("csv"))
        core::writeFileAtomically(args.get("csv"),
                                  [&](std::ostream& out) { simulator::writeRequestsCsv(out, result); });
    const auto& s = result.summary;
    if (args.has("json")) {
        auto j = summaryJson(s);
        j["goal"] = simulator::describeGoal(goal);
        j["trace"] = args.get("trace");
        std::cout << j.dump() << "\n";
        return 0;
    }
    std::printf("goal:            %s\n", simulator::describeGoal(goal).c_str());
    std::printf("requests:        %lld\n", static_cast<long long>(s.count));
    std::printf("accuracy:        %.2f%%\n", 100.0 * s.accuracy);
    std::printf("latency:         mean %.3f ms, median %.3f ms, p95 %.3f ms\n", s.meanMs, s.medianMs, s.p95Ms);
    std::printf("mean queueing:   %.3f ms\n", s.meanQueueingMs);
    std::printf("throughput:      %.2f requests/s\n", s.throughputPerS);
    std::printf("re-plans:        %lld (%lld design changes, %lld infeasible)\n", static_cast<long long>(s.replans),
                static_cast<long long>(s.designChanges), static_cast<long long>(s.infeasibleReplans));
    if (!result.requests.empty()) {
        const auto& first = result.requests.front();
        const auto& last = result.requests.back();
        std::printf("first design:    %s, exit profile %s\n", first.split.c_str(),
                    scheduler.profiles()[first.profile].label.c_str());
        std::printf("last design:     %s, exit profile %s\n", last.split.c_str(),
                    scheduler.profiles()[last.profile].label.c_str());
    }
    return 0;
}

} // namespace exitscope::app
