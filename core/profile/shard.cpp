#include "core/profile/shard.h"

#include "core/common/error.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <ctime>
#include <fstream>

namespace exitscope::core {

namespace {

bool parseCount(const std::string& text, int64_t& out) {
    if (text.empty() || text.size() > 9) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    out = std::stoll(text);
    return true;
}

} // namespace

Shard parseShard(const std::string& text) {
    const auto slash = text.find('/');
    Shard s;
    if (slash == std::string::npos || !parseCount(text.substr(0, slash), s.index) ||
        !parseCount(text.substr(slash + 1), s.count))
        throw Error("--shard: '" + text + "' is not I/N (shard I of N, counted from 0, e.g. 0/4)");
    if (s.count < 1 || s.count > 100000) throw Error("--shard: '" + text + "': N must be in 1..100000");
    if (s.index >= s.count)
        throw Error("--shard: '" + text + "': I must be in 0.." + std::to_string(s.count - 1) + " (shards count from 0)");
    return s;
}

std::string toString(const Shard& shard) { return std::to_string(shard.index) + "/" + std::to_string(shard.count); }

SampleRange shardRange(int64_t total, int64_t batchSize, const Shard& shard) {
    if (total < 1) throw Error("no samples to shard");
    if (batchSize < 1) throw Error("shard: the batch size must be at least 1");
    if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
        throw Error("shard " + toString(shard) + " does not exist");
    const int64_t batches = (total + batchSize - 1) / batchSize;
    if (batches < shard.count)
        throw Error("--shard " + toString(shard) + ": " + std::to_string(total) + " samples in batches of " +
                    std::to_string(batchSize) + " make " + std::to_string(batches) + " batch(es), fewer than " +
                    std::to_string(shard.count) + " shards; use a smaller --batch or fewer shards");
    const int64_t b0 = shard.index * batches / shard.count, b1 = (shard.index + 1) * batches / shard.count;
    SampleRange r;
    r.first = b0 * batchSize;
    r.count = std::min(total, b1 * batchSize) - r.first;
    return r;
}

std::string hostName() {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == 0) return "unknown";
    return name;
}

std::string deviceType(const std::string& device, int threads) {
    if (device != "cpu") return device;
    std::string model = "unknown CPU";
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        model = line.substr(line.find_first_not_of(" \t", colon + 1));
        break;
    }
    return "cpu: " + model + ", " + std::to_string(threads) + (threads == 1 ? " thread" : " threads");
}

std::string utcTimestamp() {
    const std::time_t t = std::time(nullptr);
    std::tm parts{};
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", ::gmtime_r(&t, &parts));
    return buf;
}

void setShardMetadata(std::map<std::string, std::string>& metadata, const Shard& shard, const SampleRange& range,
                      int64_t total) {
    metadata["shard"] = toString(shard);
    metadata["shard_first"] = std::to_string(range.first);
    metadata["shard_samples"] = std::to_string(range.count);
    metadata["total_samples"] = std::to_string(total);
}

} // namespace exitscope::core
