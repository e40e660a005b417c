// libFuzzer target: the elastic planner's user inputs, a CSV of measured
// forced-exit times (ForcedExitDistribution::loadCsv) and a distribution
// spec ("uniform:A,B", ...; ForcedExitDistribution::parse) on the same
// bytes. A distribution that loads must answer sanely: a finite, non-negative
// mean and plot range, P(T >= t) in [0, 1] and never rising with t, and
// finite non-negative draws.
#include "core/common/error.h"
#include "core/elastic/distribution.h"
#include "fuzz/fuzz_input.h"

#include <cmath>
#include <random>
#include <string>

namespace {

void checkAnswers(const exitscope::core::ForcedExitDistribution& d) {
    const auto [low, high] = d.plotRange();
    if (!std::isfinite(low) || !std::isfinite(high) || low < 0.0 || high < low) __builtin_trap();
    if (!std::isfinite(d.mean()) || d.mean() < 0.0) __builtin_trap();
    double previous = 1.0;
    for (int i = 0; i <= 8; ++i) {
        const double t = low + (high - low) * i / 8.0;
        const double p = d.probabilityAtLeast(t);
        if (!(p >= 0.0 && p <= 1.0) || p > previous + 1e-12) __builtin_trap();
        previous = p;
        const double density = d.density(t);
        if (!std::isfinite(density) || density < 0.0) __builtin_trap();
    }
    std::mt19937_64 rng(1);
    for (int i = 0; i < 4; ++i) {
        const double s = d.sample(rng);
        if (!std::isfinite(s) || s < 0.0) __builtin_trap();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    using exitscope::core::ForcedExitDistribution;
    const exitscope::fuzz::MemFile file(data, size);
    try {
        checkAnswers(ForcedExitDistribution::loadCsv(file.path()));
    } catch (const exitscope::core::Error&) {
    }
    const std::string spec(reinterpret_cast<const char*>(data), size);
    // "csv:PATH" would read whatever file the bytes name; the CSV reader is fuzzed above.
    if (spec.rfind("csv:", 0) != 0) {
        try {
            checkAnswers(ForcedExitDistribution::parse(spec));
        } catch (const exitscope::core::Error&) {
        }
    }
    return 0;
}
