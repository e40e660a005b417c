// exactNumber: integers as integers, everything else reading back exactly.
#include "core/common/format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

using exitscope::core::exactNumber;

TEST(ExactNumber, IntegersAreWrittenAsIntegers) {
    EXPECT_EQ(exactNumber(16494272.0), "16494272");
    EXPECT_EQ(exactNumber(2384900.0), "2384900");
    EXPECT_EQ(exactNumber(0.0), "0");
    EXPECT_EQ(exactNumber(-7.0), "-7");
    EXPECT_EQ(exactNumber(9007199254740992.0), "9007199254740992");
}

TEST(ExactNumber, FractionsAreTheShortestFormThatReadsBack) {
    EXPECT_EQ(exactNumber(0.1), "0.1");
    EXPECT_EQ(exactNumber(0.921), "0.921");
    EXPECT_EQ(exactNumber(2.5e-7), "2.5e-07");
    EXPECT_EQ(exactNumber(std::nan("")), "nan");
    EXPECT_EQ(exactNumber(std::numeric_limits<double>::infinity()), "inf");
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-1e9, 1e9);
    for (int i = 0; i < 10000; ++i) {
        const double v = u(rng) / (1 + (rng() % 1000));
        EXPECT_EQ(std::strtod(exactNumber(v).c_str(), nullptr), v) << exactNumber(v);
    }
}
