#pragma once

#include "app/cli/cli_args.h"
#include "core/data/dataset.h"
#include "core/model/multi_exit_net.h"

#include <memory>
#include <set>
#include <string>

namespace exitscope::app {

/// Loads the model named by --`key` (a checkpoint or a TorchScript
/// multi-exit model, see core/model/model_loader.h), with --mean/--std
/// (comma-separated per-channel normalisation for imported models).
std::shared_ptr<core::MultiExitNet> loadModelFromArgs(const CliArgs& args, const std::string& key = "weights");

/// Loads --data with --val and --seed; image folders are converted to the
/// model's input shape (channels, height, width). Its classes are matched to
/// the model's class names (core::matchClassesToModel, --classes-by-order)
/// before any image runs; a renumbering is said on stderr.
core::Dataset loadDataForModel(const CliArgs& args, const core::ModelSpec& spec);


} // namespace exitscope::app
