#pragma once

#include "core/model/multi_exit_net.h"

#include <memory>
#include <string>

namespace exitscope::core {

/// Loads a TorchScript file that follows ExitScope's multi-exit convention
/// (docs/torchscript.md) as a MultiExitNet, so an imported model works
/// wherever a built-in one does (profiling, policies, the executor, split
/// profiling, the simulator, the app).
///
/// The convention, checked attribute by attribute:
///   blocks       a ModuleList; blocks[i].forward(List[Tensor]) -> List[Tensor]
///   exits        a ModuleList; exits[k].forward(List[Tensor]) -> Tensor [n, classes]
///   exit_blocks  List[int], one per exit: the block whose output the exit reads,
///                non-decreasing, the last exit after the last block
///   input_shape  List[int], [channels, height, width]
///   class_names  List[str], one per class
/// optional:
///   mean, std    List[float], per-channel normalisation of pixels scaled to [0, 1]
///                (default: none, mean 0 and std 1)
///   block_macs   List[int], per-sample MACs of each block (default: counted on a dry run)
///   block_relu   List[bool], whether each block's output follows a ReLU (a split
///                candidate; default: every block boundary is a candidate)
///
/// A dry run on one zero input checks every block's and exit's output; any
/// missing attribute, missing method, wrong type or wrong shape is an Error
/// naming the file and the attribute. A file that is not TorchScript at all
/// is an Error too; LibTorch's own exceptions never escape.
/// `normalisationOverride`, when it has values, replaces the model's.
std::shared_ptr<MultiExitNet> loadTorchScriptModel(const std::string& path,
                                                   const Normalisation& normalisationOverride = {});

/// The model name an imported file gets: "torchscript:<file name>".
std::string torchScriptModelName(const std::string& path);

} // namespace exitscope::core
