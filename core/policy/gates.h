#pragma once

#include "core/policy/confidence.h"
#include "core/trace/trace.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// LEENet's learned exit gates for a K-exit model: one logistic gate per
/// non-final exit (the final exit always answers), each a dot product of that
/// exit's standardised gate inputs with learned weights, plus a bias, through a
/// sigmoid. The standardisation (mean and std per exit and feature, fitted on
/// the training trace) travels with the weights, so the executor applies a gate
/// to the raw features it pools from the network.
struct GateSet {
    std::vector<std::vector<float>> weights;      ///< [K-1][gate_dims[k]]
    std::vector<float> bias;                      ///< [K-1]
    std::vector<std::vector<float>> featureMean;  ///< [K-1][gate_dims[k]], subtracted from raw features
    std::vector<std::vector<float>> featureStd;   ///< [K-1][gate_dims[k]], > 0, divides the centred features
    double alpha = 0.0;                           ///< accuracy/cost weight the gates were trained for
    std::string costKind = "params";              ///< "params" or "macs": the cost the training loss charged

    /// K: the number of exits these gates serve (one more than the gates).
    int64_t numExits() const { return static_cast<int64_t>(bias.size()) + 1; }
};

/// Fraction of the whole network's cost spent to reach each exit:
/// exit_params[k] / exit_params[K-1] for "params" (as LEENet), exit_macs[k] /
/// exit_macs[K-1] for "macs". Error for another kind or a zero final cost.
std::vector<double> exitCostFractions(const Trace& trace, const std::string& costKind);

/// Checks that `costKind` is "params" or "macs"; Error naming it otherwise.
void checkCostKind(const std::string& costKind);

/// Checks a gate set on its own (K-1 gates, equal widths of weights, mean and
/// std, finite values, std > 0, alpha in [0, 1], a known cost kind).
/// Error beginning with `where` and naming the field otherwise.
void checkGateSet(const GateSet& gates, const std::string& where);

/// Checks a gate set against a trace: as checkGateSet, plus one gate per
/// non-final exit of the trace and each gate's width equal to the trace's
/// gate_dims[k]; the Error names both widths.
void checkGatesMatchTrace(const GateSet& gates, const Trace& trace);

/// sigmoid(w . standardised(x) + b) for gate `exit` (< K-1) on the raw
/// features `features` (gate_dims[exit] values). The executor and applyGates
/// both decide with `gateProbability(...) > 0.5f`, so they agree exactly.
float gateProbability(const GateSet& gates, int64_t exit, const float* features);

/// LEENet's rule on a trace: a sample leaves at the first exit whose gate
/// probability is > 0.5 (the final exit always answers) and predicts the
/// argmax of that exit's probabilities. Checks the gates against the trace.
ExitOutcome applyGates(const Trace& trace, const GateSet& gates);

/// The gate set as JSON: {"num_exits", "alpha", "cost_kind", "gates": [{"weights",
/// "bias", "mean", "std"}, ...]}; floats round-trip exactly through dump/parse.
nlohmann::json gateSetToJson(const GateSet& gates);

/// Reads gateSetToJson's form and checks it (checkGateSet); Error beginning
/// with `where` and naming the missing or bad field otherwise.
GateSet gateSetFromJson(const nlohmann::json& j, const std::string& where);

} // namespace exitscope::core
