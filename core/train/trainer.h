#pragma once

#include "core/common/progress.h"
#include "core/data/dataset.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace exitscope::core {

class MultiExitNet;

/// How to train a multi-exit model.
struct TrainOptions {
    int64_t epochs = 10;
    int64_t batchSize = 128;
    double learningRate = 2e-3;         ///< AdamW peak rate, cosine decay to 0 after a warm-up
    double weightDecay = 5e-4;
    std::vector<double> exitWeights;    ///< per-exit loss weights; empty = uniform
    bool freezeBackbone = false;        ///< SPINN's second mode: train the exit heads only
    bool augment = true;                ///< random flips and shifts of up to 2 pixels
    int64_t maxTrainSamples = -1;       ///< use only the first n training samples (tests)
    int64_t maxValSamples = -1;         ///< evaluate on the first n validation samples
    uint64_t seed = 1;
};

/// What one epoch reached.
struct EpochReport {
    int64_t epoch = 0;
    double trainLoss = 0.0;                ///< mean joint loss over the epoch
    std::vector<double> valAccuracy;       ///< per exit, on the validation split
    double seconds = 0.0;
};

/// Progress within training, reported after every batch and every epoch.
struct TrainProgress {
    int64_t epoch = 0;
    int64_t epochs = 0;
    int64_t batch = 0;
    int64_t batches = 0;
    double loss = 0.0;                     ///< running mean loss in this epoch
    const EpochReport* finishedEpoch = nullptr;  ///< set once per epoch, after validation
};

using TrainProgressFn = std::function<void(const TrainProgress&)>;

/// Trains all exits jointly (loss = sum_k w_k CE_k / sum_k w_k), or only the
/// exit heads when freezeBackbone is set. The validation split is never
/// trained on. Sets the model's normalisation from the training split when
/// it has none. Throws Cancelled when `cancel` is set.
std::vector<EpochReport> trainModel(MultiExitNet& net, const Dataset& data, const TrainOptions& options,
                                    const TrainProgressFn& progress = {}, const CancelFlag* cancel = nullptr);

/// Per-exit accuracy of the model on the given images.
std::vector<double> evaluateExits(MultiExitNet& net, const ImageSet& images, const std::vector<int64_t>& indices,
                                  int64_t batchSize = 500);

} // namespace exitscope::core
