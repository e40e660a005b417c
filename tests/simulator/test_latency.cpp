#include "core/common/error.h"
#include "simulator/latency/latency.h"

#include <gtest/gtest.h>

#include <cmath>

using exitscope::core::Trace;
using exitscope::simulator::Platform;
using exitscope::simulator::exitLatencyMs;

namespace {

Trace threeBlockTrace() {
    Trace t;
    t.numExits = 2;
    t.numBlocks = 3;
    t.blockMs = {1.0f, 2.0f, 4.0f};
    t.headMs = {0.5f, 0.25f};
    t.blockMacs = {100, 200, 400};
    t.headMacs = {50, 25};
    t.exitBlock = {0, 2};
    return t;
}

} // namespace

TEST(Latency, SumsBlocksAndHeadsUpToEachExit) {
    const auto ms = exitLatencyMs(threeBlockTrace(), Platform{});
    ASSERT_EQ(ms.size(), 2u);
    EXPECT_DOUBLE_EQ(ms[0], 1.0 + 0.5);               // block 0 + head 0
    EXPECT_DOUBLE_EQ(ms[1], 1.0 + 2.0 + 4.0 + 0.5 + 0.25);  // every block, both heads
}

TEST(Latency, ScalesByRelativeSpeed) {
    const auto ms = exitLatencyMs(threeBlockTrace(), Platform::withRelativeSpeed("twice as fast", 2.0));
    EXPECT_DOUBLE_EQ(ms[1], 7.75 / 2.0);
}

TEST(Latency, RejectsNonPositiveSpeed) {
    for (double bad : {0.0, -1.0, std::nan("")}) {
        try {
            exitLatencyMs(threeBlockTrace(), Platform::withRelativeSpeed("phone", bad));
            FAIL() << "speed " << bad << " accepted";
        } catch (const exitscope::core::Error& e) {
            EXPECT_NE(std::string(e.what()).find("phone"), std::string::npos);
        }
    }
}
