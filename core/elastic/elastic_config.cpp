#include "core/elastic/elastic_config.h"

#include "core/common/error.h"
#include "core/policy/calibration.h"

#include <cmath>

namespace exitscope::core {

nlohmann::json elasticSettingsToJson(const ElasticSettings& s) {
    nlohmann::json j{
        {"search", searchMethodName(s.method)},
        {"enumerate", s.search.enumerate},
        {"random_plans", s.search.randomPlans},
        {"deadline",
         {{"spec", s.deadlineSpec},
          {"unit", s.deadlineUnit},
          {"full_ms", s.fullMs},
          {"distribution_ms", s.distributionMs.toJson()}}},
        {"device", s.device},
        {"predictor", s.predictor.toJson()},
        {"temperatures", s.temperatures},
        {"expected_test_accuracy", nullptr},
    };
    if (s.expectedTestAccuracy && std::isfinite(*s.expectedTestAccuracy))
        j["expected_test_accuracy"] = *s.expectedTestAccuracy;
    return j;
}

ElasticSettings elasticSettingsFromJson(const nlohmann::json& j, int64_t numExits, const std::string& where) {
    if (!j.is_object()) throw Error(where + " must be an object");
    auto field = [&](const nlohmann::json& o, const char* key, const std::string& path) -> const nlohmann::json& {
        if (!o.contains(key)) throw Error(where + "." + path + " is missing");
        return o.at(key);
    };
    auto str = [&](const nlohmann::json& o, const char* key, const std::string& path) {
        const auto& v = field(o, key, path);
        if (!v.is_string()) throw Error(where + "." + path + " is not a string");
        return v.get<std::string>();
    };
    auto integer = [&](const char* key, int64_t lo, int64_t hi) {
        const auto& v = field(j, key, key);
        if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
            throw Error(where + "." + key + " is not an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                        "]");
        return v.get<int64_t>();
    };
    ElasticSettings s;
    try {
        s.method = parseSearchMethod(str(j, "search", "search"));
    } catch (const Error& e) {
        throw Error(where + ".search: " + e.what());
    }
    s.search.enumerate = integer("enumerate", 0, 24);
    s.search.randomPlans = integer("random_plans", 1, 1'000'000);
    const auto& d = field(j, "deadline", "deadline");
    if (!d.is_object()) throw Error(where + ".deadline must be an object");
    s.deadlineSpec = str(d, "spec", "deadline.spec");
    s.deadlineUnit = str(d, "unit", "deadline.unit");
    if (s.deadlineUnit != "fraction" && s.deadlineUnit != "ms")
        throw Error(where + ".deadline.unit '" + s.deadlineUnit + "' is not fraction or ms");
    const auto& full = field(d, "full_ms", "deadline.full_ms");
    if (!full.is_number() || !(full.get<double>() > 0.0) || !std::isfinite(full.get<double>()))
        throw Error(where + ".deadline.full_ms is not a positive number");
    s.fullMs = full.get<double>();
    s.distributionMs = ForcedExitDistribution::fromJson(field(d, "distribution_ms", "deadline.distribution_ms"),
                                                        where + ".deadline.distribution_ms");
    s.device = str(j, "device", "device");
    s.predictor = ConfidencePredictor::fromJson(field(j, "predictor", "predictor"), where + ".predictor");
    if (s.predictor.numExits() != numExits)
        throw Error(where + ".predictor is for " + std::to_string(s.predictor.numExits()) + " exits, the model has " +
                    std::to_string(numExits));
    if (j.contains("temperatures")) {
        const auto& t = j.at("temperatures");
        if (!t.is_array()) throw Error(where + ".temperatures is not an array");
        for (const auto& v : t) {
            if (!v.is_number()) throw Error(where + ".temperatures holds a value that is not a number");
            s.temperatures.push_back(v.get<float>());
        }
        try {
            checkTemperatures(s.temperatures, numExits);
        } catch (const Error& e) {
            throw Error(where + ".temperatures: " + e.what());
        }
    }
    if (j.contains("expected_test_accuracy") && !j.at("expected_test_accuracy").is_null()) {
        const auto& a = j.at("expected_test_accuracy");
        if (!a.is_number() || a.get<double>() < 0.0 || a.get<double>() > 1.0)
            throw Error(where + ".expected_test_accuracy is not a number in [0, 1]");
        s.expectedTestAccuracy = a.get<double>();
    }
    return s;
}

}  // namespace exitscope::core
