#pragma once

#include <string>

namespace exitscope::core {

/// Checks a zip archive (LibTorch checkpoints and TorchScript files are zip
/// archives of stored, uncompressed records) before LibTorch parses it:
/// the end-of-central-directory record (zip64 too), every entry's local
/// header and data range inside the file, and the CRC-32 of every stored
/// entry. LibTorch does not check the CRCs, and a flipped bit in a
/// TorchScript record's code can crash its parser; with this check such a
/// file is an Error naming the file and the damaged entry instead.
/// Deflated entries (not written by LibTorch) have their ranges checked only.
void checkZipIntegrity(const std::string& path);

} // namespace exitscope::core
