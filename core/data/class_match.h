#pragma once

#include "core/data/dataset.h"

#include <string>
#include <vector>

namespace exitscope::core {

/// How a data set's classes were matched to a model's class names.
enum class ClassMatch {
    Same,       ///< the same names in the same order: nothing changed
    ByName,     ///< the same names in another order: labels renumbered by name
    ByOrder,    ///< other names, taken in order because the caller asked for it
};

/// Makes `data`'s labels mean the model's classes before any image is run.
/// Same names and order: nothing to do. The same names in another order
/// (class folders sort by name, a model lists them as it was trained):
/// every label of the train and test images is renumbered by name and the
/// class names become the model's. Names also meet in the form a folder can
/// hold (case, and runs of '/', '\\', '_', '-' and spaces, aside: the folder
/// "T-shirt_top" is the class "T-shirt/top") when that is unambiguous. Other names, or another number of
/// classes: Error naming the data set, both counts and both lists (the
/// first names that differ), unless `byOrder` takes the data set's classes
/// in their order as the model's (same count still required). `note` gets
/// one line saying what was done, empty for Same.
ClassMatch matchClassesToModel(Dataset& data, const std::vector<std::string>& modelClasses, bool byOrder,
                               std::string& note);

} // namespace exitscope::core
