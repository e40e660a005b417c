#include "simulator/latency/latency.h"

#include "core/common/error.h"

#include <cmath>
#include <sstream>

namespace exitscope::simulator {

std::vector<double> exitLatencyMs(const core::Trace& trace, const DeviceProfile& device) {
    if (!std::isfinite(device.relativeSpeed) || device.relativeSpeed <= 0.0) {
        std::ostringstream os;
        os << "device '" << device.name << "': relative speed " << device.relativeSpeed << " must be positive";
        throw core::Error(os.str());
    }
    std::vector<double> out;
    out.reserve(static_cast<std::size_t>(trace.numExits));
    double blocks = 0, heads = 0;
    int64_t nextBlock = 0;
    for (int64_t k = 0; k < trace.numExits; ++k) {
        const int64_t last = trace.exitBlock[static_cast<std::size_t>(k)];
        for (; nextBlock <= last; ++nextBlock) blocks += trace.blockMs[static_cast<std::size_t>(nextBlock)];
        heads += trace.headMs[static_cast<std::size_t>(k)];
        out.push_back((blocks + heads) / device.relativeSpeed);
    }
    return out;
}

} // namespace exitscope::simulator
