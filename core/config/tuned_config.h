#pragma once

#include "core/elastic/elastic_config.h"
#include "core/policy/policy.h"
#include "core/trace/trace.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace exitscope::core {

/// Accuracy and cost a tuned policy is expected to reach on one split.
struct ExpectedFigures {
    int64_t n = 0;
    double accuracy = 0.0;
    double meanMacs = 0.0;
    double meanMs = 0.0;
};

/// A tuned configuration: which model (name and weights hash) it was tuned
/// for, the policy and all its parameters, and the figures expected on the
/// validation and test splits. Saved as JSON with "schema": 1.
struct TunedConfig {
    static constexpr int kSchema = 1;
    std::string model;
    std::string weightsHash;
    std::string dataset;
    int64_t numExits = 0;
    int64_t numClasses = 0;
    PolicyConfig policy;
    std::optional<ExpectedFigures> validation;
    std::optional<ExpectedFigures> test;
    /// EINet elastic-inference settings (optional "elastic" section; configs
    /// without it load as before). `policy` is then what a runtime that
    /// ignores the section does.
    std::optional<ElasticSettings> elastic;
};

/// The figures of a policy's outcome on a trace.
ExpectedFigures expectedFigures(const Trace& trace, const ExitOutcome& outcome);

/// A config for `policy` tuned on `validation` (whose metadata names the
/// model, weights hash and data set), with the expected figures on
/// validation and, when given, on `test` (which must come from the same weights).
TunedConfig makeTunedConfig(const PolicyConfig& policy, const Trace& validation, const Trace* test = nullptr);

nlohmann::json configToJson(const TunedConfig& config);
/// Checks the schema and every field; Error beginning with `where` naming the problem.
TunedConfig configFromJson(const nlohmann::json& j, const std::string& where);

/// Writes the config as indented JSON to a temporary file renamed into place.
void saveConfig(const TunedConfig& config, const std::string& path);
/// Reads and checks a config file (at most 64 MiB); Error naming the file.
TunedConfig loadConfig(const std::string& path);

/// Checks that a config was tuned for the model a trace was profiled from:
/// model name, weights hash, number of exits and classes; the Error lists
/// every field that differs with both values.
void checkConfigMatchesTrace(const TunedConfig& config, const Trace& trace, const std::string& where);

/// The same check against a loaded model's name, weights hash and exit count.
void checkConfigMatchesModel(const TunedConfig& config, const std::string& model, const std::string& weightsHash,
                             int64_t numExits, int64_t numClasses, const std::string& where);

} // namespace exitscope::core
