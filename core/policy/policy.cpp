#include "core/policy/policy.h"

#include "core/common/error.h"
#include "core/policy/calibration.h"
#include "core/policy/decision.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace exitscope::core {

namespace {

std::size_t sz(int64_t v) { return static_cast<std::size_t>(v); }

template <typename T>
std::vector<T> readVector(const nlohmann::json& j, const char* key, const std::string& where) {
    if (!j.contains(key)) throw Error(where + ": policy field '" + key + "' is missing");
    const auto& v = j.at(key);
    if (!v.is_array()) throw Error(where + ": policy field '" + key + "' must be an array");
    std::vector<T> out;
    for (const auto& x : v) {
        if (!x.is_number()) throw Error(where + ": policy field '" + key + "' holds a value that is not a number");
        const double d = x.get<double>();
        if (!std::isfinite(d)) throw Error(where + ": policy field '" + key + "' holds a non-finite value");
        out.push_back(static_cast<T>(d));
    }
    return out;
}

double readNumber(const nlohmann::json& j, const char* key, const std::string& where) {
    if (!j.contains(key) || !j.at(key).is_number())
        throw Error(where + ": policy field '" + key + "' is missing or not a number");
    const double d = j.at(key).get<double>();
    if (!std::isfinite(d)) throw Error(where + ": policy field '" + key + "' is not finite");
    return d;
}

std::string readString(const nlohmann::json& j, const char* key, const std::string& where) {
    if (!j.contains(key) || !j.at(key).is_string())
        throw Error(where + ": policy field '" + key + "' is missing or not a string");
    return j.at(key).get<std::string>();
}

} // namespace

std::string policyKindName(PolicyKind kind) {
    switch (kind) {
    case PolicyKind::Confidence: return "confidence";
    case PolicyKind::Budgeted: return "budgeted";
    case PolicyKind::Gates: return "gates";
    case PolicyKind::Static: return "static";
    case PolicyKind::Anytime: return "anytime";
    }
    return "unknown";
}

PolicyKind parsePolicyKind(const std::string& name) {
    for (auto k : {PolicyKind::Confidence, PolicyKind::Budgeted, PolicyKind::Gates, PolicyKind::Static, PolicyKind::Anytime})
        if (policyKindName(k) == name) return k;
    throw Error("unknown policy '" + name + "' (known: confidence, budgeted, gates, static, anytime)");
}

void checkPolicyConfig(const PolicyConfig& policy, int64_t numExits, const Trace* trace) {
    switch (policy.kind) {
    case PolicyKind::Confidence:
        checkPolicy(policy.confidence, numExits);
        break;
    case PolicyKind::Budgeted:
        if (static_cast<int64_t>(policy.budgeted.thresholds.size()) != numExits - 1)
            throw Error("budgeted policy has " + std::to_string(policy.budgeted.thresholds.size()) +
                        " thresholds for a model with " + std::to_string(numExits) + " exits");
        for (float t : policy.budgeted.thresholds)
            if (!std::isfinite(t) || t < 0.0f || t > closedExitThreshold())
                throw Error("budgeted policy threshold " + std::to_string(t) + " is outside [0, 1]");
        break;
    case PolicyKind::Gates:
        if (trace) {
            checkGatesMatchTrace(policy.gates, *trace);
        } else {
            checkGateSet(policy.gates, "gates");
            if (policy.gates.numExits() != numExits)
                throw Error("gates serve " + std::to_string(policy.gates.numExits()) + " exits, the model has " +
                            std::to_string(numExits));
        }
        break;
    case PolicyKind::Static:
        if (policy.staticExit < 0 || policy.staticExit >= numExits)
            throw Error("static exit " + std::to_string(policy.staticExit) + " does not exist (the model has " +
                        std::to_string(numExits) + " exits)");
        break;
    case PolicyKind::Anytime:
        if (!std::isfinite(policy.anytimeBudget) || policy.anytimeBudget < 0)
            throw Error("anytime budget " + std::to_string(policy.anytimeBudget) + " must be finite and >= 0");
        break;
    }
}

int64_t anytimeExitFor(const PolicyConfig& policy, const std::vector<int64_t>& exitMacs, const std::vector<float>& exitMs) {
    const bool macs = policy.anytimeUnit == BudgetUnit::Macs;
    const std::size_t K = macs ? exitMacs.size() : exitMs.size();
    int64_t best = -1;
    for (std::size_t k = 0; k < K; ++k) {
        const double cost = macs ? static_cast<double>(exitMacs[k]) : static_cast<double>(exitMs[k]);
        if (cost <= policy.anytimeBudget) best = static_cast<int64_t>(k);
    }
    if (best < 0) {
        std::ostringstream os;
        os << "anytime budget " << policy.anytimeBudget << (macs ? " MACs" : " ms")
           << " finishes no exit (the first needs " << (K ? (macs ? static_cast<double>(exitMacs[0]) : exitMs[0]) : 0.0)
           << ")";
        throw Error(os.str());
    }
    return best;
}

float exitScore(const PolicyConfig& policy, int64_t k, const float* probs, int64_t numClasses, const float* gateInputs,
                float* scratch) {
    switch (policy.kind) {
    case PolicyKind::Confidence: {
        const auto& c = policy.confidence;
        if (c.criterion == ConfidenceCriterion::MaxSoftmax && c.temperatures.empty())
            return probs[argmaxOf(probs, numClasses)];
        const float* p = probs;
        if (!c.temperatures.empty()) {
            temperatureScale(probs, numClasses, c.temperatures[sz(k)], scratch);
            p = scratch;
        }
        return confidenceScore(p, numClasses, c.criterion);
    }
    case PolicyKind::Budgeted: return probs[argmaxOf(probs, numClasses)];
    case PolicyKind::Gates: return gateProbability(policy.gates, k, gateInputs);
    case PolicyKind::Static:
    case PolicyKind::Anytime: break;
    }
    return std::numeric_limits<float>::quiet_NaN();
}

float exitBoundary(const PolicyConfig& policy, int64_t k) {
    switch (policy.kind) {
    case PolicyKind::Confidence: {
        const auto& t = policy.confidence.thresholds;
        return t.size() == 1 ? t[0] : t[sz(k)];
    }
    case PolicyKind::Budgeted: return policy.budgeted.thresholds[sz(k)];
    case PolicyKind::Gates: return 0.5f;
    case PolicyKind::Static:
    case PolicyKind::Anytime: break;
    }
    return std::numeric_limits<float>::quiet_NaN();
}

bool scoreLeaves(PolicyKind kind, float score, float boundary) {
    return kind == PolicyKind::Gates ? score > boundary : !(score < boundary);
}

bool decideAtExit(const PolicyConfig& policy, int64_t k, int64_t numExits, const float* probs, int64_t numClasses,
                  const float* gateInputs, int64_t fixedExit, float* scratch) {
    if (k >= numExits - 1) return true;
    if (policy.kind == PolicyKind::Static || policy.kind == PolicyKind::Anytime) return k == fixedExit;
    return scoreLeaves(policy.kind, exitScore(policy, k, probs, numClasses, gateInputs, scratch),
                       exitBoundary(policy, k));
}

ExitOutcome applyPolicy(const Trace& trace, const PolicyConfig& policy) {
    // Not owned: the decider lives only for this call.
    const std::shared_ptr<const Trace> view(&trace, [](const Trace*) {});
    return Decider(view, policy).outcome();
}

nlohmann::json policyToJson(const PolicyConfig& policy) {
    nlohmann::json j{{"kind", policyKindName(policy.kind)}};
    switch (policy.kind) {
    case PolicyKind::Confidence:
        j["criterion"] = criterionName(policy.confidence.criterion);
        j["thresholds"] = policy.confidence.thresholds;
        j["temperatures"] = policy.confidence.temperatures;
        break;
    case PolicyKind::Budgeted: {
        const auto& b = policy.budgeted;
        j["budget_per_sample_macs"] = b.budgetPerSample;
        // q is -infinity when the budget is the whole network; JSON has no infinity.
        j["q"] = std::isfinite(b.q) ? nlohmann::json(b.q) : nlohmann::json("-inf");
        j["exit_fractions"] = b.exitFractions;
        j["thresholds"] = b.thresholds;
        j["realised_val_cost_macs"] = b.realisedValCost;
        break;
    }
    case PolicyKind::Gates:
        j["gates"] = gateSetToJson(policy.gates);
        break;
    case PolicyKind::Static:
        j["exit"] = policy.staticExit;
        break;
    case PolicyKind::Anytime:
        j["budget"] = policy.anytimeBudget;
        j["unit"] = policy.anytimeUnit == BudgetUnit::Macs ? "macs" : "ms";
        break;
    }
    return j;
}

PolicyConfig policyFromJson(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw Error(where + ": policy must be a JSON object");
    PolicyConfig p;
    p.kind = parsePolicyKind(readString(j, "kind", where));
    switch (p.kind) {
    case PolicyKind::Confidence:
        p.confidence.criterion = parseCriterion(readString(j, "criterion", where));
        p.confidence.thresholds = readVector<float>(j, "thresholds", where);
        if (j.contains("temperatures")) p.confidence.temperatures = readVector<float>(j, "temperatures", where);
        break;
    case PolicyKind::Budgeted: {
        auto& b = p.budgeted;
        b.budgetPerSample = readNumber(j, "budget_per_sample_macs", where);
        if (j.contains("q") && j.at("q").is_string() && j.at("q").get<std::string>() == "-inf")
            b.q = -std::numeric_limits<double>::infinity();
        else
            b.q = readNumber(j, "q", where);
        b.exitFractions = readVector<double>(j, "exit_fractions", where);
        b.thresholds = readVector<float>(j, "thresholds", where);
        b.realisedValCost = j.contains("realised_val_cost_macs") ? readNumber(j, "realised_val_cost_macs", where) : 0.0;
        break;
    }
    case PolicyKind::Gates:
        if (!j.contains("gates")) throw Error(where + ": policy field 'gates' is missing");
        p.gates = gateSetFromJson(j.at("gates"), where + ": gates");
        break;
    case PolicyKind::Static: {
        const double e = readNumber(j, "exit", where);
        if (e != std::floor(e)) throw Error(where + ": policy field 'exit' must be an integer");
        // Checked before the cast, which is undefined outside int64's range.
        if (std::fabs(e) > 1e9) throw Error(where + ": policy field 'exit' is out of range");
        p.staticExit = static_cast<int64_t>(e);
        break;
    }
    case PolicyKind::Anytime: {
        p.anytimeBudget = readNumber(j, "budget", where);
        const std::string unit = readString(j, "unit", where);
        if (unit != "macs" && unit != "ms") throw Error(where + ": anytime unit '" + unit + "' is not macs or ms");
        p.anytimeUnit = unit == "macs" ? BudgetUnit::Macs : BudgetUnit::Milliseconds;
        break;
    }
    }
    return p;
}

} // namespace exitscope::core
