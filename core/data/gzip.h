#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// Reads a whole file as it is, refusing files larger than maxBytes before
/// allocating anything. Throws Error naming the file when it is missing,
/// unreadable, a directory, over the limit, or shrinks while being read.
std::vector<uint8_t> readRawFile(const std::string& path, uint64_t maxBytes);

/// True when the bytes start with the gzip magic 1f 8b.
bool hasGzipMagic(const uint8_t* data, std::size_t size);

/// Inflates an in-memory gzip stream (one or more concatenated members). The
/// output may not exceed maxBytes, so a gzip bomb is an Error. Errors name
/// path and the problem: truncated stream, corrupt data, over the limit.
std::vector<uint8_t> gunzip(const uint8_t* data, std::size_t size, uint64_t maxBytes,
                            const std::string& path);

/// Reads a whole file that is either raw or gzip-compressed (detected by its
/// magic, not its name), returning at most maxBytes of content.
std::vector<uint8_t> readMaybeGzipped(const std::string& path, uint64_t maxBytes);

} // namespace exitscope::core
