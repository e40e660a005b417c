#pragma once

#include "core/common/progress.h"
#include "core/policy/gates.h"
#include "core/trace/trace.h"

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// How to train LEENet gates on a (validation) trace.
struct TrainGatesOptions {
    double alpha = 0.5;               ///< accuracy/cost weight in [0, 1]; 1 charges cost only
    std::string costKind = "params";  ///< "params" (as LEENet) or "macs"
    int64_t iterations = 200;         ///< full-batch Adam steps
    double learningRate = 0.2;        ///< Adam step size (features are standardised)
    uint64_t seed = 1;                ///< initial weights; training is deterministic given it
    double l2 = 1e-4;                 ///< weight decay l2/2 * |w|^2 on the weights, not the biases
    double tolerance = 1e-5;          ///< stop early when 25 steps lower the loss by less (0: never)
};

/// Gradient of gateLoss with respect to each gate's weights and bias.
struct GateGradient {
    std::vector<std::vector<double>> weights;  ///< [K-1][gate_dims[k]]
    std::vector<double> bias;                  ///< [K-1]
};

/// LEENet's loss of `gates` on `val`, as an expectation over the exit each
/// sample takes. With g_{n,i} the probability of gate i (i < K-1) and
/// P_{n,i} = g_{n,i} prod_{j<i}(1 - g_{n,j}), P_{n,K-1} = prod_{j<K-1}(1 - g_{n,j}):
///
///   L = 1/N sum_n sum_{i=0}^{K-1} P_{n,i} [(1-alpha) CE_{n,i} + alpha cost_i] + l2/2 sum |w|^2
///
/// CE_{n,i} = -log max(p_{n,i}[label], 1e-7), cost_i = exitCostFractions. The
/// cost part is LEENet's formula as written (its cost_last term is i = K-1);
/// the CE part also counts the final exit (i = K-1), so that at alpha = 0
/// sending a sample to the end is charged the final exit's error, not free.
/// Options' alpha, costKind and l2 are used (not the gate set's own alpha).
/// Fills `gradient` (analytic, same layout as the gates) when it is not null.
double gateLoss(const Trace& val, const GateSet& gates, const TrainGatesOptions& options,
                GateGradient* gradient = nullptr);

/// Untrained gates for `val`: the standardisation fitted on its gate inputs
/// (mean and population std per exit and feature; std 1 for constant
/// features), small random weights drawn from `seed`, zero biases.
GateSet initialGates(const Trace& val, const TrainGatesOptions& options);

/// Trains all gates jointly on `val` from initialGates by minimising gateLoss
/// with full-batch Adam. Reports progress; throws Cancelled when `cancel` is
/// set. Error for a trace without gate inputs or a bad option.
GateSet trainGates(const Trace& val, const TrainGatesOptions& options, const ProgressFn& progress = {},
                   const CancelFlag* cancel = nullptr);

/// As trainGates, but starts from `start` (its weights and standardisation),
/// e.g. to train further. Gates that a neighbouring alpha has saturated (logits
/// of +-20) have vanishing gradients and may stay stuck, so for an exact alpha
/// prefer trainGates, which is also what the grid uses.
GateSet refineGates(const Trace& val, const GateSet& start, const TrainGatesOptions& options,
                    const ProgressFn& progress = {}, const CancelFlag* cancel = nullptr);

/// The alphas of a grid: 0, step, 2 step, ... and exactly 1 (21 values for
/// step 0.05). Error unless 0 < step <= 1.
std::vector<double> alphaGrid(double step = 0.05);

/// Gate sets for every alpha of alphaGrid(step), each trained from scratch
/// exactly as trainGates would (so grid entry a equals trainGates at that
/// alpha); `options.alpha` is ignored. Warm starts were tried and rejected:
/// gates saturated at one alpha did not reopen at the next. Meant for a
/// background thread so an alpha slider can switch between precomputed gates
/// instantly; progress covers the whole grid.
std::vector<GateSet> trainGateGrid(const Trace& val, double step = 0.05, const TrainGatesOptions& options = {},
                                   const ProgressFn& progress = {}, const CancelFlag* cancel = nullptr);

} // namespace exitscope::core
