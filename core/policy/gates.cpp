#include "core/policy/gates.h"

#include "core/common/error.h"

#include <cmath>
#include <sstream>

namespace exitscope::core {

namespace {

std::string str(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

std::string gateField(std::size_t k, const char* field) { return "gates[" + std::to_string(k) + "]." + field; }

void checkFiniteRow(const std::vector<float>& row, const std::string& where, const std::string& field, bool positive) {
    for (std::size_t d = 0; d < row.size(); ++d) {
        const float v = row[d];
        // Negated tests so that NaN fails them too.
        if (!std::isfinite(v) || (positive && !(v > 0.0f))) {
            throw Error(where + ": " + field + "[" + std::to_string(d) + "] = " + str(v) + " is not " +
                        (positive ? "a positive finite number" : "a finite number"));
        }
    }
}

const nlohmann::json& member(const nlohmann::json& j, const char* key, const std::string& where,
                             const std::string& path) {
    const auto it = j.find(key);
    if (it == j.end()) throw Error(where + ": " + path + " is missing");
    return *it;
}

float readFloat(const nlohmann::json& v, const std::string& where, const std::string& path) {
    if (!v.is_number()) throw Error(where + ": " + path + " is not a number");
    const double d = v.get<double>();
    const auto f = static_cast<float>(d);
    if (!std::isfinite(f)) throw Error(where + ": " + path + " = " + str(d) + " is not a finite float");
    return f;
}

std::vector<float> readRow(const nlohmann::json& gate, const char* key, const std::string& where,
                           const std::string& path) {
    const auto& arr = member(gate, key, where, path);
    if (!arr.is_array()) throw Error(where + ": " + path + " is not an array");
    std::vector<float> row;
    row.reserve(arr.size());
    for (std::size_t d = 0; d < arr.size(); ++d)
        row.push_back(readFloat(arr[d], where, path + "[" + std::to_string(d) + "]"));
    return row;
}

} // namespace

void checkCostKind(const std::string& costKind) {
    if (costKind != "params" && costKind != "macs")
        throw Error("cost kind '" + costKind + "' is unknown (known: params, macs)");
}

std::vector<double> exitCostFractions(const Trace& trace, const std::string& costKind) {
    checkCostKind(costKind);
    const auto& cost = costKind == "params" ? trace.exitParams : trace.exitMacs;
    const char* field = costKind == "params" ? "exit_params" : "exit_macs";
    if (static_cast<int64_t>(cost.size()) != trace.numExits || cost.empty()) {
        throw Error(std::string(field) + " has " + std::to_string(cost.size()) + " entries for " +
                    std::to_string(trace.numExits) + " exits");
    }
    const double total = static_cast<double>(cost.back());
    if (!(total > 0.0)) throw Error(std::string(field) + " of the final exit is " + str(total) + ", not positive");
    std::vector<double> fractions;
    for (int64_t c : cost) fractions.push_back(static_cast<double>(c) / total);
    return fractions;
}

void checkGateSet(const GateSet& gates, const std::string& where) {
    const std::size_t G = gates.bias.size();
    if (gates.weights.size() != G || gates.featureMean.size() != G || gates.featureStd.size() != G) {
        throw Error(where + ": gate set has " + std::to_string(gates.weights.size()) + " weight rows, " +
                    std::to_string(G) + " biases, " + std::to_string(gates.featureMean.size()) + " mean rows and " +
                    std::to_string(gates.featureStd.size()) + " std rows (need one of each per gate)");
    }
    if (!(gates.alpha >= 0.0 && gates.alpha <= 1.0))
        throw Error(where + ": alpha = " + str(gates.alpha) + " is outside [0, 1]");
    try {
        checkCostKind(gates.costKind);
    } catch (const Error& e) {
        throw Error(where + ": cost_kind: " + e.what());
    }
    for (std::size_t k = 0; k < G; ++k) {
        const std::size_t width = gates.weights[k].size();
        if (gates.featureMean[k].size() != width || gates.featureStd[k].size() != width) {
            throw Error(where + ": " + gateField(k, "weights") + " has width " + std::to_string(width) + " but " +
                        gateField(k, "mean") + " has " + std::to_string(gates.featureMean[k].size()) + " and " +
                        gateField(k, "std") + " has " + std::to_string(gates.featureStd[k].size()));
        }
        checkFiniteRow(gates.weights[k], where, gateField(k, "weights"), false);
        checkFiniteRow(gates.featureMean[k], where, gateField(k, "mean"), false);
        checkFiniteRow(gates.featureStd[k], where, gateField(k, "std"), true);
        if (!std::isfinite(gates.bias[k]))
            throw Error(where + ": " + gateField(k, "bias") + " = " + str(gates.bias[k]) + " is not a finite number");
    }
}

void checkGatesMatchTrace(const GateSet& gates, const Trace& trace) {
    checkGateSet(gates, "gate set");
    if (gates.numExits() != trace.numExits) {
        throw Error("gate set has " + std::to_string(gates.bias.size()) + " gates (for " +
                    std::to_string(gates.numExits()) + " exits) but the trace has " + std::to_string(trace.numExits) +
                    " exits");
    }
    if (gates.bias.empty()) return;
    if (static_cast<int64_t>(trace.gateDims.size()) != trace.numExits ||
        static_cast<int64_t>(trace.gateInputs.size()) != trace.numSamples * trace.numExits * trace.gateDim) {
        throw Error("the trace has no gate inputs for " + std::to_string(gates.bias.size()) + " gates (gate_dims has " +
                    std::to_string(trace.gateDims.size()) + " entries, gate_inputs " +
                    std::to_string(trace.gateInputs.size()) + " values)");
    }
    for (std::size_t k = 0; k < gates.bias.size(); ++k) {
        const auto width = static_cast<int64_t>(gates.weights[k].size());
        if (width != trace.gateDims[k] || width > trace.gateDim) {
            throw Error("gate " + std::to_string(k) + " has width " + std::to_string(width) +
                        " but the trace's gate_dims[" + std::to_string(k) + "] is " +
                        std::to_string(trace.gateDims[k]));
        }
    }
}

float gateProbability(const GateSet& gates, int64_t exit, const float* features) {
    const auto k = static_cast<std::size_t>(exit);
    const auto& w = gates.weights[k];
    const auto& mean = gates.featureMean[k];
    const auto& sd = gates.featureStd[k];
    // Accumulated in double so the answer does not depend on the compiler's
    // float contraction: the executor must reproduce it bit for bit.
    double z = gates.bias[k];
    for (std::size_t d = 0; d < w.size(); ++d)
        z += static_cast<double>(w[d]) * ((static_cast<double>(features[d]) - mean[d]) / sd[d]);
    return static_cast<float>(1.0 / (1.0 + std::exp(-z)));
}

ExitOutcome applyGates(const Trace& trace, const GateSet& gates) {
    checkGatesMatchTrace(gates, trace);
    ExitOutcome out;
    const auto N = static_cast<std::size_t>(trace.numSamples);
    out.exitTaken.resize(N);
    out.prediction.resize(N);
    const int64_t K = trace.numExits, D = trace.gateDim;
    for (int64_t n = 0; n < trace.numSamples; ++n) {
        int64_t k = 0;
        while (k < K - 1 && !(gateProbability(gates, k, trace.gateInputs.data() + (n * K + k) * D) > 0.5f)) ++k;
        out.exitTaken[static_cast<std::size_t>(n)] = k;
        out.prediction[static_cast<std::size_t>(n)] = argmaxOf(trace.probsOf(n, k), trace.numClasses);
    }
    return out;
}

nlohmann::json gateSetToJson(const GateSet& gates) {
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t k = 0; k < gates.bias.size(); ++k) {
        list.push_back({{"weights", gates.weights[k]},
                        {"bias", gates.bias[k]},
                        {"mean", gates.featureMean[k]},
                        {"std", gates.featureStd[k]}});
    }
    return {{"num_exits", gates.numExits()}, {"alpha", gates.alpha}, {"cost_kind", gates.costKind}, {"gates", list}};
}

GateSet gateSetFromJson(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw Error(where + ": gate set is not a JSON object");
    GateSet gates;
    const auto& numExits = member(j, "num_exits", where, "num_exits");
    if (!numExits.is_number_integer()) throw Error(where + ": num_exits is not an integer");
    const auto& alpha = member(j, "alpha", where, "alpha");
    if (!alpha.is_number()) throw Error(where + ": alpha is not a number");
    gates.alpha = alpha.get<double>();
    const auto& costKind = member(j, "cost_kind", where, "cost_kind");
    if (!costKind.is_string()) throw Error(where + ": cost_kind is not a string");
    gates.costKind = costKind.get<std::string>();
    const auto& list = member(j, "gates", where, "gates");
    if (!list.is_array()) throw Error(where + ": gates is not an array");
    if (numExits.get<int64_t>() != static_cast<int64_t>(list.size()) + 1) {
        throw Error(where + ": num_exits is " + std::to_string(numExits.get<int64_t>()) + " but gates has " +
                    std::to_string(list.size()) + " entries (need num_exits - 1)");
    }
    for (std::size_t k = 0; k < list.size(); ++k) {
        const std::string path = "gates[" + std::to_string(k) + "]";
        if (!list[k].is_object()) throw Error(where + ": " + path + " is not a JSON object");
        gates.weights.push_back(readRow(list[k], "weights", where, path + ".weights"));
        gates.bias.push_back(readFloat(member(list[k], "bias", where, path + ".bias"), where, path + ".bias"));
        gates.featureMean.push_back(readRow(list[k], "mean", where, path + ".mean"));
        gates.featureStd.push_back(readRow(list[k], "std", where, path + ".std"));
    }
    checkGateSet(gates, where);
    return gates;
}

} // namespace exitscope::core
