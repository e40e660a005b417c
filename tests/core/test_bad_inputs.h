#pragma once
// The bad-input matrix's shared machinery (docs/reliability.md): one case is
// a file's bytes and what reading it must do. The runner writes the bytes to
// <temp>/exitscope-corrupt-<pid>/<format>/<case>, reads them with the
// format's reader and checks that the result is a core::Error naming the
// file and the problem (or, for cases marked mayLoad, a clean load), within
// a time limit and without any single allocation larger than the file can
// justify. Include this header from exactly one file per test executable,
// and put EXITSCOPE_ALLOCATION_PROBE() in that file once.

#include "core/common/error.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <new>
#include <string>
#include <vector>

#include <unistd.h>

namespace exitscope::testing {

/// The largest single operator-new request since reset(), while enabled.
/// Readers allocate their buffers through std::vector, so this sees the
/// allocation a lying size would drive.
struct AllocationProbe {
    static std::atomic<bool>& enabled() { static std::atomic<bool> e{false}; return e; }
    static std::atomic<std::size_t>& largest() { static std::atomic<std::size_t> l{0}; return l; }
    static void note(std::size_t n) {
        if (!enabled().load(std::memory_order_relaxed)) return;
        std::size_t prev = largest().load(std::memory_order_relaxed);
        while (n > prev && !largest().compare_exchange_weak(prev, n)) {
        }
    }
};

/// One cell of the matrix.
struct BadInput {
    std::string name;             ///< test name suffix: letters, digits and '_'
    std::vector<uint8_t> bytes;   ///< the file
    std::string fragment;         ///< what the Error must say (besides the file name)
    bool mayLoad = false;         ///< a mutation that can leave a valid file: Error or a clean load
};

/// gtest prints a case by its name, not its bytes.
inline void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name << " (" << c.bytes.size() << " bytes)"; }

inline std::vector<uint8_t> bytesOf(const std::string& text) { return {text.begin(), text.end()}; }

inline std::vector<uint8_t> truncated(const std::vector<uint8_t>& b, std::size_t n) {
    return {b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min(n, b.size()))};
}

inline std::vector<uint8_t> flipped(std::vector<uint8_t> b, std::size_t byte, int bit) {
    b.at(byte) ^= static_cast<uint8_t>(1u << bit);
    return b;
}

/// Truncations at several points: nothing, 1 byte, a quarter, half, three
/// quarters and all but the last byte.
inline std::vector<BadInput> truncations(const std::vector<uint8_t>& good, const std::string& fragment) {
    std::vector<BadInput> out;
    for (std::size_t n : {std::size_t{1}, good.size() / 4, good.size() / 2, good.size() * 3 / 4, good.size() - 1}) {
        out.push_back({"truncated_to_" + std::to_string(n), truncated(good, n), fragment});
    }
    return out;
}

/// `count` single-bit flips at positions spread evenly over the file (any
/// outcome but a clean Error or load is a failure).
inline std::vector<BadInput> bitFlips(const std::vector<uint8_t>& good, std::size_t count) {
    std::vector<BadInput> out;
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t byte = (good.size() - 1) * i / (count - 1);
        const int bit = static_cast<int>((i * 3) % 8);
        out.push_back({"bit_flip_" + std::to_string(byte) + "_" + std::to_string(bit), flipped(good, byte, bit), "",
                       true});
    }
    return out;
}

inline std::string caseName(const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; }

/// Writes the case's file and runs `read` on its path.
/// `relativePath` places the file below the format's folder (default: the case name).
inline void expectCleanError(const std::string& format, const BadInput& c,
                             const std::function<void(const std::string&)>& read, std::string relativePath = "") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("exitscope-corrupt-" + std::to_string(::getpid())) / format;
    const std::string path = (dir / (relativePath.empty() ? c.name : relativePath)).string();
    fs::create_directories(fs::path(path).parent_path());
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(c.bytes.data()), static_cast<std::streamsize>(c.bytes.size()));
    }
    AllocationProbe::largest() = 0;
    AllocationProbe::enabled() = true;
    const auto start = std::chrono::steady_clock::now();
    bool loaded = false;
    std::string message;
    try {
        read(path);
        loaded = true;
    } catch (const core::Error& e) {
        message = e.what();
    } catch (const std::exception& e) {
        AllocationProbe::enabled() = false;
        FAIL() << "not a core::Error: " << e.what();
    }
    AllocationProbe::enabled() = false;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (loaded) {
        EXPECT_TRUE(c.mayLoad) << "no Error for " << c.name;
    } else {
        EXPECT_NE(message.find(path), std::string::npos) << message;
        EXPECT_NE(message.find(c.fragment), std::string::npos) << message;
    }
    EXPECT_LT(seconds, 2.0) << "reading took too long";
    // The justified allocation: a few copies of the file, and the codec's
    // 256x blosc expansion limit, with 1 MiB to spare for bookkeeping.
    const std::size_t justified = (std::size_t{1} << 20) + 300 * c.bytes.size();
    EXPECT_LE(AllocationProbe::largest().load(), justified) << "largest single allocation";
    fs::remove(path);
}

} // namespace exitscope::testing

/// Replaces every unaligned global operator new and delete with malloc and
/// free plus the probe (all of them: a sanitizer runtime supplies its own
/// of any form left out, and its delete must not meet this new). GCC's
/// -Wmismatched-new-delete sees free() in an inlined operator delete; the
/// pairs are matched by construction here.
#define EXITSCOPE_ALLOCATION_PROBE()                                                          \
    _Pragma("GCC diagnostic push")                                                            \
    _Pragma("GCC diagnostic ignored \"-Wpragmas\"")                                           \
    _Pragma("GCC diagnostic ignored \"-Wmismatched-new-delete\"")                             \
    namespace exitscope::testing {                                                            \
    inline void* probedMalloc(std::size_t n) noexcept {                                       \
        AllocationProbe::note(n);                                                             \
        return std::malloc(n ? n : 1);                                                        \
    }                                                                                         \
    }                                                                                         \
    void* operator new(std::size_t n) {                                                       \
        if (void* p = exitscope::testing::probedMalloc(n)) return p;                          \
        throw std::bad_alloc();                                                               \
    }                                                                                         \
    void* operator new[](std::size_t n) {                                                     \
        if (void* p = exitscope::testing::probedMalloc(n)) return p;                          \
        throw std::bad_alloc();                                                               \
    }                                                                                         \
    void* operator new(std::size_t n, const std::nothrow_t&) noexcept {                       \
        return exitscope::testing::probedMalloc(n);                                           \
    }                                                                                         \
    void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {                     \
        return exitscope::testing::probedMalloc(n);                                           \
    }                                                                                         \
    void operator delete(void* p) noexcept { std::free(p); }                                  \
    void operator delete[](void* p) noexcept { std::free(p); }                                \
    void operator delete(void* p, std::size_t) noexcept { std::free(p); }                     \
    void operator delete[](void* p, std::size_t) noexcept { std::free(p); }                   \
    void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }           \
    void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }         \
    _Pragma("GCC diagnostic pop")
