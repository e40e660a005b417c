#include "simulator/schedule/split_profile.h"

#include "core/common/error.h"
#include "core/trace/safetensors.h"

#include <cmath>

namespace exitscope::simulator {

std::vector<SplitPoint> measuredSplitPoints(const core::Trace& trace, const std::string& splitsPath) {
    const auto file = core::SafeTensorsFile::read(splitsPath, uint64_t{64} << 20);
    const auto& meta = file.metadata();
    const auto format = meta.find("format");
    if (format == meta.end() || format->second != "exitscope-splits")
        throw core::Error(splitsPath + ": not a split profile (made by exitscope-cli profile-splits)");
    const auto hash = meta.find("weights_hash");
    const auto traceHash = trace.metadata.find("weights_hash");
    if (hash == meta.end() || traceHash == trace.metadata.end() || hash->second != traceHash->second)
        throw core::Error(splitsPath + ": measured with weights " + (hash == meta.end() ? "(unknown)" : hash->second) +
                          ", the trace comes from " +
                          (traceHash == trace.metadata.end() ? "(unknown)" : traceHash->second));
    const auto blocks = file.values<int64_t>(file.tensor("split_block"));
    const auto bytes = file.values<double>(file.tensor("encoded_bytes_mean"));
    const auto encode = file.values<double>(file.tensor("encode_ms"));
    const auto decode = file.values<double>(file.tensor("decode_ms"));
    if (bytes.size() != blocks.size() || encode.size() != blocks.size() || decode.size() != blocks.size())
        throw core::Error(splitsPath + ": split_block, encoded_bytes_mean, encode_ms and decode_ms differ in length");

    auto points = defaultSplitPoints(trace);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (!(bytes[i] >= 0) || !(encode[i] >= 0) || !(decode[i] >= 0) || !std::isfinite(bytes[i]) ||
            !std::isfinite(encode[i]) || !std::isfinite(decode[i]))
            throw core::Error(splitsPath + ": measurement " + std::to_string(i) + " is negative or not finite");
        bool found = false;
        for (auto& p : points) {
            if (p.blocksOnDevice != blocks[i] + 1 || p.blocksOnDevice >= trace.numBlocks) continue;
            p.bytesPerSample = bytes[i];
            p.encodeMs = encode[i];
            p.decodeMs = decode[i];
            found = true;
        }
        if (!found)
            throw core::Error(splitsPath + ": block " + std::to_string(blocks[i]) +
                              " is not a split candidate of the trace");
    }
    return points;
}

} // namespace exitscope::simulator
