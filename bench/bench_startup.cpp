// Start-up of the desktop app, timed from process start (issue 14): the
// first painted frame (goal < 0.5 s) and the bundled default model fully
// shown (goal < 1.5 s), with the network library (LibTorch) loaded only after
// the first frame. Side by side in the same run: `exitscope-cli --help`,
// which loads LibTorch before main(), i.e. what every start paid before.
//
// usage: bench_startup [--app PATH] [--cli PATH] [benchmark flags]
// Each iteration forks and execs the program and reads its output on a
// pipe; the time runs from just before fork to the line's arrival. Without
// a display the app runs on Qt's offscreen platform.

#include <benchmark/benchmark.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string g_app = EXITSCOPE_APP_PATH;
std::string g_cli = EXITSCOPE_CLI_PATH;

using Clock = std::chrono::steady_clock;

/// Runs `argv`, returns the seconds from fork to each output line that
/// contains one of `marks` (negative: never seen), and to the exit.
std::vector<double> timeRun(const std::vector<std::string>& argv, const std::vector<std::string>& marks) {
    int fds[2];
    if (pipe(fds) != 0) return {};
    const auto start = Clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        // The programs' own warnings would mix into the table.
        if (FILE* null = std::fopen("/dev/null", "w")) dup2(fileno(null), STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(fds[1]);
    std::vector<double> seen(marks.size() + 1, -1.0);
    std::string buffer;
    char chunk[4096];
    ssize_t n;
    while ((n = read(fds[0], chunk, sizeof chunk)) > 0) {
        const double t = std::chrono::duration<double>(Clock::now() - start).count();
        buffer.append(chunk, static_cast<std::size_t>(n));
        for (std::size_t i = 0; i < marks.size(); ++i)
            if (seen[i] < 0 && buffer.find(marks[i]) != std::string::npos) seen[i] = t;
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    seen.back() = std::chrono::duration<double>(Clock::now() - start).count();
    return seen;
}

void BM_AppFirstFrame(benchmark::State& state) {
    double model = 0, frames = 0;
    for (auto _ : state) {
        const auto t = timeRun({g_app, "--startup-time", "--quit-after-load"},
                               {"exitscope: first frame", "exitscope: model shown"});
        if (t.size() != 3 || t[0] < 0 || t[1] < 0) {
            state.SkipWithError("the app printed no start-up times (is it built, is there a display?)");
            return;
        }
        state.SetIterationTime(t[0]);
        model += t[1];
        ++frames;
    }
    state.counters["model_shown_ms"] = 1e3 * model / frames;
}
BENCHMARK(BM_AppFirstFrame)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(7);

void BM_AppModelShown(benchmark::State& state) {
    for (auto _ : state) {
        const auto t = timeRun({g_app, "--startup-time", "--quit-after-load"}, {"exitscope: model shown"});
        if (t.size() != 2 || t[0] < 0) {
            state.SkipWithError("the app printed no start-up times");
            return;
        }
        state.SetIterationTime(t[0]);
    }
}
BENCHMARK(BM_AppModelShown)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(7);

void BM_AppVersion(benchmark::State& state) {
    for (auto _ : state) state.SetIterationTime(timeRun({g_app, "--version"}, {}).back());
}
BENCHMARK(BM_AppVersion)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(7);

// What LibTorch linked into a program costs before main(): the old start-up floor.
void BM_CliHelpLoadsLibTorch(benchmark::State& state) {
    for (auto _ : state) state.SetIterationTime(timeRun({g_cli, "--help"}, {}).back());
}
BENCHMARK(BM_CliHelpLoadsLibTorch)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(7);

} // namespace

int main(int argc, char** argv) {
    std::vector<char*> rest{argv[0]};
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--app") && i + 1 < argc) {
            g_app = argv[++i];
        } else if (!std::strcmp(argv[i], "--cli") && i + 1 < argc) {
            g_cli = argv[++i];
        } else {
            rest.push_back(argv[i]);
        }
    }
    if (!std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY") && !std::getenv("QT_QPA_PLATFORM"))
        setenv("QT_QPA_PLATFORM", "offscreen", 1);
    int n = static_cast<int>(rest.size());
    benchmark::Initialize(&n, rest.data());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
