// `exitscope-cli info TRACE`: a trace's shape, metadata and per-exit figures,
// without loading LibTorch.
#include "app/cli/cli_commands.h"
#include "core/common/error.h"
#include "core/common/format.h"
#include "core/policy/confidence.h"
#include "core/trace/trace.h"

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

int runTraceInfo(const std::vector<std::string>& args) {
    const std::string& path = args.at(0);
        const auto t = core::readTrace(path);
        std::printf("trace %s: %lld samples, %lld exits, %lld classes, %lld blocks, gate dim %lld\n",
                    core::printable(path).c_str(),
                    static_cast<long long>(t.numSamples), static_cast<long long>(t.numExits),
                    static_cast<long long>(t.numClasses), static_cast<long long>(t.numBlocks),
                    static_cast<long long>(t.gateDim));
        // Metadata is the file's text: shown with its control characters escaped.
        for (const auto& [k, v] : t.metadata)
            std::printf("  %s: %s\n", core::printable(k).c_str(), core::printable(v).c_str());
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
