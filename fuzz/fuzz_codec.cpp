// libFuzzer target: the split-computing payload decoder (header, CRC,
// quantisation parameters, blosc/LZ4 blocks). Almost every mutation breaks
// the trailing CRC-32, which the decoder checks first, so each input is
// decoded twice: as it is, and with its trailer set to the CRC of the rest,
// which lets the mutations reach the header and block parsing behind it.
#include "core/common/error.h"
#include "simulator/codec/codec.h"

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

void decode(const uint8_t* data, std::size_t size) {
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
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    decode(data, size);
    if (size >= 4) {
        std::vector<uint8_t> sealed(data, data + size);
        const uLong crc = crc32(0, sealed.data(), static_cast<uInt>(size - 4));
        for (int i = 0; i < 4; ++i) sealed[size - 4 + static_cast<std::size_t>(i)] = static_cast<uint8_t>(crc >> (8 * i));
        decode(sealed.data(), sealed.size());
    }
    return 0;
}
