#pragma once

#include "core/config/tuned_config.h"

#include <memory>
#include <cstdint>
#include <string>
#include <utility>

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
/// budget in milliseconds). The file is written atomically: on any error
/// nothing is left at `outPath`.
/// `torchScriptPath`: the file an imported model was loaded from (empty for
/// zoo checkpoints).
///
/// `splitAfter` >= 0 also writes the two halves of a split after that block
/// (0-based; the device runs blocks 0..splitAfter), at splitPartPaths(outPath):
///   device half  forward(x) / forward_budget(x, macs) ->
///       (prediction, exit_index, score, rows, q, scale, zero_point):
///       the first three [n] in input order, -1 (score 0) for the samples that
///       go on; `rows` [m] int64, their input positions; `q` the state after
///       the split for those m samples, each tensor quantised to uint8 as the
///       codec's per-tensor stage does (CodecMode::PerTensor8, one scale and
///       zero point per tensor over the m samples), `scale` and `zero_point`
///       one float each. Every list is empty when no sample goes on.
///   server half  forward(q, scale, zero_point) / forward_budget(q, scale,
///       zero_point, macs) -> (prediction, exit_index, score) [m] in the
///       order of q's rows: it dequantises (q - zero_point) * scale in float
///       and runs the remaining blocks and exits.
/// Both halves hold the same policy attributes, set_thresholds and extra
/// files as the whole file, plus `exitscope/split.json`. All files are
/// written or none.
void exportDeployable(MultiExitNet& net, const TunedConfig& config, const std::string& torchScriptPath,
                      const std::string& outPath, int64_t splitAfter = -1);

/// Where exportDeployable writes the halves of `outPath`: NAME-device.EXT and
/// NAME-server.EXT (EXT is .pt when outPath has none).
std::pair<std::string, std::string> splitPartPaths(const std::string& outPath);

} // namespace exitscope::core
