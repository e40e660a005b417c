#pragma once

#include "core/common/progress.h"
#include "core/trace/trace.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// The confidence of every exit of every sample: the max softmax of the
/// trace's probabilities, [N, K] row-major.
std::vector<float> exitConfidences(const Trace& trace);

/// Training settings of the confidence-score predictor.
struct PredictorOptions {
    std::vector<int64_t> hidden{32, 32};  ///< widths of the ReLU hidden layers
    int64_t epochs = 30;
    int64_t batch = 32;
    double learningRate = 2e-3;  ///< Adam's step size
    uint64_t seed = 0;           ///< weights, masks and sample order
};

/// EINet's CS-Predictor: a small MLP that predicts the confidence of every
/// exit from the confidences observed so far. Input: the K observed values
/// (0 where not observed) and the K mask bits; output: K confidences
/// through a sigmoid. Plain C++ (forward, backward, Adam), seeded, trained
/// on a validation trace with masks drawn over prefixes (half of them
/// thinned at random, since a plan that skips branches observes a subset of
/// the prefix); the loss is the squared error on the unobserved exits.
/// A predictor without hidden layers (meanProfile) always answers the
/// validation mean of each exit: the profile a planner without a predictor uses.
class ConfidencePredictor {
public:
    ConfidencePredictor() = default;

    /// Trains on `confidences` ([N, K], each in [0, 1]). Error for N = 0,
    /// bad values or options (hidden width < 1, epochs/batch < 1, a
    /// learning rate that is not positive). Reports progress per epoch and
    /// throws Cancelled when `cancel` is set.
    static ConfidencePredictor train(const std::vector<float>& confidences, int64_t numExits,
                                     const PredictorOptions& options = {}, const ProgressFn& progress = {},
                                     const CancelFlag* cancel = nullptr);
    /// The constant predictor: each exit's mean confidence in `confidences`.
    static ConfidencePredictor meanProfile(const std::vector<float>& confidences, int64_t numExits);

    /// The constant predictor with this predictor's validation means.
    ConfidencePredictor meanOnly() const;

    int64_t numExits() const { return m_numExits; }
    /// The validation mean confidence of each exit.
    const std::vector<float>& means() const { return m_means; }
    bool isTrained() const { return m_numExits > 0; }
    bool isMlp() const { return !m_layers.empty(); }
    const PredictorOptions& options() const { return m_options; }

    /// Writes K predicted confidences to `out`; exits whose mask byte is set
    /// keep their observed value. Allocation-free; safe to call from
    /// several threads at once.
    void predict(const float* observed, const uint8_t* mask, float* out) const;

    /// {"kind": "mlp"|"mean", "num_exits", "means", "options", "layers": [...]}.
    nlohmann::json toJson() const;
    /// Reads toJson's form; Error beginning with `where` naming the bad field.
    static ConfidencePredictor fromJson(const nlohmann::json& j, const std::string& where);

    static constexpr int64_t kMaxWidth = 1024;

private:
    struct Layer {
        int64_t in = 0;
        int64_t out = 0;
        std::vector<float> weights;  // [out, in]
        std::vector<float> bias;     // [out]
    };
    friend class PredictorTrainer;

    int64_t m_numExits = 0;
    std::vector<float> m_means;  // [K]
    std::vector<Layer> m_layers;
    PredictorOptions m_options;
};

/// Mean absolute error of a predictor on held-out confidences ([N, K]),
/// with the first L exits observed for L = 0 .. K-1.
struct PredictorError {
    std::vector<double> byObserved;  ///< [K], MAE over the unobserved exits (k >= L) with the first L observed
    std::vector<double> byExit;      ///< [K], MAE of exit k over every L <= k (the prefixes that leave it unobserved)
    std::vector<double> matrix;      ///< [L, k] = [K, K], MAE of exit k with the first L observed; NaN for k < L
};

/// Error when the sizes disagree with the predictor.
PredictorError predictorError(const ConfidencePredictor& predictor, const std::vector<float>& confidences);

}  // namespace exitscope::core
