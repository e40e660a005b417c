#pragma once

#include "core/data/dataset.h"

#include <cstdint>
#include <string>

namespace exitscope::core {

/// Reads a class-folder tree: dir holds one subfolder per class (sorted by
/// the bytes of the name, so "class_10" before "class_2"; the position is
/// the label, the folder name, which must be UTF-8, the class name), each
/// holding images (png jpg jpeg bmp pgm ppm tif tiff webp, any case; other
/// files and hidden entries are ignored). Every image is converted to
/// channels (1 = gray, 3 = RGB; alpha dropped) and resized to height x width
/// (INTER_AREA when shrinking, INTER_LINEAR otherwise), stored CHW. Throws
/// Error for a missing dir, no class folders, a class folder without images,
/// an unreadable image (named), or an unsupported shape.
ImageSet readImageFolder(const std::string& dir, int64_t channels, int64_t height,
                         int64_t width, const std::string& name);

} // namespace exitscope::core
