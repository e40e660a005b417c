#include "simulator/platform/link.h"

#include "core/common/format.h"
#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <sstream>

namespace exitscope::simulator {

using core::Error;

namespace {

std::string number(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

// Uniform in [0, 1) from the top 53 bits: defined by the generator alone,
// unlike std::uniform_real_distribution, whose algorithm varies by library.
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

// strtod on the whole field, so "12abc" or "" is rejected instead of read as 12 or 0.
bool parseNumber(const std::string& field, double& out) {
    const std::string t = trim(field);
    if (t.empty()) return false;
    char* end = nullptr;
    errno = 0;
    out = std::strtod(t.c_str(), &end);
    return errno == 0 && end == t.c_str() + t.size() && std::isfinite(out);
}

}  // namespace

double Link::sampleRttMs(std::mt19937_64& rng) const {
    const double lo = std::max(0.0, rttMs - jitterMs), hi = rttMs + jitterMs;
    return lo + (hi - lo) * unit(rng);
}

void checkLink(const Link& link, const std::string& where) {
    if (!std::isfinite(link.bandwidthMbps) || link.bandwidthMbps <= 0.0)
        throw Error(where + ": bandwidth " + number(link.bandwidthMbps) +
                    " Mbit/s must be > 0 (0 would make every offloaded design infinitely slow; "
                    "model an outage with a very low bandwidth)");
    const std::pair<const char*, double> others[] = {
        {"RTT (ms)", link.rttMs}, {"jitter (ms)", link.jitterMs}, {"reply bytes", link.replyBytes}};
    for (const auto& [field, v] : others)
        if (!std::isfinite(v) || v < 0.0) throw Error(where + ": " + field + " = " + number(v) + " must be >= 0");
}

BandwidthSchedule BandwidthSchedule::constant(double mbps) { return fromSteps({{0.0, mbps}}, "constant bandwidth"); }

BandwidthSchedule BandwidthSchedule::fromSteps(std::vector<Step> steps, const std::string& where) {
    if (steps.empty()) throw Error(where + ": no bandwidth steps");
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const Step& s = steps[i];
        const std::string at = where + ": step " + std::to_string(i + 1);
        if (!std::isfinite(s.timeS) || s.timeS < 0.0) throw Error(at + ": time " + number(s.timeS) + " s must be >= 0");
        if (i > 0 && !(s.timeS > steps[i - 1].timeS))
            throw Error(at + ": time " + number(s.timeS) + " s is not after the previous " +
                        number(steps[i - 1].timeS) + " s (times must increase)");
        if (!std::isfinite(s.mbps) || s.mbps <= 0.0)
            throw Error(at + ": bandwidth " + number(s.mbps) + " Mbit/s must be > 0");
    }
    return BandwidthSchedule(std::move(steps));
}

BandwidthSchedule BandwidthSchedule::randomWalk(const RandomWalkParams& p, uint64_t seed) {
    const std::string where = "random-walk bandwidth";
    if (!std::isfinite(p.minMbps) || p.minMbps <= 0.0 || !std::isfinite(p.maxMbps) || p.maxMbps < p.minMbps)
        throw Error(where + ": need 0 < min (" + number(p.minMbps) + ") <= max (" + number(p.maxMbps) + ") Mbit/s");
    if (!(p.startMbps >= p.minMbps && p.startMbps <= p.maxMbps))
        throw Error(where + ": start " + number(p.startMbps) + " Mbit/s is outside [min, max]");
    if (!std::isfinite(p.stepS) || p.stepS <= 0.0 || !std::isfinite(p.durationS) || p.durationS < 0.0)
        throw Error(where + ": step (" + number(p.stepS) + " s) must be > 0 and duration (" + number(p.durationS) +
                    " s) >= 0");
    if (!std::isfinite(p.volatility) || p.volatility < 0.0)
        throw Error(where + ": volatility " + number(p.volatility) + " must be >= 0");
    if (p.durationS / p.stepS > 1e7) throw Error(where + ": more than 10 million steps");
    std::mt19937_64 rng(seed);
    std::vector<Step> steps{{0.0, p.startMbps}};
    double mbps = p.startMbps;
    for (int64_t i = 1; static_cast<double>(i) * p.stepS < p.durationS; ++i) {
        // Steps in log space keep the bandwidth positive and make halving as likely as doubling.
        mbps = std::clamp(mbps * std::exp(p.volatility * (2.0 * unit(rng) - 1.0)), p.minMbps, p.maxMbps);
        steps.push_back({static_cast<double>(i) * p.stepS, mbps});
    }
    return BandwidthSchedule(std::move(steps));
}

BandwidthSchedule BandwidthSchedule::parseCsv(const std::string& text, const std::string& where) {
    std::vector<Step> steps;
    std::istringstream in(core::withoutUtf8Bom(text));
    std::string line;
    bool sawData = false, sawHeader = false;
    for (int64_t lineNo = 1; std::getline(in, line); ++lineNo) {
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#') continue;
        const std::string at = where + ":" + std::to_string(lineNo) + ": ";
        const auto comma = t.find(',');
        if (comma == std::string::npos || t.find(',', comma + 1) != std::string::npos)
            throw Error(at + "expected two fields 'time_s,mbps', got '" + t + "'");
        const std::string a = trim(t.substr(0, comma)), b = trim(t.substr(comma + 1));
        if (!sawData && !sawHeader && a == "time_s" && b == "mbps") {
            sawHeader = true;
            continue;
        }
        Step s;
        if (!parseNumber(a, s.timeS)) throw Error(at + "time '" + a + "' is not a number");
        if (!parseNumber(b, s.mbps)) throw Error(at + "bandwidth '" + b + "' is not a number");
        if (s.timeS < 0.0) throw Error(at + "time " + number(s.timeS) + " s must be >= 0");
        if (!steps.empty() && !(s.timeS > steps.back().timeS))
            throw Error(at + "time " + number(s.timeS) + " s is not after the previous line's " +
                        number(steps.back().timeS) + " s (times must be sorted, increasing)");
        if (s.mbps <= 0.0) throw Error(at + "bandwidth " + number(s.mbps) + " Mbit/s must be > 0");
        steps.push_back(s);
        sawData = true;
    }
    if (steps.empty()) throw Error(where + ": no 'time_s,mbps' data lines");
    return BandwidthSchedule(std::move(steps));
}

BandwidthSchedule BandwidthSchedule::loadCsv(const std::string& path) {
    const auto bytes = core::readFileBytes(path, uint64_t{256} << 20);
    return parseCsv(core::withoutUtf8Bom(std::string(bytes.begin(), bytes.end())), path);
}

double BandwidthSchedule::mbpsAt(double timeS) const {
    // The last step whose time is <= timeS; before the first, the first.
    const auto it =
        std::upper_bound(m_steps.begin(), m_steps.end(), timeS, [](double t, const Step& s) { return t < s.timeS; });
    return it == m_steps.begin() ? m_steps.front().mbps : std::prev(it)->mbps;
}

}  // namespace exitscope::simulator
