#include "simulator/simulate/event_sim.h"

#include "core/common/error.h"
#include "core/common/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <numeric>
#include <random>
#include <sstream>

namespace exitscope::simulator {

using core::Error;

namespace {

std::size_t sz(int64_t v) { return static_cast<std::size_t>(v); }

std::string num(double v) { return core::exactNumber(v); }

// A derived estimate, to three significant digits (the values it comes
// from are quoted exactly beside it).
std::string rounded(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3g", v);
    return buffer;
}

// From raw mt19937_64 output rather than std::exponential_distribution,
// whose algorithm is implementation-defined: the same seed must give the
// same arrivals on every standard library. u is in (0, 1), never 0.
double exponentialMs(std::mt19937_64& rng, double ratePerS) {
    const double u = (static_cast<double>(rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    return -std::log(u) / ratePerS * 1000.0;
}

struct Design {
    std::size_t split = 0;
    std::size_t profile = 0;
};

}  // namespace

void checkSimConfig(const SimConfig& config) {
    if (config.arrivals == ArrivalKind::Periodic && !(config.periodMs > 0.0 && std::isfinite(config.periodMs)))
        throw Error("simulation: period " + num(config.periodMs) + " ms must be > 0 and finite");
    if (config.arrivals == ArrivalKind::Poisson && !(config.ratePerS > 0.0 && std::isfinite(config.ratePerS)))
        throw Error("simulation: arrival rate " + num(config.ratePerS) + " per s must be > 0 and finite");
    if (config.numRequests <= 0)
        throw Error("simulation: request count " + std::to_string(config.numRequests) + " must be > 0");
    // An infinite interval means "plan once, at t = 0".
    if (!(config.replanIntervalMs > 0.0))
        throw Error("simulation: re-plan interval " + num(config.replanIntervalMs) + " ms must be > 0");
    // The scheduler re-plans every interval until the last arrival (about
    // 25 us a plan): a stream that spans more re-plans than kMaxReplans
    // would not finish in reasonable time, so it is refused up front.
    const double spanMs = config.arrivals == ArrivalKind::Periodic
                              ? static_cast<double>(config.numRequests - 1) * config.periodMs
                              : static_cast<double>(config.numRequests) / config.ratePerS * 1000.0;
    const double replans = spanMs / config.replanIntervalMs;
    if (!(replans <= kMaxReplans)) {
        throw Error("simulation: " + std::to_string(config.numRequests) + " requests " +
                    (config.arrivals == ArrivalKind::Periodic ? "every " + num(config.periodMs) + " ms"
                                                              : "at " + num(config.ratePerS) + " per s") +
                    " span about " + rounded(spanMs) + " ms, about " + rounded(replans) + " re-plans at one every " +
                    num(config.replanIntervalMs) + " ms; at most " + num(kMaxReplans) +
                    " are simulated (raise the rate or the re-plan interval, or lower the period)");
    }
    checkGoal(config.goal);
}

SimResult simulate(Scheduler& scheduler, const core::Trace& trace, const BandwidthSchedule& bandwidth,
                   const SimConfig& config) {
    checkSimConfig(config);
    if (trace.numSamples <= 0) throw Error("simulation: the trace has no samples");
    const LatencyModel& model = scheduler.model();
    const int64_t K = model.numExits(), N = trace.numSamples;
    if (trace.numExits != K) throw Error("simulation: the trace's exit count differs from the scheduler's");
    const auto scores = core::computeScores(trace, config.criterion);

    // Per-sample exits of a profile, built the first time a design uses it.
    std::vector<std::vector<int64_t>> exitsOf(scheduler.profiles().size());
    auto exitsFor = [&](std::size_t p) -> const std::vector<int64_t>& {
        auto& exits = exitsOf[p];
        if (!exits.empty()) return exits;
        const ExitProfile& profile = scheduler.profiles()[p];
        if (p == scheduler.finalExitProfileIndex()) {
            exits.assign(sz(N), K - 1);
        } else if (static_cast<int64_t>(profile.sampleExits.size()) == N) {
            exits = profile.sampleExits;
        } else if (profile.threshold >= 0.0 && profile.cascade) {
            exits = core::evaluate(scores, {static_cast<float>(profile.threshold)}).exitTaken;
        } else {
            throw Error("simulation: exit profile '" + profile.label + "' has no per-sample rule");
        }
        std::vector<int64_t> histogram(sz(K), 0);
        for (auto e : exits) ++histogram[sz(e)];
        if (histogram != profile.histogram)
            throw Error("simulation: exit profile '" + profile.label + "' disagrees with its trace or with criterion " +
                        core::criterionName(config.criterion) + " (use the scheduler's criterion)");
        return exits;
    };

    // Arrival times first: they depend only on the seed.
    std::mt19937_64 arrivalRng(config.seed);
    std::vector<double> arrivals(sz(config.numRequests));
    double t = 0.0;
    for (int64_t i = 0; i < config.numRequests; ++i) {
        if (config.arrivals == ArrivalKind::Periodic) {
            arrivals[sz(i)] = static_cast<double>(i) * config.periodMs;
        } else {
            t += exponentialMs(arrivalRng, config.ratePerS);
            arrivals[sz(i)] = t;
        }
    }

    SimResult result;
    SimSummary& summary = result.summary;
    Design current;
    auto replan = [&](double atMs, bool initial) {
        scheduler.setBandwidth(bandwidth.mbpsAt(atMs / 1000.0));
        const Plan plan = scheduler.plan(config.goal);
        if (!plan.feasible) {
            if (initial) throw Error("simulation: goal infeasible at t = 0: " + plan.explanation);
            ++summary.infeasibleReplans;
            return;
        }
        const Design next{plan.best.split, plan.best.profile};
        if (!initial) {
            ++summary.replans;
            if (next.split != current.split || next.profile != current.profile) ++summary.designChanges;
        }
        current = next;
    };
    replan(0.0, true);

    const auto& steps = bandwidth.steps();
    std::size_t nextStep = 0;
    while (nextStep < steps.size() && steps[nextStep].timeS <= 0.0) ++nextStep;
    double nextTickMs = config.replanIntervalMs;
    const double inf = std::numeric_limits<double>::infinity();

    // Device and link are FIFO and every request passes them in id order, so
    // they are walked in that order; the server sees requests in the order
    // they reach it, which jitter can shuffle, so it is walked afterwards.
    std::mt19937_64 jitterRng(config.seed ^ 0x9E3779B97F4A7C15ull);
    struct Pending {
        double serverArrivalMs = 0.0;
        double halfRttMs = 0.0;
    };
    std::vector<Pending> pending(sz(config.numRequests));
    double deviceFree = 0.0, linkFree = 0.0;
    result.requests.resize(sz(config.numRequests));
    for (int64_t i = 0; i < config.numRequests; ++i) {
        const double a = arrivals[sz(i)];
        for (;;) {
            const double stepMs = nextStep < steps.size() ? steps[nextStep].timeS * 1000.0 : inf;
            const double when = std::min(stepMs, nextTickMs);
            if (!(when <= a)) break;
            replan(when, false);
            if (stepMs <= when) ++nextStep;
            if (nextTickMs <= when) nextTickMs += config.replanIntervalMs;
        }
        RequestRecord& r = result.requests[sz(i)];
        r.id = i;
        r.sample = i % N;
        r.arrivalMs = a;
        r.splitIndex = current.split;
        r.profile = current.profile;
        r.split = splitLabel(model.splits()[current.split].blocksOnDevice, model.numBlocks());
        const bool cascade = scheduler.profiles()[current.profile].cascade;
        r.exit = exitsFor(current.profile)[sz(r.sample)];
        r.correct = scores.correct[sz(r.sample * K + r.exit)] != 0;
        const SampleTimes st = model.sampleTimes(r.exit, current.split, cascade);
        r.deviceMs = st.deviceMs;
        const double deviceEnd = std::max(a, deviceFree) + st.deviceMs;
        deviceFree = deviceEnd;
        if (st.onDevice) {
            r.completionMs = deviceEnd;
            pending[sz(i)].serverArrivalMs = inf;
            continue;
        }
        r.bytes = st.bytes;
        r.serverMs = st.serverMs;
        const double linkStart = std::max(deviceEnd, linkFree);
        Link link = model.link();
        link.bandwidthMbps = bandwidth.mbpsAt(linkStart / 1000.0);
        const double ser = link.serialisationMs(st.bytes);
        linkFree = linkStart + ser;
        const double rtt = link.jitterMs > 0.0 ? link.sampleRttMs(jitterRng) : link.rttMs;
        r.linkMs = ser + rtt;
        pending[sz(i)] = {linkFree + rtt / 2.0, rtt / 2.0};
    }

    std::vector<int64_t> order;
    for (int64_t i = 0; i < config.numRequests; ++i)
        if (pending[sz(i)].serverArrivalMs < inf) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
        return pending[sz(x)].serverArrivalMs < pending[sz(y)].serverArrivalMs;
    });
    double serverFree = 0.0;
    for (int64_t i : order) {
        RequestRecord& r = result.requests[sz(i)];
        const double serverEnd = std::max(pending[sz(i)].serverArrivalMs, serverFree) + r.serverMs;
        serverFree = serverEnd;
        Link link = model.link();
        link.bandwidthMbps = bandwidth.mbpsAt(serverEnd / 1000.0);
        const double reply = link.replyMs();
        r.linkMs += reply;
        r.completionMs = serverEnd + pending[sz(i)].halfRttMs + reply;
    }

    std::vector<double> latencies;
    latencies.reserve(result.requests.size());
    double sum = 0.0, queueing = 0.0, lastCompletion = 0.0;
    int64_t correct = 0;
    for (auto& r : result.requests) {
        r.latencyMs = r.completionMs - r.arrivalMs;
        // Rounding can leave a -1e-16 residue where nothing waited.
        r.queueingMs = std::max(0.0, r.latencyMs - r.deviceMs - r.linkMs - r.serverMs);
        latencies.push_back(r.latencyMs);
        sum += r.latencyMs;
        queueing += r.queueingMs;
        correct += r.correct ? 1 : 0;
        lastCompletion = std::max(lastCompletion, r.completionMs);
    }
    const double n = static_cast<double>(latencies.size());
    std::sort(latencies.begin(), latencies.end());
    summary.count = config.numRequests;
    summary.accuracy = static_cast<double>(correct) / n;
    summary.meanMs = sum / n;
    summary.meanQueueingMs = queueing / n;
    const std::size_t m = latencies.size();
    summary.medianMs = m % 2 == 1 ? latencies[m / 2] : (latencies[m / 2 - 1] + latencies[m / 2]) / 2.0;
    const auto rank = static_cast<std::size_t>(std::ceil(0.95 * n));
    summary.p95Ms = latencies[std::max<std::size_t>(rank, 1) - 1];
    const double span = lastCompletion - arrivals.front();
    summary.throughputPerS = span > 0.0 ? n / span * 1000.0 : 0.0;
    return result;
}

void writeRequestsCsv(std::ostream& out, const SimResult& result) {
    out << "id,sample,arrival_ms,split,profile,exit,correct,device_ms,link_ms,server_ms,queueing_ms,latency_ms,bytes\n";
    out << std::setprecision(10);
    for (const auto& r : result.requests)
        out << r.id << ',' << r.sample << ',' << r.arrivalMs << ',' << r.split << ',' << r.profile << ',' << r.exit
            << ',' << (r.correct ? 1 : 0) << ',' << r.deviceMs << ',' << r.linkMs << ',' << r.serverMs << ','
            << r.queueingMs << ',' << r.latencyMs << ',' << r.bytes << '\n';
}

}  // namespace exitscope::simulator
