#pragma once

#include "core/policy/policy.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace exitscope::core {

class MultiExitNet;

/// What the executor did for one sample.
struct ExecutedSample {
    int64_t exitTaken = 0;
    int64_t prediction = 0;
    std::vector<int64_t> exitsEvaluated;  ///< in order; the last is exitTaken
    std::vector<float> confidences;  ///< max softmax at every exit evaluated, in order
    /// At every exit evaluated, the value the policy compared (exitScore:
    /// the criterion's score, the gate probability), or the max softmax where
    /// it compares nothing (static, anytime, the final exit) — the same as
    /// core::Decider::score on a trace of the same images.
    std::vector<float> scores;
};

/// Parses "cpu" or "cuda[:n]"; Error when CUDA is asked for but this
/// LibTorch build or machine has none.
torch::Device parseDevice(const std::string& text);

/// The real early-exit executor: runs a batch block by block under
/// c10::InferenceMode, evaluates each exit only on the samples still
/// running, and removes the samples that left from the batch (batch
/// compaction) so early exit saves real time at batch sizes above 1. A
/// sample leaves at the first exit whose max softmax is >= its threshold;
/// the final exit always answers — the same rule as
/// applyConfidenceThresholds on a trace.
class EarlyExitExecutor {
public:
    /// thresholds: K-1 values (or K, the last ignored), each in [0, 1].
    EarlyExitExecutor(std::shared_ptr<MultiExitNet> net, std::vector<float> thresholds,
                      torch::Device device = torch::kCPU);

    /// Any deployable policy (confidence with criterion and temperatures,
    /// budgeted batch, LEENet gates, static, anytime). Decisions go through
    /// decideAtExit, as applyPolicy does on a trace. Anytime budgets in ms
    /// need the measured `exitMs` (from a trace of the same weights).
    EarlyExitExecutor(std::shared_ptr<MultiExitNet> net, PolicyConfig policy, torch::Device device = torch::kCPU,
                      const std::vector<float>& exitMs = {});

    /// Runs a normalised batch [n, C, H, W]. Static and anytime policies
    /// evaluate only the exit they take.
    std::vector<ExecutedSample> run(const torch::Tensor& batch);

    /// Runs `numBatches` normalised batches (batchAt(i), made when needed)
    /// and returns one result per sample in input order. Unlike calling run()
    /// per batch, the samples still running after an exit are pooled across
    /// batches: block b runs once its waiting samples reach half the largest
    /// batch size given (or at the end), so the deep blocks see large batches
    /// instead of the few survivors of each one. Memory stays bounded (less
    /// than two batches wait before each block). Each sample is decided
    /// exactly as run() decides it. `progress(i)` is called after batch i-1.
    std::vector<ExecutedSample> runStream(int64_t numBatches, const std::function<torch::Tensor(int64_t)>& batchAt,
                                          const std::function<void(int64_t)>& progress = {});

    /// Plain full forward pass through the backbone and the final exit only
    /// (the network without early exits); returns predictions. The baseline
    /// for speed-up measurements.
    torch::Tensor runFull(const torch::Tensor& batch);

private:
    /// Evaluates the exits after block b on `state` (the samples at `active`
    /// positions of `out`), records their decisions and removes the samples
    /// that left from `state` and `active`.
    void decideExits(int64_t b, std::vector<torch::Tensor>& state, torch::Tensor& active, std::vector<ExecutedSample>& out);

    std::shared_ptr<MultiExitNet> m_net;
    PolicyConfig m_policy;
    int64_t m_fixedExit = 0;
    torch::Device m_device;
    std::vector<float> m_scratch;
};

} // namespace exitscope::core
