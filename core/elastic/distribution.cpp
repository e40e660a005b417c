#include "core/elastic/distribution.h"

#include "core/common/format.h"
#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

namespace exitscope::core {

namespace {

const char* kSpecForms = "fixed:X, uniform:A,B, normal:MU,SIGMA, exponential:RATE, exponential:mean=M or csv:FILE";

void checkFinite(const char* what, double value) {
    if (!std::isfinite(value)) {
        std::ostringstream os;
        os << "forced-exit distribution: " << what << " " << value << " is not finite";
        throw Error(os.str());
    }
}

// P(Z >= z) for a standard normal; erfc stays accurate far into the tail.
double upperTail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

// Inverse of the standard normal CDF (Acklam's rational approximation,
// relative error 1.2e-9) refined by one Halley step to double precision.
double inverseNormalCdf(double p) {
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                               1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    double x;
    if (p < 0.02425) {
        const double q = std::sqrt(-2 * std::log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p > 1 - 0.02425) {
        const double q = std::sqrt(-2 * std::log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        const double q = p - 0.5;
        const double r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
    const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

double parseNumber(const std::string& text, const std::string& spec) {
    try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size()) return v;
    } catch (const std::exception&) {
    }
    throw Error("forced-exit distribution '" + spec + "': '" + text + "' is not a number");
}

std::vector<double> parseNumbers(const std::string& text, const std::string& spec, std::size_t count) {
    std::vector<double> values;
    std::size_t start = 0;
    while (true) {
        const auto comma = text.find(',', start);
        values.push_back(parseNumber(text.substr(start, comma - start), spec));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (values.size() != count) {
        std::ostringstream os;
        os << "forced-exit distribution '" << spec << "': expected " << count << " value" << (count == 1 ? "" : "s")
           << ", got " << values.size() << " (forms: " << kSpecForms << ")";
        throw Error(os.str());
    }
    return values;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

}  // namespace

ForcedExitDistribution::ForcedExitDistribution(Kind kind, std::vector<double> values)
    : m_kind(kind), m_values(std::move(values)) {
    // Every answer (mean, plot range, tail) must stay finite: times beyond
    // kMaxTime made the mean of uniform:1e308,1.7e308 infinite (found by
    // fuzz_elastic). An exponential's times are 1 / rate.
    const bool exponential = m_kind == Kind::Exponential;
    for (double v : m_values) {
        const double time = exponential ? 1.0 / v : std::fabs(v);
        if (!(time <= kMaxTime)) {
            std::ostringstream os;
            os << "forced-exit distribution: " << (exponential ? "mean time 1 / " : "time ") << v
               << " is beyond " << kMaxTime << ", the largest time accepted";
            throw Error(os.str());
        }
    }
    if (m_kind == Kind::Normal) m_normalMass = upperTail(-m_values[0] / m_values[1]);
    if (m_kind == Kind::Empirical) {
        const double lo = m_values.front(), hi = m_values.back();
        m_histogram.assign(kHistogramBins, 0.0);
        // Times all within 1e-12 (relative) of each other are drawn as a point
        // mass, like equal ones: a histogram over a subnormal span had
        // infinite heights (fuzz_elastic: times 0 and 3e-308).
        if (hi - lo > 1e-12 * std::max(1.0, hi)) {
            const double width = (hi - lo) / kHistogramBins;
            for (double t : m_values) {
                const auto bin = std::min<std::size_t>(static_cast<std::size_t>((t - lo) / width), kHistogramBins - 1);
                m_histogram[bin] += 1.0;
            }
            for (double& h : m_histogram) h /= static_cast<double>(m_values.size()) * width;
        }
    }
}

ForcedExitDistribution ForcedExitDistribution::fixed(double time) {
    checkFinite("fixed time", time);
    if (time < 0.0) {
        std::ostringstream os;
        os << "forced-exit distribution: fixed time " << time << " is negative";
        throw Error(os.str());
    }
    return ForcedExitDistribution(Kind::Fixed, {time});
}

ForcedExitDistribution ForcedExitDistribution::uniform(double low, double high) {
    checkFinite("uniform low", low);
    checkFinite("uniform high", high);
    if (high < low || low < 0.0) {
        std::ostringstream os;
        os << "forced-exit distribution: uniform [" << low << ", " << high << "] "
           << (high < low ? "has its upper bound below its lower bound" : "reaches negative times");
        throw Error(os.str());
    }
    return ForcedExitDistribution(Kind::Uniform, {low, high});
}

ForcedExitDistribution ForcedExitDistribution::normal(double mean, double stddev) {
    checkFinite("normal mean", mean);
    checkFinite("normal stddev", stddev);
    if (stddev <= 0.0) {
        std::ostringstream os;
        os << "forced-exit distribution: normal stddev " << stddev << " is not positive";
        throw Error(os.str());
    }
    if (upperTail(-mean / stddev) < 1e-12) {
        std::ostringstream os;
        os << "forced-exit distribution: normal(" << mean << ", " << stddev
           << ") has (almost) no mass above 0 to truncate to";
        throw Error(os.str());
    }
    return ForcedExitDistribution(Kind::Normal, {mean, stddev});
}

ForcedExitDistribution ForcedExitDistribution::exponential(double rate) {
    checkFinite("exponential rate", rate);
    if (rate <= 0.0) {
        std::ostringstream os;
        os << "forced-exit distribution: exponential rate " << rate << " is not positive";
        throw Error(os.str());
    }
    return ForcedExitDistribution(Kind::Exponential, {rate});
}

ForcedExitDistribution ForcedExitDistribution::empirical(std::vector<double> times) {
    if (times.empty()) throw Error("forced-exit distribution: an empirical distribution needs at least one time");
    for (std::size_t i = 0; i < times.size(); ++i) {
        if (!std::isfinite(times[i]) || times[i] < 0.0) {
            std::ostringstream os;
            os << "forced-exit distribution: empirical time #" << i + 1 << " = " << times[i]
               << " is not a non-negative finite number";
            throw Error(os.str());
        }
    }
    std::sort(times.begin(), times.end());
    return ForcedExitDistribution(Kind::Empirical, std::move(times));
}

ForcedExitDistribution ForcedExitDistribution::loadCsv(const std::string& path) {
    const auto bytes = readFileBytes(path, uint64_t{256} << 20);
    std::istringstream in(withoutUtf8Bom(std::string(bytes.begin(), bytes.end())));
    std::vector<double> times;
    std::string line;
    int64_t lineNo = 0;
    bool seenContent = false;
    while (std::getline(in, line)) {
        ++lineNo;
        const std::string cell = trim(line.substr(0, line.find(',')));
        if (cell.empty() || cell[0] == '#') continue;
        std::size_t used = 0;
        double v = std::nan("");
        try {
            v = std::stod(cell, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        const bool numeric = used == cell.size() && used > 0;
        if (!numeric && !seenContent) {  // a header line
            seenContent = true;
            continue;
        }
        seenContent = true;
        if (!numeric || !std::isfinite(v) || v < 0.0)
            throw Error(path + ":" + std::to_string(lineNo) + ": '" + cell + "' is not a non-negative time");
        times.push_back(v);
    }
    if (times.empty()) throw Error(path + ": no forced-exit times (one number per line expected)");
    return empirical(std::move(times));
}

ForcedExitDistribution ForcedExitDistribution::parse(const std::string& spec) {
    const auto colon = spec.find(':');
    if (colon == std::string::npos || colon + 1 == spec.size())
        throw Error("forced-exit distribution '" + spec + "' is not one of " + kSpecForms);
    const std::string kind = spec.substr(0, colon);
    const std::string rest = spec.substr(colon + 1);
    if (kind == "fixed") return fixed(parseNumbers(rest, spec, 1)[0]);
    if (kind == "uniform") {
        const auto v = parseNumbers(rest, spec, 2);
        return uniform(v[0], v[1]);
    }
    if (kind == "normal") {
        const auto v = parseNumbers(rest, spec, 2);
        return normal(v[0], v[1]);
    }
    if (kind == "exponential") {
        if (rest.rfind("mean=", 0) == 0) {
            const double mean = parseNumbers(rest.substr(5), spec, 1)[0];
            if (!(mean > 0.0) || !std::isfinite(mean))
                throw Error("forced-exit distribution '" + spec + "': the mean must be a positive number");
            return exponential(1.0 / mean);
        }
        return exponential(parseNumbers(rest, spec, 1)[0]);
    }
    if (kind == "csv") return loadCsv(rest);
    throw Error("forced-exit distribution '" + spec + "': unknown kind '" + kind + "' (forms: " + kSpecForms + ")");
}

std::string ForcedExitDistribution::kindName() const {
    switch (m_kind) {
        case Kind::Fixed:
            return "fixed";
        case Kind::Uniform:
            return "uniform";
        case Kind::Normal:
            return "normal";
        case Kind::Exponential:
            return "exponential";
        case Kind::Empirical:
            return "empirical";
    }
    return "?";
}

double ForcedExitDistribution::probabilityAtLeast(double t) const {
    switch (m_kind) {
        case Kind::Fixed:
            return m_values[0] >= t ? 1.0 : 0.0;
        case Kind::Uniform: {
            const double lo = m_values[0], hi = m_values[1];
            if (t <= lo) return 1.0;
            if (t > hi) return 0.0;
            return (hi - t) / (hi - lo);
        }
        case Kind::Normal:
            if (t <= 0.0) return 1.0;
            return upperTail((t - m_values[0]) / m_values[1]) / m_normalMass;
        case Kind::Exponential:
            return t <= 0.0 ? 1.0 : std::exp(-m_values[0] * t);
        case Kind::Empirical: {
            const auto it = std::lower_bound(m_values.begin(), m_values.end(), t);
            return static_cast<double>(m_values.end() - it) / static_cast<double>(m_values.size());
        }
    }
    return 0.0;
}

double ForcedExitDistribution::density(double t) const {
    switch (m_kind) {
        case Kind::Fixed:
            return 0.0;
        case Kind::Uniform: {
            const double lo = m_values[0], hi = m_values[1];
            return (t < lo || t > hi || hi == lo) ? 0.0 : 1.0 / (hi - lo);
        }
        case Kind::Normal: {
            if (t < 0.0) return 0.0;
            const double z = (t - m_values[0]) / m_values[1];
            return std::exp(-0.5 * z * z) / (m_values[1] * std::sqrt(2 * M_PI) * m_normalMass);
        }
        case Kind::Exponential:
            return t < 0.0 ? 0.0 : m_values[0] * std::exp(-m_values[0] * t);
        case Kind::Empirical: {
            const double lo = m_values.front(), hi = m_values.back();
            if (t < lo || t > hi || hi == lo) return 0.0;
            const auto bin = std::min<std::size_t>(static_cast<std::size_t>((t - lo) / (hi - lo) * kHistogramBins),
                                                   kHistogramBins - 1);
            return m_histogram[bin];
        }
    }
    return 0.0;
}

double ForcedExitDistribution::mean() const {
    switch (m_kind) {
        case Kind::Fixed:
            return m_values[0];
        case Kind::Uniform:
            return 0.5 * (m_values[0] + m_values[1]);
        case Kind::Normal: {
            // Mean of a normal truncated below at 0: mu + sigma * phi(a) / Q(a), a = -mu / sigma.
            const double a = -m_values[0] / m_values[1];
            return m_values[0] + m_values[1] * std::exp(-0.5 * a * a) / std::sqrt(2 * M_PI) / m_normalMass;
        }
        case Kind::Exponential:
            return 1.0 / m_values[0];
        case Kind::Empirical:
            return std::accumulate(m_values.begin(), m_values.end(), 0.0) / static_cast<double>(m_values.size());
    }
    return 0.0;
}

std::pair<double, double> ForcedExitDistribution::plotRange() const {
    switch (m_kind) {
        case Kind::Fixed:
            return {m_values[0], m_values[0]};
        case Kind::Uniform:
            return {m_values[0], m_values[1]};
        case Kind::Normal:
            return {std::max(0.0, m_values[0] - 4 * m_values[1]), std::max(0.0, m_values[0] + 4 * m_values[1])};
        case Kind::Exponential:
            return {0.0, -std::log(0.001) / m_values[0]};
        case Kind::Empirical:
            return {m_values.front(), m_values.back()};
    }
    return {0.0, 0.0};
}

double ForcedExitDistribution::sample(std::mt19937_64& rng) const {
    // Draws by inversion from a 53-bit uniform, so a seed gives the same
    // times on every standard library (std::*_distribution may differ).
    auto uniform01 = [&rng] { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); };
    switch (m_kind) {
        case Kind::Fixed:
            return m_values[0];
        case Kind::Uniform:
            return m_values[0] + (m_values[1] - m_values[0]) * uniform01();
        case Kind::Normal: {
            // P(Z >= z) = u with u uniform on (0, Q(-mu/sigma)] gives Z >= -mu/sigma.
            double u = 0.0;
            while (u <= 0.0) u = uniform01() * m_normalMass;
            const double z = -inverseNormalCdf(u);
            return std::max(0.0, m_values[0] + m_values[1] * z);
        }
        case Kind::Exponential: {
            double u = 0.0;
            while (u <= 0.0) u = 1.0 - uniform01();
            return -std::log(u) / m_values[0];
        }
        case Kind::Empirical: {
            const auto i = static_cast<std::size_t>(uniform01() * static_cast<double>(m_values.size()));
            return m_values[std::min(i, m_values.size() - 1)];
        }
    }
    return 0.0;
}

ForcedExitDistribution ForcedExitDistribution::scaled(double factor) const {
    if (!(factor > 0.0) || !std::isfinite(factor)) {
        std::ostringstream os;
        os << "forced-exit distribution: scale factor " << factor << " is not a positive number";
        throw Error(os.str());
    }
    std::vector<double> v = m_values;
    if (m_kind == Kind::Exponential)
        v[0] /= factor;
    else
        for (double& x : v) x *= factor;
    return ForcedExitDistribution(m_kind, std::move(v));
}

std::string ForcedExitDistribution::describe() const {
    std::ostringstream os;
    os.precision(4);
    switch (m_kind) {
        case Kind::Fixed:
            os << "fixed " << m_values[0];
            break;
        case Kind::Uniform:
            os << "uniform [" << m_values[0] << ", " << m_values[1] << "]";
            break;
        case Kind::Normal:
            os << "normal(" << m_values[0] << ", " << m_values[1] << ") truncated at 0";
            break;
        case Kind::Exponential:
            os << "exponential, rate " << m_values[0];
            break;
        case Kind::Empirical:
            os << "empirical, " << m_values.size() << " times in [" << m_values.front() << ", " << m_values.back()
               << "]";
            break;
    }
    return os.str();
}

nlohmann::json ForcedExitDistribution::toJson() const {
    nlohmann::json j{{"kind", kindName()}};
    switch (m_kind) {
        case Kind::Fixed:
            j["time"] = m_values[0];
            break;
        case Kind::Uniform:
            j["low"] = m_values[0];
            j["high"] = m_values[1];
            break;
        case Kind::Normal:
            j["mean"] = m_values[0];
            j["stddev"] = m_values[1];
            break;
        case Kind::Exponential:
            j["rate"] = m_values[0];
            break;
        case Kind::Empirical:
            j["times"] = m_values;
            break;
    }
    return j;
}

ForcedExitDistribution ForcedExitDistribution::fromJson(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object() || !j.contains("kind") || !j.at("kind").is_string())
        throw Error(where + ": a forced-exit distribution must be an object with a string 'kind'");
    auto num = [&](const char* key) {
        if (!j.contains(key) || !j.at(key).is_number()) throw Error(where + "." + key + " is missing or not a number");
        return j.at(key).get<double>();
    };
    const auto kind = j.at("kind").get<std::string>();
    try {
        if (kind == "fixed") return fixed(num("time"));
        if (kind == "uniform") return uniform(num("low"), num("high"));
        if (kind == "normal") return normal(num("mean"), num("stddev"));
        if (kind == "exponential") return exponential(num("rate"));
        if (kind == "empirical") {
            if (!j.contains("times") || !j.at("times").is_array())
                throw Error(where + ".times is missing or not an array");
            std::vector<double> times;
            for (const auto& t : j.at("times")) {
                if (!t.is_number()) throw Error(where + ".times holds a value that is not a number");
                times.push_back(t.get<double>());
            }
            return empirical(std::move(times));
        }
    } catch (const Error& e) {
        const std::string what = e.what();
        if (what.rfind(where, 0) == 0) throw;
        throw Error(where + ": " + what);
    }
    throw Error(where + ".kind '" + kind + "' is not fixed, uniform, normal, exponential or empirical");
}

}  // namespace exitscope::core
