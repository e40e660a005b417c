#pragma once

#include "core/model/model_info.h"

#include <memory>
#include <string>

namespace exitscope::core {

class MultiExitNet;

/// Saves a model as LibTorch's own archive: its spec (name, options, input
/// shape, class names, normalisation, content hash) as JSON plus every
/// parameter and buffer. Written to a temporary file and renamed.
void saveCheckpoint(MultiExitNet& net, const std::string& path);

/// Loads a checkpoint, rebuilding the architecture from the stored spec.
/// When `expectedModel` is not empty, a checkpoint of another model is an
/// Error; so is a file that is not a checkpoint, a parameter whose shape
/// disagrees with the architecture, or weights whose hash disagrees.
std::shared_ptr<MultiExitNet> loadCheckpoint(const std::string& path, const std::string& expectedModel = {});

/// Reads only the spec of a checkpoint (cheap; no network is built).
ModelSpec readCheckpointSpec(const std::string& path);

} // namespace exitscope::core
