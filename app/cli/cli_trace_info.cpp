// `exitscope-cli info TRACE`: a trace's shape, metadata and per-exit figures,
// without loading LibTorch.
#include "app/cli/cli_commands.h"
#include "core/common/error.h"
#include "core/common/format.h"
#include "core/policy/confidence.h"
#include "core/profile/splits_file.h"
#include "core/trace/safetensors.h"
#include "core/trace/trace.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include <sys/stat.h>

namespace exitscope::app {

bool isTraceInfo(const std::vector<std::string>& args) {
    if (args.size() != 1) return false;
    // Anything but a regular file (a FIFO would block the read below, a
    // path may be too long to examine) goes to the trace reader, whose
    // error names it without loading LibTorch.
    struct stat info {};
    if (::stat(args[0].c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return true;
    // safetensors: an 8-byte header length, then the JSON header.
    std::ifstream in(args[0], std::ios::binary);
    unsigned char len[8] = {};
    char brace = 0;
    if (!in.read(reinterpret_cast<char*>(len), 8) || !in.get(brace)) return false;
    return brace == '{';
}

namespace {

/// A file's metadata, the `shards` list of a merged file as one line per shard.
void printMetadata(const std::map<std::string, std::string>& metadata) {
    const auto mixed = metadata.find("mixed_devices");
    if (mixed != metadata.end() && mixed->second == "true")
        std::printf("  warning: timings merged from shards measured on different device types (merge --mixed-devices)\n");
    for (const auto& [k, v] : metadata) {
        if (k == "shards") {
            const auto shards = nlohmann::json::parse(v, nullptr, false);
            if (shards.is_array()) {
                std::printf("  shards: %zu\n", shards.size());
                for (const auto& s : shards) {
                    if (!s.is_object()) continue;
                    const auto text = [&](const char* key) {
                        return s.contains(key) && s[key].is_string() ? s[key].get<std::string>() : std::string("?");
                    };
                    const auto count = [&](const char* key) {
                        return s.contains(key) && s[key].is_number_integer() ? s[key].get<long long>() : -1LL;
                    };
                    std::printf("    %s: samples %lld..%lld on %s (%s)\n", core::printable(text("shard")).c_str(),
                                count("first"), count("first") + count("samples") - 1, core::printable(text("host")).c_str(),
                                core::printable(text("device_type")).c_str());
                }
                continue;
            }
        }
        // Metadata is the file's text: shown with its control characters escaped.
        std::printf("  %s: %s\n", core::printable(k).c_str(), core::printable(v).c_str());
    }
}

int splitsInfo(const std::string& path) {
    const auto m = core::readSplitsFile(path);
    const auto s = core::summarise(m);
    std::printf("split profile %s: %lld samples, %zu split candidates\n", core::printable(path).c_str(),
                static_cast<long long>(m.numSamples), m.splitBlock.size());
    printMetadata(m.metadata);
    std::printf("%-6s %10s %12s %12s %9s %9s %10s\n", "block", "fp32 B", "mean enc B", "p95 enc B", "enc ms", "dec ms",
                "acc after");
    for (std::size_t c = 0; c < m.splitBlock.size(); ++c)
        std::printf("%-6lld %10lld %12.0f %12.0f %9.4f %9.4f %9.2f%%\n", static_cast<long long>(m.splitBlock[c]),
                    static_cast<long long>(m.rawBytes[c]), s.meanBytes[c], s.p95Bytes[c], s.encodeMs[c], s.decodeMs[c],
                    100 * s.accuracyAfter[c]);
    return 0;
}

} // namespace

int runTraceInfo(const std::vector<std::string>& args) {
    const std::string& path = args.at(0);
    {
        const auto file = core::SafeTensorsFile::read(path);
        const auto format = file.metadata().find("format");
        if (format != file.metadata().end() && format->second == "exitscope-splits") return splitsInfo(path);
    }
        const auto t = core::readTrace(path);
        std::printf("trace %s: %lld samples, %lld exits, %lld classes, %lld blocks, gate dim %lld\n",
                    core::printable(path).c_str(),
                    static_cast<long long>(t.numSamples), static_cast<long long>(t.numExits),
                    static_cast<long long>(t.numClasses), static_cast<long long>(t.numBlocks),
                    static_cast<long long>(t.gateDim));
        printMetadata(t.metadata);
        std::printf("%-6s %14s %12s %10s %10s\n", "exit", "cum. MACs", "cum. params", "ms", "accuracy");
        const auto accuracy = core::perExitAccuracy(t);
        for (int64_t k = 0; k < t.numExits; ++k) {
            std::printf("%-6lld %14lld %12lld %10.4f %9.2f%%\n", static_cast<long long>(k),
                        static_cast<long long>(t.exitMacs[static_cast<std::size_t>(k)]),
                        static_cast<long long>(t.exitParams[static_cast<std::size_t>(k)]),
                        t.exitMs[static_cast<std::size_t>(k)], 100.0 * accuracy[static_cast<std::size_t>(k)]);
        }
        return 0;
    }

} // namespace exitscope::app
