// The decision API (core/policy/decision.h) against a straightforward
// implementation written here from the papers' rules, for every policy kind,
// criterion, calibration, per-exit or global thresholds, budgeted, gates,
// static, anytime (MACs and ms) and the oracle, on random and bundled traces.
#include "core/common/error.h"
#include "core/policy/budgeted.h"
#include "core/policy/calibration.h"
#include "core/policy/decision.h"
#include "core/trace/trace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace es = exitscope::core;

namespace {

std::size_t sz(int64_t v) { return static_cast<std::size_t>(v); }

es::Trace randomTrace(int64_t N, int64_t K, int64_t C, int64_t D, unsigned seed) {
    std::mt19937 rng(seed);
    std::gamma_distribution<double> peak(0.4, 1.0);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    es::Trace t;
    t.numSamples = N;
    t.numExits = K;
    t.numClasses = C;
    t.numBlocks = K;
    t.gateDim = D;
    for (int64_t n = 0; n < N; ++n) {
        t.labels.push_back(static_cast<int64_t>(rng() % static_cast<unsigned>(C)));
        t.sampleIndex.push_back(n);
        for (int64_t k = 0; k < K; ++k) {
            std::vector<double> w(sz(C));
            double sum = 0;
            for (auto& x : w) sum += (x = peak(rng) + 1e-6);
            // Later exits are sharper, as trained exits are.
            for (int64_t c = 0; c < C; ++c) {
                double v = w[sz(c)] / sum;
                if (c == t.labels.back()) v += 0.1 * static_cast<double>(k);
                w[sz(c)] = v;
            }
            sum = 0;
            for (double x : w) sum += x;
            for (double x : w) t.probs.push_back(static_cast<float>(x / sum));
            for (int64_t d = 0; d < D; ++d) t.gateInputs.push_back(gauss(rng));
        }
    }
    for (int64_t k = 0; k < K; ++k) {
        t.exitMacs.push_back(1000 * (k + 1) * (k + 1));
        t.exitParams.push_back(100 * (k + 1));
        t.exitMs.push_back(0.25f * static_cast<float>(k + 1));
        t.exitBlock.push_back(k);
        t.blockMacs.push_back(900 * (2 * k + 1));
        t.blockParams.push_back(90);
        t.blockMs.push_back(0.2f);
        t.blockOutBytes.push_back(4096);
        t.blockRelu.push_back(1);
        t.headMacs.push_back(100);
        t.headParams.push_back(10);
        t.headMs.push_back(0.05f);
        t.gateDims.push_back(D);
    }
    t.metadata["split"] = "test";
    return t;
}

// ---- The independent rules -------------------------------------------------

double maxSoftmax(const std::vector<double>& p) { return *std::max_element(p.begin(), p.end()); }

double entropyScore(const std::vector<double>& p) {
    double h = 0;
    for (double x : p)
        if (x > 0) h -= x * std::log(x);
    return std::clamp(1.0 - h / std::log(static_cast<double>(p.size())), 0.0, 1.0);
}

double marginScore(std::vector<double> p) {
    std::sort(p.begin(), p.end(), std::greater<double>());
    return p.size() > 1 ? p[0] - p[1] : p[0];
}

std::vector<double> probsOf(const es::Trace& t, int64_t n, int64_t k, double temperature) {
    std::vector<double> p(sz(t.numClasses));
    double sum = 0;
    for (int64_t c = 0; c < t.numClasses; ++c) {
        // Temperature scaling: softmax(log p / T).
        const double x = std::max(static_cast<double>(t.prob(n, k, c)), 1e-12);
        p[sz(c)] = temperature > 0 ? std::pow(x, 1.0 / temperature) : x;
        sum += p[sz(c)];
    }
    for (double& x : p) x /= sum;
    return p;
}

int64_t argmax(const es::Trace& t, int64_t n, int64_t k) {
    int64_t best = 0;
    for (int64_t c = 1; c < t.numClasses; ++c)
        if (t.prob(n, k, c) > t.prob(n, k, best)) best = c;
    return best;
}

double gateOf(const es::GateSet& g, const es::Trace& t, int64_t n, int64_t k) {
    double z = g.bias[sz(k)];
    const float* x = t.gateInputs.data() + sz((n * t.numExits + k) * t.gateDim);
    for (std::size_t d = 0; d < g.weights[sz(k)].size(); ++d)
        z += g.weights[sz(k)][d] * (x[d] - g.featureMean[sz(k)][d]) / g.featureStd[sz(k)][d];
    return 1.0 / (1.0 + std::exp(-z));
}

struct Expected {
    int64_t exit = 0;
    std::vector<double> scores;      // per exit evaluated
    std::vector<double> boundaries;  // per exit evaluated (NaN: nothing compared)
};

// The rule of each system, written out once more: SPINN/MSDNet confidence
// cascades, LEENet gates, a fixed exit, or the oracle.
Expected expectedOf(const es::Trace& t, const es::PolicyConfig& p, int64_t n, bool oracle) {
    const int64_t K = t.numExits;
    Expected e;
    if (oracle) {
        for (int64_t k = 0; k < K; ++k) {
            e.scores.push_back(maxSoftmax(probsOf(t, n, k, 0)));
            e.boundaries.push_back(NAN);
            e.exit = k;
            if (argmax(t, n, k) == t.labels[sz(n)]) break;
        }
        return e;
    }
    if (p.kind == es::PolicyKind::Static || p.kind == es::PolicyKind::Anytime) {
        int64_t fixed = p.staticExit;
        if (p.kind == es::PolicyKind::Anytime) {
            fixed = -1;
            for (int64_t k = 0; k < K; ++k) {
                const double cost = p.anytimeUnit == es::BudgetUnit::Macs ? static_cast<double>(t.exitMacs[sz(k)])
                                                                          : static_cast<double>(t.exitMs[sz(k)]);
                if (cost <= p.anytimeBudget) fixed = k;
            }
        }
        e.exit = fixed;
        e.scores.push_back(maxSoftmax(probsOf(t, n, fixed, 0)));
        e.boundaries.push_back(NAN);
        return e;
    }
    for (int64_t k = 0; k < K; ++k) {
        double score = 0, boundary = NAN;
        bool leaves = k == K - 1;
        if (p.kind == es::PolicyKind::Gates) {
            score = k < K - 1 ? gateOf(p.gates, t, n, k) : maxSoftmax(probsOf(t, n, k, 0));
            if (k < K - 1) {
                boundary = 0.5;
                leaves = score > 0.5;
            }
        } else {
            const bool conf = p.kind == es::PolicyKind::Confidence;
            const double T = conf && !p.confidence.temperatures.empty() ? p.confidence.temperatures[sz(k)] : 0.0;
            const auto probs = probsOf(t, n, k, T);
            const auto criterion = conf ? p.confidence.criterion : es::ConfidenceCriterion::MaxSoftmax;
            score = criterion == es::ConfidenceCriterion::MaxSoftmax ? maxSoftmax(probs)
                    : criterion == es::ConfidenceCriterion::Entropy  ? entropyScore(probs)
                                                                     : marginScore(probs);
            if (k < K - 1) {
                const auto& th = conf ? p.confidence.thresholds : p.budgeted.thresholds;
                boundary = th.size() == 1 ? th[0] : th[sz(k)];
                leaves = score >= boundary;
            }
        }
        e.scores.push_back(score);
        e.boundaries.push_back(boundary);
        e.exit = k;
        if (leaves) break;
    }
    return e;
}

// ---- Policies -------------------------------------------------------------

struct Variant {
    std::string name;
    es::PolicyConfig policy;
    bool oracle = false;
};

std::vector<Variant> variantsFor(const es::Trace& val, const es::Trace& test, unsigned seed) {
    const int64_t K = test.numExits;
    std::vector<Variant> out;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.3f, 0.95f);
    const std::vector<float> temps = es::fitTemperatures(val);
    for (auto criterion : {es::ConfidenceCriterion::MaxSoftmax, es::ConfidenceCriterion::Entropy,
                           es::ConfidenceCriterion::Margin}) {
        for (bool perExit : {false, true}) {
            for (bool calibrated : {false, true}) {
                Variant v;
                v.name = "confidence " + es::criterionName(criterion) + (perExit ? " per-exit" : " global") +
                         (calibrated ? " calibrated" : "");
                v.policy.kind = es::PolicyKind::Confidence;
                v.policy.confidence.criterion = criterion;
                if (perExit) {
                    for (int64_t k = 0; k + 1 < K; ++k) v.policy.confidence.thresholds.push_back(u(rng));
                } else {
                    v.policy.confidence.thresholds = {u(rng)};
                }
                if (calibrated) v.policy.confidence.temperatures = temps;
                out.push_back(v);
            }
        }
    }
    {
        Variant v;
        v.name = "budgeted";
        v.policy.kind = es::PolicyKind::Budgeted;
        const double lo = static_cast<double>(test.exitMacs.front()), hi = static_cast<double>(test.exitMacs.back());
        v.policy.budgeted = es::fitBudgetedBatch(val, lo + 0.35 * (hi - lo));
        out.push_back(v);
    }
    if (test.gateDim > 0) {
        Variant v;
        v.name = "gates";
        v.policy.kind = es::PolicyKind::Gates;
        std::normal_distribution<float> g(0.0f, 0.3f);
        for (int64_t k = 0; k + 1 < K; ++k) {
            const auto D = sz(test.gateDims[sz(k)]);
            std::vector<float> w(D), mean(D), sd(D);
            for (std::size_t d = 0; d < D; ++d) {
                w[d] = g(rng);
                mean[d] = g(rng);
                sd[d] = 0.5f + std::abs(g(rng));
            }
            v.policy.gates.weights.push_back(w);
            v.policy.gates.featureMean.push_back(mean);
            v.policy.gates.featureStd.push_back(sd);
            v.policy.gates.bias.push_back(g(rng));
        }
        out.push_back(v);
    }
    for (int64_t k = 0; k < K; ++k) {
        Variant v;
        v.name = "static " + std::to_string(k);
        v.policy.kind = es::PolicyKind::Static;
        v.policy.staticExit = k;
        out.push_back(v);
    }
    {
        Variant v;
        v.name = "anytime macs";
        v.policy.kind = es::PolicyKind::Anytime;
        v.policy.anytimeBudget = static_cast<double>(test.exitMacs[sz(K / 2)]) + 1.0;
        out.push_back(v);
        v.name = "anytime ms";
        v.policy.anytimeUnit = es::BudgetUnit::Milliseconds;
        v.policy.anytimeBudget = static_cast<double>(test.exitMs[sz(K - 2)]) + 1e-4;
        out.push_back(v);
    }
    Variant o;
    o.name = "oracle";
    o.oracle = true;
    out.push_back(o);
    return out;
}

void expectAgrees(const std::shared_ptr<const es::Trace>& test, const es::Trace& val, unsigned seed, int64_t samples) {
    std::mt19937 rng(seed);
    for (const Variant& v : variantsFor(val, *test, seed)) {
        SCOPED_TRACE(v.name);
        const es::Decider d = v.oracle ? es::Decider::oracle(test) : es::Decider(test, v.policy);
        ASSERT_EQ(d.outcome().exitTaken.size(), sz(test->numSamples));
        for (int64_t i = 0; i < samples; ++i) {
            const int64_t n = static_cast<int64_t>(rng() % static_cast<unsigned>(test->numSamples));
            const Expected e = expectedOf(*test, v.policy, n, v.oracle);
            const es::SampleDecision s = d.decide(n);
            ASSERT_EQ(s.exitTaken, e.exit) << "sample " << n;
            ASSERT_EQ(d.outcome().exitTaken[sz(n)], e.exit) << "sample " << n;
            EXPECT_EQ(s.prediction, argmax(*test, n, e.exit));
            EXPECT_EQ(d.outcome().prediction[sz(n)], s.prediction);
            ASSERT_EQ(s.steps.size(), e.scores.size()) << "sample " << n;
            for (std::size_t j = 0; j < s.steps.size(); ++j) {
                EXPECT_NEAR(s.steps[j].score, e.scores[j], 2e-5) << "sample " << n << " step " << j;
                EXPECT_EQ(d.score(n, s.steps[j].exit), s.steps[j].score);
                EXPECT_EQ(std::isnan(s.steps[j].boundary), std::isnan(e.boundaries[j]));
                EXPECT_EQ(s.steps[j].compared, !std::isnan(e.boundaries[j]));
                if (!std::isnan(e.boundaries[j])) EXPECT_NEAR(s.steps[j].boundary, e.boundaries[j], 1e-7);
                EXPECT_EQ(s.steps[j].leaves, j + 1 == s.steps.size());
            }
        }
    }
}

std::string assets() {
    const char* env = std::getenv("EXITSCOPE_ASSETS");
    return env ? env : std::string(EXITSCOPE_SOURCE_DIR) + "/assets";
}

} // namespace

TEST(Decider, AgreesWithTheRulesWrittenOutOnARandomTrace) {
    auto test = std::make_shared<const es::Trace>(randomTrace(400, 6, 7, 5, 1));
    const es::Trace val = randomTrace(300, 6, 7, 5, 2);
    expectAgrees(test, val, 3, 200);
}

TEST(Decider, AgreesWithTheRulesWrittenOutOnTheBundledTraces) {
    for (const std::string model : {"msdnet", "vgg-fine"}) {
        SCOPED_TRACE(model);
        const std::string base = assets() + "/models/" + model + "-fashion-mnist";
        if (!std::filesystem::exists(base + "-test.safetensors")) GTEST_SKIP() << "bundled traces missing: " << base;
        auto test = std::make_shared<const es::Trace>(es::readTrace(base + "-test.safetensors"));
        const es::Trace val = es::readTrace(base + "-val.safetensors");
        expectAgrees(test, val, 11, 200);
    }
}

TEST(Decider, NamesWhatItCompares) {
    auto t = std::make_shared<const es::Trace>(randomTrace(10, 3, 4, 2, 5));
    es::PolicyConfig p;
    p.confidence.criterion = es::ConfidenceCriterion::Entropy;
    p.confidence.thresholds = {0.5f};
    p.confidence.temperatures = {1.5f, 1.5f, 1.5f};
    es::Decider d(t, p);
    EXPECT_EQ(d.scoreName(), "calibrated entropy");
    p.confidence.temperatures.clear();
    p.confidence.criterion = es::ConfidenceCriterion::MaxSoftmax;
    EXPECT_EQ(es::Decider(t, p).scoreName(), "max softmax");
    p.confidence.criterion = es::ConfidenceCriterion::Entropy;
    p.confidence.temperatures = {1.5f, 1.5f, 1.5f};
    EXPECT_EQ(d.boundaryName(), "threshold");
    EXPECT_EQ(d.comparison(), ">=");
    EXPECT_EQ(d.boundaries(), (std::vector<float>{0.5f, 0.5f}));
    EXPECT_TRUE(d.cascade());
    p.kind = es::PolicyKind::Static;
    p.staticExit = 1;
    es::Decider s(t, p);
    EXPECT_FALSE(s.cascade());
    EXPECT_TRUE(s.boundaries().empty());
    EXPECT_EQ(s.comparison(), "");
    EXPECT_EQ(s.decide(0).steps.size(), 1u);
    EXPECT_EQ(s.decide(0).steps[0].exit, 1);
    EXPECT_FALSE(s.decide(0).steps[0].compared);
    EXPECT_THROW(s.decide(10), es::Error);
    EXPECT_THROW(s.decide(-1), es::Error);
    p.staticExit = 3;
    EXPECT_THROW(es::Decider(t, p), es::Error);
    p.kind = es::PolicyKind::Anytime;
    p.anytimeBudget = 1.0;  // below the first exit's 1,000 MACs
    EXPECT_THROW(es::Decider(t, p), es::Error);
}

TEST(Decider, EqualsDecideAtExitTheExecutorsRule) {
    auto t = std::make_shared<const es::Trace>(randomTrace(300, 5, 6, 3, 9));
    const es::Trace val = randomTrace(200, 5, 6, 3, 10);
    for (const Variant& v : variantsFor(val, *t, 4)) {
        if (v.oracle) continue;
        SCOPED_TRACE(v.name);
        const es::Decider d(t, v.policy);
        std::vector<float> scratch(sz(t->numClasses));
        for (int64_t n = 0; n < t->numSamples; ++n) {
            int64_t k = 0;
            for (;; ++k) {
                const float* g = t->gateInputs.data() + sz((n * t->numExits + k) * t->gateDim);
                if (es::decideAtExit(v.policy, k, t->numExits, t->probsOf(n, k), t->numClasses, g, d.fixedExit(),
                                     scratch.data()))
                    break;
            }
            ASSERT_EQ(k, d.outcome().exitTaken[sz(n)]) << "sample " << n;
        }
    }
}
