#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// How `exitscope-cli merge` treats shards measured on different devices.
struct MergeOptions {
    /// Timings of shards whose device types differ are merged only when set;
    /// the merged file then says so (metadata mixed_devices = "true").
    bool mixedDevices = false;
};

/// What a merge wrote.
struct MergeReport {
    std::string kind;  ///< "trace" or "split profile"
    int64_t samples = 0;
    int64_t shards = 0;
    std::vector<std::string> hosts;  ///< in shard order, one per shard
    bool mixedDevices = false;
};

/// Merges the shards of one `profile --shard I/N` (traces) or one
/// `profile-splits --shard I/N` (split profiles) into `outPath`. Checks first
/// that they belong together: the same kind, weights hash, model, data set,
/// split, seed, class list (traces), codec mode (split profiles), sample
/// count, batch and shard count; every shard 0..N-1 exactly once; each
/// holding exactly its range (no gap, no overlap, no duplicate sample); the
/// same device type unless `options.mixedDevices`. Any problem throws Error
/// naming the shard and the problem, before anything is written.
///
/// The merged file's recorded tensors are those of a single-process run over
/// the same samples; its timings (a trace's block_ms, head_ms, exit_ms; a
/// split profile's encode_ms, decode_ms) combine the shards' (a trace: the
/// median over shards; a split profile: the mean over all samples), and its
/// metadata `shards` lists each shard's range, host, device type and own
/// timings.
MergeReport mergeShards(const std::vector<std::string>& shardPaths, const std::string& outPath,
                        const MergeOptions& options = {});

} // namespace exitscope::core
