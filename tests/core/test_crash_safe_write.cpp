// Crash-safe writing: a writer killed in the middle of a write (SIGKILL, no
// chance to clean up) must leave the previous file byte for byte intact.
#include "core/common/atomic_file.h"
#include "core/trace/trace.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using namespace exitscope::core;

namespace {

std::vector<char> bytesOf(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Runs `write` in a child process that tells the parent (through a pipe)
/// once it is in the middle of writing, then kills it with SIGKILL.
void killMidWrite(const std::function<void(int notifyFd)>& write) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::close(fds[0]);
        write(fds[1]);
        ::_exit(0);  // not reached: the parent kills us first
    }
    ::close(fds[1]);
    char c = 0;
    ASSERT_EQ(::read(fds[0], &c, 1), 1);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("exitscope_kill_" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

} // namespace

TEST(CrashSafeWrite, AWriterKilledMidWriteLeavesThePreviousFileIntact) {
    TempDir dir;
    const fs::path target = dir.path / "config.json";
    writeFileAtomically(target.string(), [](std::ostream& out) { out << "{\"schema\": 1, \"previous\": true}\n"; });
    const auto before = bytesOf(target);

    killMidWrite([&](int notify) {
        writeFileAtomically(target.string(), [&](std::ostream& out) {
            const std::string chunk(64 * 1024, 'x');
            for (int i = 0;; ++i) {
                out << chunk;
                out.flush();
                if (i == 16) {  // 1 MiB is on disk in the temporary file
                    const char c = 1;
                    (void)::write(notify, &c, 1);
                }
                if (i > 16) std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        });
    });
    EXPECT_EQ(bytesOf(target), before);
    // The killed writer's temporary file is what it left; the target never saw it.
    bool sawTemporary = false;
    for (const auto& e : fs::directory_iterator(dir.path))
        if (e.path().filename().string().rfind("config.json.tmp-", 0) == 0) sawTemporary = fs::file_size(e.path()) >= 1 << 20;
    EXPECT_TRUE(sawTemporary);
}

TEST(CrashSafeWrite, ATraceWriterKilledMidWriteLeavesThePreviousTraceIntact) {
    TempDir dir;
    const fs::path target = dir.path / "t.safetensors";
    auto make = [](int64_t n) {
        Trace t;
        t.numSamples = n;
        t.numExits = 2;
        t.numClasses = 2;
        t.numBlocks = 2;
        for (int64_t i = 0; i < n; ++i) {
            t.labels.push_back(i % 2);
            t.sampleIndex.push_back(i);
            for (int k = 0; k < 2; ++k) {
                t.probs.push_back(0.75f);
                t.probs.push_back(0.25f);
            }
        }
        t.exitMacs = {10, 20};
        t.exitParams = {1, 2};
        t.exitMs = {0.1f, 0.2f};
        t.exitBlock = {0, 1};
        t.blockMacs = {10, 10};
        t.blockParams = {1, 1};
        t.blockMs = {0.1f, 0.1f};
        t.blockOutBytes = {16, 8};
        t.blockRelu = {1, 1};
        t.headMacs = {0, 0};
        t.headParams = {0, 0};
        t.headMs = {0.f, 0.f};
        return t;
    };
    writeTrace(make(10), target.string());
    const auto before = bytesOf(target);
    // The child writes a big trace; it is killed once the temporary file is growing.
    killMidWrite([&](int notify) {
        std::thread watcher([&] {
            for (;;) {
                for (const auto& e : fs::directory_iterator(dir.path)) {
                    std::error_code ec;
                    if (e.path() != target && fs::file_size(e.path(), ec) > (1u << 20)) {
                        const char c = 1;
                        (void)::write(notify, &c, 1);
                        for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
                    }
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        });
        const auto big = make(4'000'000);
        for (;;) writeTrace(big, target.string());  // killed during one of these
    });
    EXPECT_TRUE(bytesOf(target) == before || readTrace(target.string()).numSamples == 4'000'000);
}
