#include "core/elastic/exec_profile.h"

#include "core/common/error.h"

#include <cmath>
#include <sstream>

namespace exitscope::core {

namespace {

void checkTime(const std::string& where, const char* name, std::size_t i, double v) {
    if (!std::isfinite(v) || v < 0.0) {
        std::ostringstream os;
        os << where << ": " << name << "[" << i << "] = " << v << " is not a non-negative finite time";
        throw Error(os.str());
    }
}

}  // namespace

double ExecutionProfile::allBranchesFinishMs(int64_t k) const {
    double t = 0.0;
    for (int64_t i = 0; i <= k; ++i) t += backboneMs[static_cast<std::size_t>(i)] + headMs[static_cast<std::size_t>(i)];
    return t;
}

double ExecutionProfile::soloFinishMs(int64_t k) const {
    double t = headMs[static_cast<std::size_t>(k)];
    for (int64_t i = 0; i <= k; ++i) t += backboneMs[static_cast<std::size_t>(i)];
    return t;
}

void checkExecutionProfile(const ExecutionProfile& p, const std::string& where) {
    if (p.headMs.empty()) throw Error(where + ": the execution profile has no exits");
    if (p.backboneMs.size() != p.headMs.size()) {
        std::ostringstream os;
        os << where << ": " << p.backboneMs.size() << " backbone times for " << p.headMs.size() << " exit branches";
        throw Error(os.str());
    }
    for (std::size_t k = 0; k < p.headMs.size(); ++k) {
        checkTime(where, "backbone_ms", k, p.backboneMs[k]);
        checkTime(where, "head_ms", k, p.headMs[k]);
    }
    if (!(p.chanceAccuracy >= 0.0 && p.chanceAccuracy <= 1.0)) {
        std::ostringstream os;
        os << where << ": chance accuracy " << p.chanceAccuracy << " is not in [0, 1]";
        throw Error(os.str());
    }
}

ExecutionProfile executionProfile(const Trace& trace, const DeviceTimeFn& deviceTime) {
    const auto K = static_cast<std::size_t>(trace.numExits);
    const auto B = static_cast<std::size_t>(trace.numBlocks);
    const std::string where = "execution profile";
    if (K == 0) throw Error(where + ": the trace has no exits");
    if (trace.numClasses < 1) throw Error(where + ": the trace has no classes");
    auto need = [&](const char* name, std::size_t have, std::size_t want) {
        if (have != want) {
            std::ostringstream os;
            os << where << ": the trace's " << name << " has " << have << " values, expected " << want
               << " (a trace profiled without timings?)";
            throw Error(os.str());
        }
    };
    need("block_ms", trace.blockMs.size(), B);
    need("block_macs", trace.blockMacs.size(), B);
    need("head_ms", trace.headMs.size(), K);
    need("head_macs", trace.headMacs.size(), K);
    need("exit_block", trace.exitBlock.size(), K);
    if (B == 0) throw Error(where + ": the trace has no blocks");
    auto convert = [&](double ms, double macs) { return deviceTime ? deviceTime(ms, macs) : ms; };

    ExecutionProfile p;
    p.chanceAccuracy = 1.0 / static_cast<double>(trace.numClasses);
    p.backboneMs.assign(K, 0.0);
    p.headMs.assign(K, 0.0);
    int64_t previous = -1;
    for (std::size_t k = 0; k < K; ++k) {
        const int64_t block = trace.exitBlock[k];
        if (block < previous || block < 0 || block >= trace.numBlocks) {
            std::ostringstream os;
            os << where << ": exit_block[" << k << "] = " << block
               << (block < previous ? " is before the previous exit's block" : " is not a block index");
            throw Error(os.str());
        }
        for (int64_t b = previous + 1; b <= block; ++b) {
            const auto bi = static_cast<std::size_t>(b);
            checkTime(where, "block_ms", bi, trace.blockMs[bi]);
            p.backboneMs[k] += convert(trace.blockMs[bi], static_cast<double>(trace.blockMacs[bi]));
        }
        previous = block;
        checkTime(where, "head_ms", k, trace.headMs[k]);
        p.headMs[k] = convert(trace.headMs[k], static_cast<double>(trace.headMacs[k]));
    }
    checkExecutionProfile(p, where + " (on the device)");
    return p;
}

}  // namespace exitscope::core
