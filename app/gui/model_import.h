#pragma once

#include "core/model/model_info.h"

#include <QString>

class QWidget;

namespace exitscope::app {

/// Checks a model file that is not an ExitScope checkpoint (a TorchScript
/// multi-exit model, see docs/torchscript.md) in a child process,
/// `exitscope-cli inspect FILE --json`, so a loader crash on a broken or
/// hostile file cannot take the app down; the event loop keeps running while
/// it works. A TorchScript file is code from its author: the first time a
/// file (by content hash) is opened, the user is asked first when `ask` is
/// set; approved files are remembered (QSettings). Returns the model's spec,
/// or throws core::Error naming the file and the problem (declined,
/// crashed, timed out, or the inspector's own error message).
core::ModelSpec inspectImportedModel(const QString& path, QWidget* parent, bool ask);

/// $EXITSCOPE_CLI when set, else the exitscope-cli next to this program, else on PATH.
QString cliProgram();

} // namespace exitscope::app
