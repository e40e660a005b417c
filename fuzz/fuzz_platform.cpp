// libFuzzer target: device/server platform JSON (loadPlatform) and the
// bandwidth-schedule CSV (BandwidthSchedule::parseCsv) on the same bytes.
#include "core/common/error.h"
#include "fuzz/fuzz_input.h"
#include "simulator/platform/link.h"
#include "simulator/platform/platform.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    namespace sim = exitscope::simulator;
    const exitscope::fuzz::MemFile file(data, size);
    try {
        (void)sim::loadPlatform(file.path());
    } catch (const exitscope::core::Error&) {
    }
    try {
        const auto schedule =
            sim::BandwidthSchedule::parseCsv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
        if (schedule.steps().empty() || !(schedule.mbpsAt(0.0) > 0)) __builtin_trap();
    } catch (const exitscope::core::Error&) {
    }
    return 0;
}
