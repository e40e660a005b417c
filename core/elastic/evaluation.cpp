#include "core/elastic/evaluation.h"

#include "core/common/error.h"
#include "core/policy/confidence.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <thread>

namespace exitscope::core {

namespace {

constexpr int64_t kChunk = 128;

uint64_t mix(uint64_t x) {  // splitmix64: independent per-sample seeds
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

ElasticRun online(const ExecutionProfile& profile, const ForcedExitDistribution& distribution,
                  const ConfidencePredictor& predictor, const float* trueConfidence, SearchMethod method,
                  const SearchOptions& options, std::mt19937_64* rng, bool record) {
    const int64_t K = profile.numExits();
    if (predictor.numExits() != K) {
        std::ostringstream os;
        os << "online planner: the predictor knows " << predictor.numExits() << " exits, the profile " << K;
        throw Error(os.str());
    }
    if (K > 64) throw Error("online planner: more than 64 exits");
    float observed[64] = {};
    uint8_t mask[64] = {};
    float predicted[64];
    double conf[64];
    PlanState state = initialState(profile);
    ElasticRun run;
    while (state.next < K) {
        ++run.searches;
        predictor.predict(observed, mask, predicted);
        std::copy(predicted, predicted + K, conf);
        const PlanResult r = searchPlan(profile, distribution, conf, state, method, options, rng);
        if (record)
            run.steps.push_back(
                {state.timeMs, std::vector<float>(predicted, predicted + K), r.plan, r.expectedAccuracy});
        const ExitMask ahead = r.plan >> state.next;
        if (ahead == 0) break;
        const int64_t i = state.next + __builtin_ctzll(ahead);
        double t = state.timeMs;
        for (int64_t k = state.next; k <= i; ++k) t += profile.backboneMs[static_cast<std::size_t>(k)];
        t += profile.headMs[static_cast<std::size_t>(i)];
        run.exits.push_back(i);
        run.finishMs.push_back(t);
        observed[i] = trueConfidence[i];
        mask[i] = 1;
        state = {i + 1, t, trueConfidence[i]};
    }
    return run;
}

// Sums of one strategy over a block of samples.
struct Sums {
    double accuracy = 0, expected = 0, branches = 0, answered = 0, replans = 0;
    void add(const Sums& o) {
        accuracy += o.accuracy;
        expected += o.expected;
        branches += o.branches;
        answered += o.answered;
        replans += o.replans;
    }
};

struct Strategy {
    std::string key;
    std::string name;
    // Runs sample n; the oracle has no run and is scored apart.
    std::function<ElasticRun(int64_t n, std::mt19937_64& rng)> run;
};

}  // namespace

int64_t answerIndex(const ElasticRun& run, double forcedExitMs) {
    int64_t answer = -1;
    for (std::size_t i = 0; i < run.finishMs.size(); ++i)
        if (run.finishMs[i] <= forcedExitMs) answer = static_cast<int64_t>(i);
    return answer;
}

ElasticRun runOnline(const ExecutionProfile& profile, const ForcedExitDistribution& distribution,
                     const ConfidencePredictor& predictor, const float* trueConfidence, SearchMethod method,
                     const SearchOptions& options, std::mt19937_64* rng) {
    return online(profile, distribution, predictor, trueConfidence, method, options, rng, true);
}

ElasticRun runFixedPlan(const ExecutionProfile& profile, ExitMask plan) {
    ElasticRun run;
    const auto finish = planFinishTimes(profile, plan, initialState(profile));
    for (std::size_t k = 0; k < finish.size(); ++k) {
        if (std::isnan(finish[k])) continue;
        run.exits.push_back(static_cast<int64_t>(k));
        run.finishMs.push_back(finish[k]);
    }
    return run;
}

ElasticRun runConfidencePlan(const ExecutionProfile& profile, const float* trueConfidence, double threshold) {
    const int64_t K = profile.numExits();
    ElasticRun run;
    double t = 0.0;
    bool reached = false;
    for (int64_t k = 0; k < K; ++k) {
        const auto i = static_cast<std::size_t>(k);
        t += profile.backboneMs[i];
        if (reached && k != K - 1) continue;
        t += profile.headMs[i];
        run.exits.push_back(k);
        run.finishMs.push_back(t);
        if (trueConfidence[k] >= threshold) reached = true;
    }
    return run;
}

const ElasticMethodResult& ElasticEvaluation::row(const std::string& key) const {
    for (const auto& r : rows)
        if (r.key == key) return r;
    throw Error("elastic evaluation: no row '" + key + "'");
}

ElasticEvaluation evaluateElastic(const Trace& test, const ExecutionProfile& profile,
                                  const ForcedExitDistribution& distribution, const ConfidencePredictor& predictor,
                                  const ElasticEvalOptions& options) {
    checkExecutionProfile(profile, "elastic evaluation");
    const int64_t K = profile.numExits();
    if (test.numExits != K || predictor.numExits() != K) {
        std::ostringstream os;
        os << "elastic evaluation: the trace has " << test.numExits << " exits, the profile " << K
           << " and the predictor " << predictor.numExits();
        throw Error(os.str());
    }
    if (options.timesPerSample < 1) throw Error("elastic evaluation: at least one forced-exit time per sample");
    const int64_t N = options.maxSamples > 0 ? std::min(options.maxSamples, test.numSamples) : test.numSamples;
    if (N < 1) throw Error("elastic evaluation: the test trace has no samples");
    const std::vector<float> conf = exitConfidences(test);
    std::vector<uint8_t> correct(static_cast<std::size_t>(N * K));
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k)
            correct[static_cast<std::size_t>(n * K + k)] =
                argmaxOf(test.probsOf(n, k), test.numClasses) == test.labels[static_cast<std::size_t>(n)];

    const int64_t J = options.timesPerSample;
    std::vector<double> times(static_cast<std::size_t>(N * J));
    {
        std::mt19937_64 rng(options.seed);
        for (double& t : times) t = distribution.sample(rng);
    }

    const ConfidencePredictor mean = predictor.meanOnly();
    const SearchOptions& so = options.search;
    auto onlineWith = [&](const ConfidencePredictor& p, SearchMethod m) {
        return [&, m, pp = &p](int64_t n, std::mt19937_64& rng) {
            return online(profile, distribution, *pp, conf.data() + n * K, m, so, &rng, false);
        };
    };
    std::vector<Strategy> strategies;
    const std::string m = std::to_string(so.enumerate);
    strategies.push_back(
        {"einet", "EINet (hybrid m=" + m + " + predictor)", onlineWith(predictor, SearchMethod::Hybrid)});
    strategies.push_back({"greedy", "greedy + predictor", onlineWith(predictor, SearchMethod::Greedy)});
    strategies.push_back(
        {"einet-mean", "hybrid m=" + m + ", mean profile (no predictor)", onlineWith(mean, SearchMethod::Hybrid)});
    strategies.push_back({"random", "random search (" + std::to_string(so.randomPlans) + " plans) + predictor",
                          onlineWith(predictor, SearchMethod::Random)});
    for (int pct : {25, 50, 100}) {
        const auto count = std::max<int64_t>(1, (K * pct + 99) / 100);
        const ExitMask plan = count >= 64 ? ~ExitMask{0} : (ExitMask{1} << count) - 1;
        strategies.push_back({"static-" + std::to_string(pct),
                              "static: first " + std::to_string(pct) + "% (" + std::to_string(count) + " exits)",
                              [&profile, plan](int64_t, std::mt19937_64&) { return runFixedPlan(profile, plan); }});
    }
    for (int pct : {90, 95, 99})
        strategies.push_back({"confidence-" + std::to_string(pct), "confidence plan " + std::to_string(pct) + "%",
                              [&, pct](int64_t n, std::mt19937_64&) {
                                  return runConfidencePlan(profile, conf.data() + n * K, pct / 100.0);
                              }});
    strategies.push_back({"final-only", "final classifier only", [&profile, K](int64_t, std::mt19937_64&) {
                              return runFixedPlan(profile, ExitMask{1} << (K - 1));
                          }});
    const std::size_t S = strategies.size();  // the oracle is row S
    std::size_t randomIndex = S;              // the only strategy that draws
    for (std::size_t s = 0; s < S; ++s)
        if (strategies[s].key == "random") randomIndex = s;

    std::vector<double> solo(static_cast<std::size_t>(K));
    for (int64_t k = 0; k < K; ++k) solo[static_cast<std::size_t>(k)] = profile.soloFinishMs(k);
    const double chance = profile.chanceAccuracy;

    const int64_t chunks = (N + kChunk - 1) / kChunk;
    std::vector<Sums> chunkSums(static_cast<std::size_t>(chunks) * (S + 1));
    std::atomic<int64_t> nextChunk{0}, doneChunks{0};
    std::atomic<bool> stop{false};

    const int64_t threads = options.threads > 0
                                ? options.threads
                                : std::clamp<int64_t>(static_cast<int64_t>(std::thread::hardware_concurrency()), 1, 4);
    // Every thread takes chunks of samples; the calling thread also reports
    // progress. Each chunk has its own sums, added in chunk order at the
    // end, so the result does not depend on the number of threads.
    auto work = [&](bool reporter) {
        while (!stop.load()) {
            if (options.cancel && options.cancel->load()) {
                stop = true;
                return;
            }
            const int64_t c = nextChunk.fetch_add(1);
            if (c >= chunks) return;
            Sums* sums = chunkSums.data() + static_cast<std::size_t>(c) * (S + 1);
            std::mt19937_64 rng;
            for (int64_t n = c * kChunk; n < std::min(N, (c + 1) * kChunk); ++n) {
                const double* T = times.data() + n * J;
                const uint8_t* right = correct.data() + n * K;
                for (std::size_t s = 0; s < S; ++s) {
                    // Seeding a Mersenne twister costs more than a short plan, so
                    // only the random search gets its own per-sample stream.
                    if (s == randomIndex) rng.seed(mix(options.seed ^ mix(static_cast<uint64_t>(n))));
                    const ElasticRun run = strategies[s].run(n, rng);
                    Sums& sum = sums[s];
                    for (int64_t j = 0; j < J; ++j) {
                        const int64_t a = answerIndex(run, T[j]);
                        sum.accuracy += a < 0 ? chance : right[run.exits[static_cast<std::size_t>(a)]];
                        sum.answered += static_cast<double>(a + 1);
                    }
                    // Exact over T: branch i answers from its finish until the next one's.
                    const std::size_t ran = run.exits.size();
                    double e = chance * (1.0 - (ran == 0 ? 0.0 : distribution.probabilityAtLeast(run.finishMs[0])));
                    for (std::size_t i = 0; i < ran; ++i) {
                        const double from = distribution.probabilityAtLeast(run.finishMs[i]);
                        const double to = i + 1 < ran ? distribution.probabilityAtLeast(run.finishMs[i + 1]) : 0.0;
                        e += right[run.exits[i]] * (from - to);
                    }
                    sum.expected += e;
                    sum.branches += static_cast<double>(ran);
                    sum.replans += static_cast<double>(run.searches);
                }
                double fastest = std::numeric_limits<double>::infinity();
                for (int64_t k = 0; k < K; ++k)
                    if (right[k]) fastest = std::min(fastest, solo[static_cast<std::size_t>(k)]);
                Sums& o = sums[S];
                for (int64_t j = 0; j < J; ++j) o.accuracy += T[j] >= fastest ? 1.0 : chance;
                const double p = std::isinf(fastest) ? 0.0 : distribution.probabilityAtLeast(fastest);
                o.expected += p + (1.0 - p) * chance;
            }
            const int64_t done = doneChunks.fetch_add(1) + 1;
            if (reporter && options.progress)
                options.progress({static_cast<double>(done) / static_cast<double>(chunks),
                                  "elastic evaluation: " + std::to_string(std::min(N, done * kChunk)) + " samples"});
        }
    };
    std::vector<std::thread> pool;
    for (int64_t i = 1; i < std::min(threads, chunks); ++i) pool.emplace_back(work, false);
    work(true);
    for (auto& t : pool) t.join();
    if (stop.load()) throw Cancelled{};

    ElasticEvaluation ev;
    ev.numSamples = N;
    ev.timesPerSample = J;
    ev.fullMs = profile.fullMs();
    double tsum = 0.0;
    for (double t : times) tsum += t;
    ev.meanForcedExitMs = tsum / static_cast<double>(times.size());
    for (std::size_t s = 0; s <= S; ++s) {
        Sums total;
        for (int64_t c = 0; c < chunks; ++c) total.add(chunkSums[static_cast<std::size_t>(c) * (S + 1) + s]);
        ElasticMethodResult r;
        r.key = s < S ? strategies[s].key : "oracle";
        r.name = s < S ? strategies[s].name : "oracle";
        const double pairs = static_cast<double>(N * J);
        r.accuracy = total.accuracy / pairs;
        r.meanAnswered = total.answered / pairs;
        r.expectedAccuracy = total.expected / static_cast<double>(N);
        r.meanBranchesRun = total.branches / static_cast<double>(N);
        r.replansPerSample = total.replans / static_cast<double>(N);
        ev.rows.push_back(r);
    }
    return ev;
}

}  // namespace exitscope::core
