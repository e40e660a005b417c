#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace exitscope::core {

/// One part of a profile spread over several processes or machines
/// (`profile --shard I/N`): shard `index` of `count`, 0-based.
struct Shard {
    int64_t index = 0;
    int64_t count = 1;
};

/// Parses "I/N" (0 <= I < N, 1 <= N <= 100000); Error naming the text otherwise.
Shard parseShard(const std::string& text);
/// "I/N".
std::string toString(const Shard& shard);

/// Where a shard's samples lie in the profiled list (the split's samples,
/// cut to --max-samples): [first, first + count).
struct SampleRange {
    int64_t first = 0;
    int64_t count = 0;
};

/// The contiguous range of shard `shard` over `total` samples, in whole
/// batches of `batchSize`: shard I gets batches floor(I*nb/N) up to
/// floor((I+1)*nb/N), nb = ceil(total / batchSize). Every batch a shard runs
/// is then a batch the single-process profile runs, so the shards' results
/// are those of one process bit for bit. Error when there are fewer batches
/// than shards (a shard would be empty).
SampleRange shardRange(int64_t total, int64_t batchSize, const Shard& shard);

/// This machine's name (gethostname), "unknown" when it has none.
std::string hostName();

/// What a timing measured on this machine depends on: the device and, for
/// the CPU, its model name from /proc/cpuinfo and the number of LibTorch
/// threads, e.g. "cpu: AMD EPYC 7B13, 1 thread". Shards whose device types
/// differ have timings that must not be mixed silently.
std::string deviceType(const std::string& device, int threads);

/// The current time in UTC, ISO 8601 ("2026-12-07T09:31:10Z").
std::string utcTimestamp();

/// The metadata keys that a shard writes and a merged file replaces.
/// `shard`, `shard_first`, `shard_samples`.
void setShardMetadata(std::map<std::string, std::string>& metadata, const Shard& shard, const SampleRange& range,
                      int64_t total);

} // namespace exitscope::core
