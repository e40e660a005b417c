// `exitscope-cli merge --out FILE SHARD...`: one trace or split profile from
// the shards of `profile --shard I/N` or `profile-splits --shard I/N`, run
// anywhere (scripts/slurm/profile.sbatch runs it as the array's last job).
// It reads only safetensors files, so it does not load LibTorch.
#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "core/common/error.h"
#include "core/profile/merge.h"

#include <cstdio>

namespace exitscope::app {

int runMerge(const std::vector<std::string>& argv) {
    // Options go to CliArgs (which names a bad one); the rest are shard files.
    std::vector<std::string> options, shards;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        if (argv[i].rfind("--", 0) == 0) {
            options.push_back(argv[i]);
            if (argv[i] == "--out" && i + 1 < argv.size()) options.push_back(argv[++i]);
        } else {
            shards.push_back(argv[i]);
        }
    }
    const CliArgs args(options, "merge");
    const std::string out = args.require("out");
    if (shards.empty()) throw core::Error("no shard files given (exitscope-cli merge --out FILE SHARD...)");
    core::MergeOptions mo;
    mo.mixedDevices = args.has("mixed-devices");
    const auto r = core::mergeShards(shards, out, mo);
    std::string hosts;
    for (const auto& h : r.hosts)
        if (hosts.find(h) == std::string::npos) hosts += (hosts.empty() ? "" : ", ") + h;
    std::printf("wrote %s: a %s of %lld samples from %lld shards (measured on %s)\n", out.c_str(), r.kind.c_str(),
                static_cast<long long>(r.samples), static_cast<long long>(r.shards), hosts.c_str());
    if (r.mixedDevices)
        std::printf("warning: timings merged from different device types (--mixed-devices); 'info %s' lists them\n",
                    out.c_str());
    return 0;
}

} // namespace exitscope::app
