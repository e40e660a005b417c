#pragma once

#include "core/data/dataset.h"
#include "core/model/multi_exit_net.h"

#include <memory>
#include <string>

namespace exitscope::core {

/// Loads a model from either format: an ExitScope checkpoint (a built-in
/// architecture with its weights, see checkpoint.h) or a TorchScript file
/// following the multi-exit convention (see torchscript_net.h). Error naming
/// the file and why it is neither. `normalisationOverride`, when it has
/// values, replaces the model's normalisation (imported models only; a
/// checkpoint's normalisation is part of its training and is kept).
std::shared_ptr<MultiExitNet> loadModel(const std::string& path, const Normalisation& normalisationOverride = {});

} // namespace exitscope::core
