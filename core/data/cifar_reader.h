#pragma once

#include "core/data/dataset.h"

#include <string>
#include <vector>

namespace exitscope::core {

/// Reads CIFAR-10 binary batches (records of 1 label byte + 3x32x32 CHW
/// pixels) into one image set, in the order of batchFiles. Each file's size
/// must be a positive multiple of 3073 and every label below 10 and below
/// classNames.size(). Throws Error naming the file and the problem.
ImageSet readCifar10(const std::vector<std::string>& batchFiles,
                     std::vector<std::string> classNames, const std::string& name);

/// The class names from dir/batches.meta.txt (one per line, blank lines
/// ignored; exactly ten required), or the standard ten names when the file
/// does not exist.
std::vector<std::string> readCifar10ClassNames(const std::string& dir);

} // namespace exitscope::core
