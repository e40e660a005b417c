// libFuzzer target: the header of a split-run frame, the first bytes
// exitscope-cli reads from its peer over loopback (parseFrameHeader). A
// header that parses must declare a body within the limit and encode back
// to a header that parses to the same fields.
#include "core/common/error.h"
#include "simulator/loopback/shaped_link.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    namespace sim = exitscope::simulator;
    constexpr uint64_t kMaxBody = uint64_t{1} << 20;
    try {
        const sim::FrameHeader h = sim::parseFrameHeader(data, size, kMaxBody);
        if (h.bodyLength > kMaxBody) __builtin_trap();
        const auto bytes = sim::encodeFrameHeader(h);
        const sim::FrameHeader again = sim::parseFrameHeader(bytes.data(), bytes.size(), kMaxBody);
        if (again.type != h.type || again.requestId != h.requestId || again.blocksOnDevice != h.blocksOnDevice ||
            again.value != h.value || again.exit != h.exit || again.bodyLength != h.bodyLength)
            __builtin_trap();
    } catch (const exitscope::core::Error&) {
    }
    return 0;
}
