#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace exitscope::core {

/// Writes a file so that a crash or an error never leaves it half written:
/// `writer` fills a temporary file in the same directory (path + ".tmp-"
/// + pid and a random suffix), which is flushed, fsync'ed and renamed over
/// `path`. On any failure (the writer throws, the stream goes bad, the disk
/// is full) the temporary file is removed, the previous file at `path` is
/// left untouched and Error is thrown naming `path` and the problem. An
/// existing target keeps its permission bits.
void writeFileAtomically(const std::string& path,
                         const std::function<void(std::ostream&)>& writer);

/// Throws Error naming `path` unless it is an existing regular file: a
/// FIFO, a directory or a device is refused without being opened (opening
/// a FIFO waits for a writer), as is a path longer than the file system
/// allows. For readers that open files by name (LibTorch, OpenCV).
void requireRegularFile(const std::string& path);

/// Reads a whole regular file. Throws Error naming `path` when it is
/// missing, unreadable, not a regular file or larger than `maxBytes`.
std::vector<uint8_t> readFileBytes(const std::string& path, uint64_t maxBytes);

/// Size in bytes of the file at `path`; throws Error when it cannot be
/// examined (missing, no permission).
uint64_t fileSize(const std::string& path);

} // namespace exitscope::core
