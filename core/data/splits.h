#pragma once

#include "core/data/dataset.h"

#include <cstdint>
#include <vector>

namespace exitscope::core {

/// A permutation of 0..n-1 that depends only on n and seed, identical on
/// every platform and standard library: std::mt19937_64 seeded with seed
/// drives a Fisher-Yates shuffle (from the last position down) whose bounded
/// draws are unbiased by rejection. Throws Error when n < 0.
std::vector<int64_t> seededPermutation(int64_t n, uint64_t seed);

/// Fills d.valIndices with numVal train images chosen by the seed (the first
/// numVal of seededPermutation), d.trainIndices with the rest, both sorted
/// ascending, d.testIndices with 0..test-1, and d.seed. Throws Error unless
/// 0 <= numVal < the number of train images.
void carveValidation(Dataset& d, int64_t numVal, uint64_t seed);

} // namespace exitscope::core
