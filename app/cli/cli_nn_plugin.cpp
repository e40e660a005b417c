// exitscope-cli's network part (libexitscope_cli_nn.so): every command that
// runs a network, loaded by cli_main.cpp only when one is asked for.
#include "app/cli/cli_commands.h"
#include "core/common/allocator.h"

#include <string>
#include <vector>

extern "C" __attribute__((visibility("default"))) int exitscope_cli_nn_main(const char* command, int argc,
                                                                          const char* const* argv) {
    using namespace exitscope;
    core::keepFreedMemoryForReuse();
    const std::string cmd = command;
    const std::vector<std::string> args(argv, argv + argc);
    return app::runGuarded(cmd, [&]() -> int {
        if (cmd == "train") return app::runTrain(args);
        if (cmd == "profile") return app::runProfile(args);
        if (cmd == "run") return app::runExecute(args);
        if (cmd == "export") return app::runExport(args);
        if (cmd == "info") return app::runInfo(args);
        if (cmd == "profile-splits") return app::runProfileSplits(args);
        if (cmd == "split-run") return app::runSplitRun(args);
        if (cmd == "split-serve") return app::runSplitServe(args);
        if (cmd == "inspect") return app::runInspect(args);
        if (cmd == "explain") return app::runExplain(args);
        return 2;
    });
}
