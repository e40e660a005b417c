#pragma once

// Small helpers the benchmark programs share.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace exitscope::bench {

/// Runs `body` once per benchmark iteration and returns the median
/// microseconds of one run (also reported as the counter "median_us").
template <typename Body>
double medianMicros(benchmark::State& state, Body body) {
    std::vector<double> us;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        body();
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::nth_element(us.begin(), us.begin() + static_cast<std::ptrdiff_t>(us.size() / 2), us.end());
    const double median = us[us.size() / 2];
    state.counters["median_us"] = median;
    return median;
}

/// Removes "--name VALUE" from argv (so Google Benchmark never sees it) and
/// returns VALUE, or `fallback` when the option is absent.
inline std::string takeOption(int& argc, char** argv, const char* name, const std::string& fallback) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], name) != 0) continue;
        std::string value = argv[i + 1];
        for (int j = i; j + 2 <= argc; ++j) argv[j] = argv[j + 2];
        argc -= 2;
        return value;
    }
    return fallback;
}

/// Removes "--name" from argv and says whether it was there.
inline bool takeFlag(int& argc, char** argv, const char* name) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], name) != 0) continue;
        for (int j = i; j + 1 <= argc; ++j) argv[j] = argv[j + 1];
        argc -= 1;
        return true;
    }
    return false;
}

} // namespace exitscope::bench
