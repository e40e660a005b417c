#pragma once

#include "core/config/tuned_config.h"

#include <memory>
#include <string>

namespace exitscope::core {

class MultiExitNet;

/// Writes one self-contained TorchScript file that really exits (issue 16):
/// `torch.jit.load` (Python) and `torch::jit::load` (C++) open it with no
/// ExitScope code. Its methods:
///
///   forward(x) -> (prediction, exit_index, score)
///       x: a batch [n, C, H, W] of images scaled to [0, 1] (normalised inside).
///       Runs the blocks in order, evaluates each exit only on the samples
///       still running, removes the samples that left (batch compaction) and
///       returns, in input order, two int64 tensors [n] and a float tensor [n]:
///       the score the policy compared where the sample left (the max softmax
///       at the final exit and for static and anytime policies), exactly as
///       EarlyExitExecutor::run decides and reports it.
///   forward_budget(x, macs) -> the same, every sample at the deepest exit whose
///       cumulative MACs per sample fit `macs` (MSDNet's anytime setting).
///   set_thresholds(t)  new per-exit thresholds (K-1 values; one value for all)
///       for confidence and budgeted policies, without exporting again.
///
/// Inside: the blocks and heads (zoo models: each traced into a graph with
/// its weights as constants; imported TorchScript models: their own scripted
/// modules), the normalisation, the policy (criterion, temperatures,
/// thresholds; budgeted thresholds; gate weights and standardisation; static
/// and anytime exits) as attributes, and as extra files
/// `exitscope/config.json` (the tuned config), `exitscope/weights_hash` and
/// `exitscope/class_names.json`.
///
/// `config` must have been tuned for these weights (hash, exits, classes);
/// Error otherwise, and for a policy the file cannot express (an anytime
/// budget in milliseconds; gates on an imported model). The file is written
/// atomically: on any error nothing is left at `outPath`.
/// `torchScriptPath`: the file an imported model was loaded from (empty for
/// zoo checkpoints).
void exportDeployable(MultiExitNet& net, const TunedConfig& config, const std::string& torchScriptPath,
                      const std::string& outPath);

} // namespace exitscope::core
