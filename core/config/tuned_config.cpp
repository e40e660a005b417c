#include "core/config/tuned_config.h"

#include "core/common/format.h"
#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/eval/metrics.h"

#include <cmath>
#include <sstream>

namespace exitscope::core {

namespace {

nlohmann::json figuresToJson(const std::optional<ExpectedFigures>& f) {
    if (!f) return nullptr;
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    return {{"n", f->n}, {"accuracy", num(f->accuracy)}, {"mean_macs", num(f->meanMacs)}, {"mean_ms", num(f->meanMs)}};
}

std::optional<ExpectedFigures> figuresFromJson(const nlohmann::json& j, const std::string& where) {
    if (j.is_null()) return std::nullopt;
    if (!j.is_object()) throw Error(where + " must be an object or null");
    ExpectedFigures f;
    auto num = [&](const char* key) {
        if (!j.contains(key)) throw Error(where + "." + key + " is missing");
        if (j.at(key).is_null()) return std::nan("");
        if (!j.at(key).is_number()) throw Error(where + "." + key + " is not a number");
        return j.at(key).get<double>();
    };
    const double n = num("n");
    // The upper bound keeps the cast below defined (1e300 is a whole number too).
    if (!(n >= 0 && n < 9.2e18) || n != std::floor(n)) throw Error(where + ".n must be a count");
    f.n = static_cast<int64_t>(n);
    f.accuracy = num("accuracy");
    f.meanMacs = num("mean_macs");
    f.meanMs = num("mean_ms");
    return f;
}

void addDifference(std::ostringstream& os, const char* field, const std::string& config, const std::string& other) {
    if (config == other) return;
    os << (os.tellp() > 0 ? "; " : "") << field << " is '" << config << "' in the config but '" << other << "' here";
}

} // namespace

ExpectedFigures expectedFigures(const Trace& trace, const ExitOutcome& outcome) {
    const OutcomeMetrics m = evaluateOutcome(trace, outcome);
    return {m.n, m.accuracy, m.macs.mean, m.ms.mean};
}

TunedConfig makeTunedConfig(const PolicyConfig& policy, const Trace& validation, const Trace* test) {
    TunedConfig c;
    c.model = validation.meta("model");
    c.weightsHash = validation.meta("weights_hash");
    c.dataset = validation.meta("dataset");
    c.numExits = validation.numExits;
    c.numClasses = validation.numClasses;
    c.policy = policy;
    c.validation = expectedFigures(validation, applyPolicy(validation, policy));
    if (test) {
        checkConfigMatchesTrace(c, *test, "test trace");
        c.test = expectedFigures(*test, applyPolicy(*test, policy));
    }
    return c;
}

nlohmann::json configToJson(const TunedConfig& c) {
    nlohmann::json j = {
        {"schema", TunedConfig::kSchema},
        {"model", {{"name", c.model}, {"weights_hash", c.weightsHash}, {"dataset", c.dataset},
                   {"num_exits", c.numExits}, {"num_classes", c.numClasses}}},
        {"policy", policyToJson(c.policy)},
        {"expected", {{"validation", figuresToJson(c.validation)}, {"test", figuresToJson(c.test)}}},
    };
    if (c.elastic) j["elastic"] = elasticSettingsToJson(*c.elastic);
    return j;
}

TunedConfig configFromJson(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw Error(where + ": a tuned config must be a JSON object");
    if (!j.contains("schema") || !j.at("schema").is_number_integer())
        throw Error(where + ": 'schema' is missing (not an ExitScope tuned config?)");
    const auto schema = j.at("schema").get<int64_t>();
    if (schema != TunedConfig::kSchema)
        throw Error(where + ": schema " + std::to_string(schema) + " is not supported (this ExitScope reads schema " +
                    std::to_string(TunedConfig::kSchema) + ")");
    TunedConfig c;
    if (!j.contains("model") || !j.at("model").is_object()) throw Error(where + ": 'model' is missing");
    const auto& m = j.at("model");
    auto str = [&](const char* key) {
        if (!m.contains(key) || !m.at(key).is_string()) throw Error(where + ": model." + key + " is missing or not a string");
        return m.at(key).get<std::string>();
    };
    auto count = [&](const char* key, int64_t lo, int64_t hi) {
        if (!m.contains(key) || !m.at(key).is_number_integer()) throw Error(where + ": model." + key + " is missing or not an integer");
        const auto v = m.at(key).get<int64_t>();
        if (v < lo || v > hi) throw Error(where + ": model." + key + " = " + std::to_string(v) + " is out of range");
        return v;
    };
    c.model = str("name");
    c.weightsHash = str("weights_hash");
    c.dataset = str("dataset");
    c.numExits = count("num_exits", 1, 4096);
    c.numClasses = count("num_classes", 2, 1'000'000);
    if (!j.contains("policy")) throw Error(where + ": 'policy' is missing");
    c.policy = policyFromJson(j.at("policy"), where);
    try {
        checkPolicyConfig(c.policy, c.numExits);
    } catch (const Error& e) {
        throw Error(where + ": policy: " + e.what());
    }
    if (j.contains("expected")) {
        const auto& e = j.at("expected");
        if (!e.is_object()) throw Error(where + ": 'expected' must be an object");
        if (e.contains("validation")) c.validation = figuresFromJson(e.at("validation"), where + ": expected.validation");
        if (e.contains("test")) c.test = figuresFromJson(e.at("test"), where + ": expected.test");
    }
    if (j.contains("elastic") && !j.at("elastic").is_null())
        c.elastic = elasticSettingsFromJson(j.at("elastic"), c.numExits, where + ": elastic");
    return c;
}

void saveConfig(const TunedConfig& config, const std::string& path) {
    const std::string text = configToJson(config).dump(2) + "\n";
    writeFileAtomically(path, [&](std::ostream& out) { out << text; });
}

TunedConfig loadConfig(const std::string& path) {
    const auto bytes = readFileBytes(path, uint64_t{64} << 20);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(withoutUtf8Bom(std::string(bytes.begin(), bytes.end())));
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": not valid JSON: " + e.what());
    }
    try {
        return configFromJson(j, path);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": bad config: " + e.what());
    } catch (const Error& e) {
        // A few nested parsers (policy kind, criterion names) do not know the file.
        if (std::string(e.what()).find(path) != std::string::npos) throw;
        throw Error(path + ": " + e.what());
    }
}

void checkConfigMatchesModel(const TunedConfig& config, const std::string& model, const std::string& weightsHash,
                             int64_t numExits, int64_t numClasses, const std::string& where) {
    std::ostringstream os;
    addDifference(os, "model", config.model, model);
    addDifference(os, "weights hash", config.weightsHash, weightsHash);
    addDifference(os, "number of exits", std::to_string(config.numExits), std::to_string(numExits));
    addDifference(os, "number of classes", std::to_string(config.numClasses), std::to_string(numClasses));
    if (os.tellp() > 0) throw Error(where + ": the config was tuned for other weights: " + os.str());
}

void checkConfigMatchesTrace(const TunedConfig& config, const Trace& trace, const std::string& where) {
    checkConfigMatchesModel(config, trace.meta("model"), trace.meta("weights_hash"), trace.numExits,
                            trace.numClasses, where);
}

} // namespace exitscope::core
