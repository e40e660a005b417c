#include "app/cli/cli_commands.h"
#include "app/cli/cli_help.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {


} // namespace

namespace exitscope::app {

namespace {

// Commands that run networks live in libexitscope_cli_nn.so: the program
// itself does not link LibTorch (about a second to load), so trace-only
// commands start at once.
const char* const kNetworkCommands[] = {"train", "profile", "run", "profile-splits", "split-run", "split-serve",
                                        "inspect", "info", "export", "explain"};

using NetworkMain = int (*)(const char* command, int argc, const char* const* argv);

std::string pluginPath() {
    if (const char* configured = std::getenv("EXITSCOPE_CLI_NN_PLUGIN")) return configured;
    const char* name = "libexitscope_cli_nn.so";
    std::vector<std::string> candidates;
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        const std::string exe(self, static_cast<std::size_t>(n));
        const std::string dir = exe.substr(0, exe.rfind('/') + 1);
        candidates.push_back(dir + name);
        candidates.push_back(dir + "../lib/exitscope/" + name);
    }
    candidates.push_back(EXITSCOPE_CLI_NN_BUILD_PATH);
    for (const auto& c : candidates)
        if (::access(c.c_str(), R_OK) == 0) return c;
    return candidates.front();
}

int runNetworkCommand(const std::string& command, const std::vector<std::string>& args) {
    const std::string path = pluginPath();
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        std::cerr << "exitscope-cli " << command << ": error: " << path
                  << ": the network part of exitscope-cli does not load: " << ::dlerror() << "\n";
        return 1;
    }
    auto entry = reinterpret_cast<NetworkMain>(::dlsym(handle, "exitscope_cli_nn_main"));
    if (!entry) {
        std::cerr << "exitscope-cli " << command << ": error: " << path << ": not exitscope-cli's network part\n";
        return 1;
    }
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    // Never unloaded: LibTorch's static state lives until the process ends.
    return entry(command.c_str(), static_cast<int>(argv.size()), argv.data());
}

} // namespace

} // namespace exitscope::app

int main(int argc, char** argv) {
    using namespace exitscope;
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        (argc < 2 ? std::cerr : std::cout) << app::formatUsage();
        return argc < 2 ? 2 : 0;
    }
    std::string command = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    if (command == "help") {
        if (args.empty()) {
            std::cout << app::formatUsage();
            return 0;
        }
        command = args.front();
        args = {"--help"};
    }
    // A command's help needs neither its other options nor the network part.
    if (app::asksForHelp(args)) {
        if (const auto* help = app::findCommandHelp(command)) {
            std::cout << app::formatCommandHelp(*help);
            return 0;
        }
    }
    // info on a trace needs no network.
    if (command == "info" && app::isTraceInfo(args)) return app::runGuarded(command, [&] { return app::runTraceInfo(args); });
    for (const char* c : app::kNetworkCommands)
        if (command == c) return app::runNetworkCommand(command, args);
    return app::runGuarded(command, [&]() -> int {
        if (command == "eval") return app::runEval(args);
        if (command == "tune") return app::runTune(args);
        if (command == "sweep") return app::runSweep(args);
        if (command == "calibrate") return app::runCalibrate(args);
        if (command == "simulate") return app::runSimulate(args);
        if (command == "elastic") return app::runElastic(args);
        if (command == "merge") return app::runMerge(args);
        std::cerr << "exitscope-cli: unknown command '" << command << "' (exitscope-cli --help lists the commands)\n";
        return 2;
    });
}
