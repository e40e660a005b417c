#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace exitscope::core {

/// The distribution of EINet's forced-exit time T: the moment a running
/// inference is stopped and must answer with its latest result. The planner
/// only needs the tail P(T >= t), which every kind evaluates exactly and in
/// O(1) (O(log n) for an empirical distribution of n times). Times are in
/// whatever unit the caller works in (the elastic planner uses milliseconds;
/// scaled() converts). Made only through the factories, which check the
/// parameters. Unlike anytime.h's BudgetDistribution it can also be sampled,
/// drawn (density) and built from measured times.
class ForcedExitDistribution {
public:
    /// The kinds of forced-exit distribution.
    enum class Kind { Fixed, Uniform, Normal, Exponential, Empirical };

    /// Always exactly `time`. Error when negative or not finite.
    static ForcedExitDistribution fixed(double time);
    /// Uniform on [low, high]; low == high is a fixed time. Error when high <
    /// low, low < 0 or either is not finite.
    static ForcedExitDistribution uniform(double low, double high);
    /// Normal(mean, stddev) truncated at 0 (conditioned on T >= 0 and
    /// renormalised, not clipped). Error when stddev <= 0, a value is not
    /// finite or no mass (numerically) lies above 0.
    static ForcedExitDistribution normal(double mean, double stddev);
    /// Exponential with the given rate (mean 1 / rate). Error when rate <= 0
    /// or not finite.
    static ForcedExitDistribution exponential(double rate);
    /// The empirical distribution of measured times (each equally likely).
    /// Error when empty or a time is negative or not finite.
    static ForcedExitDistribution empirical(std::vector<double> times);
    /// Reads times for empirical(): one number per line in the first
    /// comma-separated column; an optional non-numeric header line, blank
    /// lines and lines starting with '#' are skipped. Error naming the file
    /// and line of anything else.
    static ForcedExitDistribution loadCsv(const std::string& path);

    /// Parses "fixed:X", "uniform:A,B", "normal:MU,SIGMA", "exponential:RATE",
    /// "exponential:mean=M" or "csv:FILE". Error naming the text and the
    /// accepted forms when it is none of them or its values are bad.
    static ForcedExitDistribution parse(const std::string& spec);

    Kind kind() const { return m_kind; }
    /// "fixed", "uniform", "normal", "exponential" or "empirical".
    std::string kindName() const;

    /// P(T >= t): the probability that work finishing at t is done in time.
    double probabilityAtLeast(double t) const;
    /// Probability density at t for the continuous kinds; for Empirical a
    /// histogram density (kHistogramBins bins over [min, max]); 0 for Fixed
    /// (a point mass: draw a line at mean()).
    double density(double t) const;
    /// E[T].
    double mean() const;
    /// A range that holds (almost) all the mass, for plotting: [low, high]
    /// for Uniform, mean +- 4 stddev (clamped at 0) for Normal, [0, the 0.999
    /// quantile] for Exponential, [min, max] for Empirical and Fixed.
    std::pair<double, double> plotRange() const;
    /// One draw of T.
    double sample(std::mt19937_64& rng) const;

    /// The same distribution with every time multiplied by `factor` > 0
    /// (a unit change, e.g. from fractions of the full model's time to ms).
    ForcedExitDistribution scaled(double factor) const;
    /// Short human-readable form, e.g. "uniform [1.07, 5.33]".
    std::string describe() const;

    /// Parameters: Fixed {time}; Uniform {low, high}; Normal {mean, stddev};
    /// Exponential {rate}; Empirical: the sorted times.
    const std::vector<double>& parameters() const { return m_values; }

    /// {"kind": ..., parameters by name} ("times" for Empirical).
    nlohmann::json toJson() const;
    /// Reads toJson's form; Error beginning with `where` naming the bad field.
    static ForcedExitDistribution fromJson(const nlohmann::json& j, const std::string& where);

    static constexpr int kHistogramBins = 40;
    /// The largest time (or stddev, or mean time of an exponential) a
    /// distribution accepts, in its own unit: 1e12 ms is 31 years. Larger
    /// ones are an Error, so that every answer stays finite.
    static constexpr double kMaxTime = 1e12;

private:
    ForcedExitDistribution(Kind kind, std::vector<double> values);

    Kind m_kind;
    std::vector<double> m_values;     // see parameters(); Empirical: sorted
    double m_normalMass = 1.0;        // Normal: P(untruncated >= 0)
    std::vector<double> m_histogram;  // Empirical: density per bin
};

}  // namespace exitscope::core
