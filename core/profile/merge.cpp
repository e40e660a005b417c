#include "core/profile/merge.h"

#include "core/common/error.h"
#include "core/profile/shard.h"
#include "core/profile/splits_file.h"
#include "core/trace/trace.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>

namespace exitscope::core {

namespace {

/// What the merge knows of one shard file before it looks at its tensors.
struct ShardHeader {
    std::string path;
    std::map<std::string, std::string> metadata;
    Shard shard;
    SampleRange range;
    int64_t total = 0;
    int64_t batch = 0;
    std::string name() const { return "shard " + toString(shard) + " (" + path + ")"; }
};

/// The metadata of a safetensors file from its header alone, so the merge
/// checks the shards before it reads any of their tensors; empty when the
/// header cannot be read (the full reader then says what is wrong).
std::map<std::string, std::string> headerMetadata(const std::string& path) {
    std::map<std::string, std::string> out;
    std::ifstream in(path, std::ios::binary);
    unsigned char len[8] = {};
    if (!in.read(reinterpret_cast<char*>(len), 8)) return out;
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
    if (n == 0 || n > (100ull << 20)) return out;
    std::string header(static_cast<std::size_t>(n), '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(n))) return out;
    const auto j = nlohmann::json::parse(header, nullptr, false);
    if (!j.is_object() || !j.contains("__metadata__") || !j["__metadata__"].is_object()) return out;
    for (const auto& [k, v] : j["__metadata__"].items())
        if (v.is_string()) out[k] = v.get<std::string>();
    return out;
}

std::string formatOf(const std::string& path) {
    const auto m = headerMetadata(path);
    const auto it = m.find("format");
    return it == m.end() ? std::string() : it->second;
}

std::string kindOf(const std::string& format) {
    if (format == "exitscope-splits") return "a split profile";
    if (format == "exitscope-trace") return "a trace";
    return "a '" + format + "' file";
}

int64_t metaInt(const std::map<std::string, std::string>& m, const std::string& key, const std::string& where) {
    const auto it = m.find(key);
    if (it == m.end()) throw Error(where + ": no '" + key + "' in its metadata (not written by profile --shard)");
    const std::string& v = it->second;
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
        throw Error(where + ": metadata '" + key + "' is '" + v + "', not a count");
    return std::stoll(v);
}

ShardHeader headerOf(const std::string& path, const std::map<std::string, std::string>& metadata) {
    ShardHeader h;
    h.path = path;
    h.metadata = metadata;
    const auto it = metadata.find("shard");
    if (it == metadata.end()) throw Error(path + ": not a shard (it was profiled without --shard I/N)");
    try {
        h.shard = parseShard(it->second);
    } catch (const Error&) {
        throw Error(path + ": metadata 'shard' is '" + it->second + "', not I/N");
    }
    h.range.first = metaInt(metadata, "shard_first", h.name());
    h.range.count = metaInt(metadata, "shard_samples", h.name());
    h.total = metaInt(metadata, "total_samples", h.name());
    h.batch = metaInt(metadata, "batch", h.name());
    return h;
}

std::string valueOr(const std::map<std::string, std::string>& m, const std::string& key) {
    const auto it = m.find(key);
    return it == m.end() ? std::string("(none)") : it->second;
}

/// Orders the shards by index and checks that they are one complete,
/// consistent set. Returns whether their device types differ.
bool checkShardSet(std::vector<ShardHeader>& shards, const std::vector<std::string>& identityKeys,
                   const MergeOptions& options) {
    if (shards.empty()) throw Error("merge: no shard files given");
    const ShardHeader& ref = shards.front();
    for (const auto& s : shards) {
        for (const auto& key : identityKeys) {
            const auto a = valueOr(s.metadata, key), b = valueOr(ref.metadata, key);
            if (a != b)
                throw Error(s.name() + ": its " + key + " '" + a + "' differs from " + ref.name() + "'s '" + b +
                            "'; the shards are not of one profile");
        }
        if (s.shard.count != ref.shard.count)
            throw Error(s.name() + ": one of " + std::to_string(s.shard.count) + " shards, but " + ref.name() +
                        " is one of " + std::to_string(ref.shard.count));
    }
    std::sort(shards.begin(), shards.end(),
              [](const ShardHeader& a, const ShardHeader& b) { return a.shard.index < b.shard.index; });
    for (std::size_t i = 1; i < shards.size(); ++i)
        if (shards[i].shard.index == shards[i - 1].shard.index)
            throw Error(shards[i].name() + ": repeats " + shards[i - 1].name());
    const int64_t N = ref.shard.count;
    if (static_cast<int64_t>(shards.size()) != N) {
        std::set<int64_t> have;
        for (const auto& s : shards) have.insert(s.shard.index);
        std::string missing;
        for (int64_t i = 0; i < N; ++i)
            if (!have.count(i)) missing += (missing.empty() ? "" : ", ") + std::to_string(i) + "/" + std::to_string(N);
        throw Error("merge: shard " + missing + " is missing (" + std::to_string(shards.size()) + " of " +
                    std::to_string(N) + " given)");
    }
    int64_t next = 0;
    for (const auto& s : shards) {
        const SampleRange want = shardRange(s.total, s.batch, s.shard);
        if (s.range.first != want.first || s.range.count != want.count)
            throw Error(s.name() + ": holds samples " + std::to_string(s.range.first) + ".." +
                        std::to_string(s.range.first + s.range.count - 1) + ", but shard " + toString(s.shard) +
                        " of " + std::to_string(s.total) + " samples in batches of " + std::to_string(s.batch) +
                        " is " + std::to_string(want.first) + ".." + std::to_string(want.first + want.count - 1));
        if (s.range.first != next)
            throw Error(s.name() + ": starts at sample " + std::to_string(s.range.first) + " where the shards before end at " +
                        std::to_string(next) + (s.range.first > next ? " (a gap)" : " (an overlap)"));
        next = s.range.first + s.range.count;
    }
    if (next != ref.total)
        throw Error("merge: the shards hold " + std::to_string(next) + " of " + std::to_string(ref.total) + " samples");
    bool mixed = false;
    for (const auto& s : shards) {
        if (valueOr(s.metadata, "device_type") == valueOr(ref.metadata, "device_type")) continue;
        mixed = true;
        if (!options.mixedDevices)
            throw Error(s.name() + ": measured on '" + valueOr(s.metadata, "device_type") + "', " + ref.name() + " on '" +
                        valueOr(ref.metadata, "device_type") +
                        "'; timings from different device types are merged only with --mixed-devices");
    }
    return mixed;
}

/// The merged file's metadata: the shards' common entries, and what each shard was.
std::map<std::string, std::string> mergedMetadata(const std::vector<ShardHeader>& shards, const nlohmann::json& perShard,
                                                  bool mixed) {
    auto m = shards.front().metadata;
    for (const char* key : {"shard", "shard_first", "shard_samples", "host", "created", "format", "format_version"})
        m.erase(key);
    std::set<std::string> devices, threads;
    std::string hosts;
    for (const auto& s : shards) {
        devices.insert(valueOr(s.metadata, "device_type"));
        threads.insert(valueOr(s.metadata, "threads"));
        const auto h = valueOr(s.metadata, "host");
        if (hosts.find(h) == std::string::npos) hosts += (hosts.empty() ? "" : ", ") + h;
    }
    if (mixed) {
        std::string all;
        for (const auto& d : devices) all += (all.empty() ? "" : "; ") + d;
        m["device_type"] = "mixed: " + all;
        m["mixed_devices"] = "true";
    }
    if (threads.size() > 1) m["threads"] = "mixed";
    m["hosts"] = hosts;
    m["shards"] = perShard.dump();
    m["merged_shards"] = std::to_string(shards.size());
    m["created"] = utcTimestamp();
    return m;
}

/// What the merged file's metadata `shards` says of one shard, timings aside.
nlohmann::json shardEntry(const ShardHeader& h) {
    return {{"shard", toString(h.shard)},
            {"first", h.range.first},
            {"samples", h.range.count},
            {"host", valueOr(h.metadata, "host")},
            {"device_type", valueOr(h.metadata, "device_type")},
            {"created", valueOr(h.metadata, "created")}};
}

MergeReport reportOf(const std::string& kind, int64_t samples, const std::vector<ShardHeader>& shards, bool mixed) {
    MergeReport r;
    r.kind = kind;
    r.samples = samples;
    r.shards = static_cast<int64_t>(shards.size());
    for (const auto& h : shards) r.hosts.push_back(valueOr(h.metadata, "host"));
    r.mixedDevices = mixed;
    return r;
}

float median(std::vector<float> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

MergeReport mergeTraces(const std::vector<std::string>& paths, const std::string& outPath, const MergeOptions& options) {
    std::vector<ShardHeader> headers;
    for (const auto& p : paths) {
        auto metadata = headerMetadata(p);
        if (metadata.empty()) metadata = readTrace(p).metadata;  // throws, naming the file and its problem
        headers.push_back(headerOf(p, metadata));
    }
    const bool mixed = checkShardSet(headers, {"model", "model_spec", "weights_hash", "dataset", "split", "split_seed",
                                               "class_names", "total_samples", "batch", "corruption", "corruption_seed"},
                                     options);
    // Read in shard order; each is checked against its header.
    Trace out;
    nlohmann::json perShard = nlohmann::json::array();
    std::vector<std::vector<float>> blockMs, headMs;
    std::set<int64_t> seen;
    for (const auto& h : headers) {
        Trace t = readTrace(h.path);
        if (t.numSamples != h.range.count)
            throw Error(h.name() + ": holds " + std::to_string(t.numSamples) + " samples, its metadata says " +
                        std::to_string(h.range.count));
        if (out.numSamples == 0) {
            out = t;
            out.probs.clear();
            out.gateInputs.clear();
            out.labels.clear();
            out.sampleIndex.clear();
            out.numSamples = 0;
        } else if (t.numExits != out.numExits || t.numClasses != out.numClasses || t.numBlocks != out.numBlocks ||
                   t.gateDim != out.gateDim || t.exitMacs != out.exitMacs || t.blockMacs != out.blockMacs ||
                   t.exitBlock != out.exitBlock || t.gateDims != out.gateDims || t.blockOutBytes != out.blockOutBytes) {
            throw Error(h.name() + ": its exits, blocks or costs differ from " + headers.front().name() + "'s");
        }
        for (auto i : t.sampleIndex)
            if (!seen.insert(i).second) throw Error(h.name() + ": sample " + std::to_string(i) + " is in an earlier shard too");
        out.probs.insert(out.probs.end(), t.probs.begin(), t.probs.end());
        out.gateInputs.insert(out.gateInputs.end(), t.gateInputs.begin(), t.gateInputs.end());
        out.labels.insert(out.labels.end(), t.labels.begin(), t.labels.end());
        out.sampleIndex.insert(out.sampleIndex.end(), t.sampleIndex.begin(), t.sampleIndex.end());
        out.numSamples += t.numSamples;
        blockMs.push_back(t.blockMs);
        headMs.push_back(t.headMs);
        auto entry = shardEntry(h);
        entry["block_ms"] = t.blockMs;
        entry["head_ms"] = t.headMs;
        perShard.push_back(std::move(entry));
    }
    // Timings: the median over shards of each shard's medians, block by block.
    for (std::size_t b = 0; b < out.blockMs.size(); ++b) {
        std::vector<float> v;
        for (const auto& s : blockMs) v.push_back(s[b]);
        out.blockMs[b] = median(v);
    }
    for (std::size_t k = 0; k < out.headMs.size(); ++k) {
        std::vector<float> v;
        for (const auto& s : headMs) v.push_back(s[k]);
        out.headMs[k] = median(v);
    }
    for (std::size_t k = 0; k < out.exitMs.size(); ++k) {
        double ms = 0;
        for (int64_t b = 0; b <= out.exitBlock[k]; ++b) ms += out.blockMs[static_cast<std::size_t>(b)];
        for (std::size_t j = 0; j <= k; ++j) ms += out.headMs[j];
        out.exitMs[k] = static_cast<float>(ms);
    }
    out.metadata = mergedMetadata(headers, perShard, mixed);
    out.metadata["timing"] = "median over " + std::to_string(headers.size()) + " shards of each shard's " +
                             valueOr(headers.front().metadata, "timing");
    writeTrace(out, outPath);
    return reportOf("trace", out.numSamples, headers, mixed);
}

MergeReport mergeSplitProfiles(const std::vector<std::string>& paths, const std::string& outPath,
                               const MergeOptions& options) {
    std::vector<SplitsMeasurement> parts;
    std::vector<ShardHeader> headers;
    for (const auto& p : paths) {
        parts.push_back(readSplitsFile(p));
        headers.push_back(headerOf(p, parts.back().metadata));
    }
    const bool mixed = checkShardSet(headers, {"model", "weights_hash", "dataset", "split", "split_seed", "codec_mode",
                                               "total_samples", "batch", "corruption", "corruption_seed"},
                                     options);
    std::map<std::string, const SplitsMeasurement*> byPath;
    for (std::size_t i = 0; i < paths.size(); ++i) byPath[paths[i]] = &parts[i];
    const SplitsMeasurement& first = *byPath.at(headers.front().path);
    const std::size_t S = first.splitBlock.size();
    SplitsMeasurement out;
    out.splitBlock = first.splitBlock;
    out.rawBytes = first.rawBytes;
    out.correctAfter.assign(S, 0);
    out.agreeing.assign(S, 0);
    out.encodeMsSum.assign(S, 0.0);
    out.decodeMsSum.assign(S, 0.0);
    std::vector<std::vector<int64_t>> rows(S);
    nlohmann::json perShard = nlohmann::json::array();
    for (const auto& h : headers) {
        const SplitsMeasurement& m = *byPath.at(h.path);
        if (m.numSamples != h.range.count)
            throw Error(h.name() + ": holds " + std::to_string(m.numSamples) + " samples, its metadata says " +
                        std::to_string(h.range.count));
        if (m.splitBlock != first.splitBlock || m.rawBytes != first.rawBytes)
            throw Error(h.name() + ": its split candidates differ from " + headers.front().name() + "'s");
        const auto n = static_cast<std::size_t>(m.numSamples);
        std::vector<double> enc, dec;
        for (std::size_t c = 0; c < S; ++c) {
            rows[c].insert(rows[c].end(), m.encodedBytes.begin() + static_cast<std::ptrdiff_t>(c * n),
                           m.encodedBytes.begin() + static_cast<std::ptrdiff_t>((c + 1) * n));
            out.correctAfter[c] += m.correctAfter[c];
            out.agreeing[c] += m.agreeing[c];
            out.encodeMsSum[c] += m.encodeMsSum[c];
            out.decodeMsSum[c] += m.decodeMsSum[c];
            enc.push_back(m.encodeMsSum[c] / static_cast<double>(n));
            dec.push_back(m.decodeMsSum[c] / static_cast<double>(n));
        }
        out.correctWithout += m.correctWithout;
        out.numSamples += m.numSamples;
        auto entry = shardEntry(h);
        entry["encode_ms"] = enc;
        entry["decode_ms"] = dec;
        perShard.push_back(std::move(entry));
    }
    for (auto& r : rows) out.encodedBytes.insert(out.encodedBytes.end(), r.begin(), r.end());
    out.metadata = mergedMetadata(headers, perShard, mixed);
    out.metadata.erase("samples");
    writeSplitsFile(out, outPath);
    return reportOf("split profile", out.numSamples, headers, mixed);
}

} // namespace

MergeReport mergeShards(const std::vector<std::string>& shardPaths, const std::string& outPath,
                        const MergeOptions& options) {
    if (shardPaths.empty()) throw Error("merge: no shard files given");
    for (const auto& p : shardPaths)
        if (p == outPath) throw Error("merge: --out " + outPath + " is one of the shards; write the merge to another file");
    const std::string format = formatOf(shardPaths.front());
    for (const auto& p : shardPaths) {
        const std::string f = formatOf(p);
        if (f != format && !f.empty() && !format.empty())
            throw Error(p + ": " + kindOf(f) + " among the shards of " + kindOf(format) + " (" + shardPaths.front() + ")");
    }
    if (format == "exitscope-splits") return mergeSplitProfiles(shardPaths, outPath, options);
    return mergeTraces(shardPaths, outPath, options);
}

} // namespace exitscope::core
