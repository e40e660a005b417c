#pragma once

#include "core/data/dataset.h"

#include <string>
#include <vector>

namespace exitscope::core {

/// Reads an IDX image file (magic 0x00000803: uint8, N x H x W) and its IDX
/// label file (magic 0x00000801: uint8, N), each raw or gzip-compressed, as
/// in MNIST and Fashion-MNIST. The result has one channel. Every header is
/// validated against the real data size before anything that size is
/// allocated; labels must be below classNames.size(). Throws Error naming
/// the file and the problem.
ImageSet readIdx(const std::string& imagesPath, const std::string& labelsPath,
                 std::vector<std::string> classNames, const std::string& name);

} // namespace exitscope::core
