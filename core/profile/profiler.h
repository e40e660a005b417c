#pragma once

#include "core/common/progress.h"
#include "core/data/dataset.h"
#include "core/trace/trace.h"

#include <cstdint>
#include <string>

namespace exitscope::core {

class MultiExitNet;

/// How to profile a model into a trace.
struct ProfileOptions {
    SplitKind split = SplitKind::Test;
    int64_t maxSamples = -1;       ///< profile only the first n samples of the split
    int64_t batchSize = 256;       ///< batch for the probabilities pass
    int64_t timingSamples = 100;   ///< samples timed one by one (batch 1) for block_ms / head_ms
    int64_t warmupSamples = 10;
    /// Profile only positions [first, first + count) of the split's samples
    /// (after maxSamples): one shard (core/profile/shard.h). count < 0: all.
    int64_t first = 0;
    int64_t count = -1;
    std::string device = "cpu";    ///< "cpu" or "cuda[:N]"; outputs come back to the CPU
};

/// Runs the model once over a split and records, per sample and exit, the
/// softmax probabilities and gate inputs (global average pool of the exit's
/// input, zero padded to the widest exit), and per block / exit the counted
/// MACs and parameters, output bytes, ReLU boundaries and median per-sample
/// times measured at batch size 1 on the calling thread's LibTorch threads
/// (metadata host, device_type and batch say where and how).
Trace profileModel(MultiExitNet& net, const Dataset& data, const ProfileOptions& options,
                   const ProgressFn& progress = {}, const CancelFlag* cancel = nullptr);

} // namespace exitscope::core
