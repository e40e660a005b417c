#include "simulator/latency/latency.h"

namespace exitscope::simulator {

std::vector<double> exitLatencyMs(const core::Trace& trace, const Platform& device) {
    checkPlatform(device, "");
    std::vector<double> out;
    out.reserve(static_cast<std::size_t>(trace.numExits));
    double ms = 0;
    int64_t nextBlock = 0;
    for (int64_t k = 0; k < trace.numExits; ++k) {
        const auto ki = static_cast<std::size_t>(k);
        for (; nextBlock <= trace.exitBlock[ki]; ++nextBlock) {
            const auto b = static_cast<std::size_t>(nextBlock);
            ms += device.computeMs(trace.blockMs[b], static_cast<double>(trace.blockMacs[b]));
        }
        ms += device.computeMs(trace.headMs[ki], static_cast<double>(trace.headMacs[ki]));
        out.push_back(ms);
    }
    return out;
}

} // namespace exitscope::simulator
