// libFuzzer target: the split-computing payload decoder (header, CRC,
// quantisation parameters, blosc/LZ4 blocks).
#include "core/common/error.h"
#include "simulator/codec/codec.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    try {
        const auto state = exitscope::simulator::decodeState(data, size);
        for (const auto& t : state) {
            // The decoder promises values.size() == product of the shape.
            std::size_t n = 1;
            for (int64_t d : t.shape) n *= static_cast<std::size_t>(d);
            if (n != t.values.size()) __builtin_trap();
        }
    } catch (const exitscope::core::Error&) {
    }
    return 0;
}
