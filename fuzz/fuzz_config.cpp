// libFuzzer target: tuned-config JSON import (loadConfig: JSON syntax,
// schema, model, policy, expected figures, elastic section).
#include "core/common/error.h"
#include "core/config/tuned_config.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const exitscope::fuzz::MemFile file(data, size);
    try {
        const auto config = exitscope::core::loadConfig(file.path());
        // What loads must save again: the JSON form of a checked config never throws.
        (void)exitscope::core::configToJson(config).dump();
    } catch (const exitscope::core::Error&) {
    }
    return 0;
}
