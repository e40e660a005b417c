#pragma once

#include "core/elastic/distribution.h"
#include "core/elastic/planner.h"
#include "core/elastic/predictor.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace exitscope::core {

/// The EINet planner's settings as a tuned config carries them (its
/// optional "elastic" section): the search, the forced-exit distribution
/// as the user gave it and in milliseconds, the device it was planned for,
/// the trained confidence predictor, and the accuracy expected on test.
struct ElasticSettings {
    SearchMethod method = SearchMethod::Hybrid;
    SearchOptions search;
    std::string deadlineSpec;               ///< as given, e.g. "uniform:0.2,1.0"
    std::string deadlineUnit = "fraction";  ///< "fraction" (of fullMs) or "ms"
    double fullMs = 0.0;                    ///< every branch run on the device: the reference of fractions
    ForcedExitDistribution distributionMs = ForcedExitDistribution::fixed(0.0);  ///< T in milliseconds
    std::string device;  ///< device preset or file; empty: the profiling machine
    ConfidencePredictor predictor;
    std::vector<float> temperatures;             ///< per-exit temperatures the confidences were taken at (empty: none)
    std::optional<double> expectedTestAccuracy;  ///< EINet's accuracy on the test trace, when evaluated
};

nlohmann::json elasticSettingsToJson(const ElasticSettings& settings);
/// Reads elasticSettingsToJson's form; Error beginning with `where` naming
/// the bad field. `numExits` is the config's model exit count the predictor
/// must match.
ElasticSettings elasticSettingsFromJson(const nlohmann::json& j, int64_t numExits, const std::string& where);

}  // namespace exitscope::core
