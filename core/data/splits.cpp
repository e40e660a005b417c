#include "core/data/splits.h"

#include "core/common/error.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <utility>

namespace exitscope::core {

namespace {

// A uniform draw from [0, range). The engine's output is fixed by the
// standard, but std::uniform_int_distribution's mapping is not, so the
// mapping is ours: reject the low 2^64 mod range values, then reduce.
uint64_t boundedDraw(std::mt19937_64& rng, uint64_t range) {
    const uint64_t threshold = (0 - range) % range;
    for (;;) {
        const uint64_t x = rng();
        if (x >= threshold) return x % range;
    }
}

} // namespace

std::vector<int64_t> seededPermutation(int64_t n, uint64_t seed) {
    if (n < 0) throw Error("cannot permute a negative count " + std::to_string(n));
    std::vector<int64_t> perm(static_cast<std::size_t>(n));
    std::iota(perm.begin(), perm.end(), int64_t{0});
    std::mt19937_64 rng(seed);
    for (int64_t i = n - 1; i > 0; --i) {
        const auto j = static_cast<int64_t>(boundedDraw(rng, static_cast<uint64_t>(i) + 1));
        std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
    }
    return perm;
}

void carveValidation(Dataset& d, int64_t numVal, uint64_t seed) {
    const auto numTrain = static_cast<int64_t>(d.trainImages.size());
    if (numVal < 0 || numVal >= numTrain) {
        throw Error(d.name + ": validation size " + std::to_string(numVal) +
                    " (--val) must be at least 0 and less than the " + std::to_string(numTrain) +
                    " train images");
    }
    std::vector<int64_t> perm = seededPermutation(numTrain, seed);
    d.valIndices.assign(perm.begin(), perm.begin() + numVal);
    d.trainIndices.assign(perm.begin() + numVal, perm.end());
    std::sort(d.valIndices.begin(), d.valIndices.end());
    std::sort(d.trainIndices.begin(), d.trainIndices.end());
    d.testIndices.resize(d.testImages.size());
    std::iota(d.testIndices.begin(), d.testIndices.end(), int64_t{0});
    d.seed = seed;
}

} // namespace exitscope::core
