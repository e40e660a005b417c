#include "core/model/model_info.h"

#include "core/common/error.h"

namespace exitscope::core {

nlohmann::json ModelSpec::toJson() const {
    return nlohmann::json{
        {"name", name},
        {"options", options},
        {"input_shape", {channels, height, width}},
        {"class_names", classNames},
        {"normalisation", {{"mean", normalisation.mean}, {"std", normalisation.std}}},
        {"dataset", dataset},
        {"weights_hash", weightsHash},
    };
}

ModelSpec ModelSpec::fromJson(const nlohmann::json& j, const std::string& where) {
    ModelSpec spec;
    try {
        if (!j.is_object()) throw Error(where + ": model spec is not a JSON object");
        spec.name = j.at("name").get<std::string>();
        spec.options = j.value("options", nlohmann::json::object());
        const auto shape = j.at("input_shape").get<std::vector<int64_t>>();
        if (shape.size() != 3) throw Error(where + ": input_shape must have 3 entries (C, H, W)");
        spec.channels = shape[0];
        spec.height = shape[1];
        spec.width = shape[2];
        spec.classNames = j.at("class_names").get<std::vector<std::string>>();
        const auto& norm = j.at("normalisation");
        spec.normalisation.mean = norm.at("mean").get<std::vector<float>>();
        spec.normalisation.std = norm.at("std").get<std::vector<float>>();
        spec.dataset = j.value("dataset", std::string());
        spec.weightsHash = j.value("weights_hash", std::string());
    } catch (const nlohmann::json::exception& e) {
        throw Error(where + ": bad model spec: " + e.what());
    }
    if (spec.channels != 1 && spec.channels != 3)
        throw Error(where + ": input channels must be 1 or 3, not " + std::to_string(spec.channels));
    if (spec.height < 8 || spec.width < 8 || spec.height > 4096 || spec.width > 4096)
        throw Error(where + ": input size " + std::to_string(spec.height) + "x" +
                    std::to_string(spec.width) + " is outside 8..4096");
    if (spec.classNames.size() < 2)
        throw Error(where + ": a model needs at least 2 classes");
    if (spec.normalisation.mean.size() != static_cast<std::size_t>(spec.channels) ||
        spec.normalisation.std.size() != static_cast<std::size_t>(spec.channels))
        throw Error(where + ": normalisation needs one mean and std per channel");
    for (float s : spec.normalisation.std)
        if (!(s > 0.0f)) throw Error(where + ": normalisation std must be positive");
    return spec;
}

int64_t ModelCosts::backboneMacs() const {
    int64_t total = 0;
    for (const auto& b : blocks) total += b.macs;
    return total;
}

int64_t ModelCosts::cumulativeExitMacs(std::size_t k) const {
    int64_t total = 0;
    for (int64_t b = 0; b <= exits.at(k).afterBlock; ++b) total += blocks.at(static_cast<std::size_t>(b)).macs;
    for (std::size_t j = 0; j <= k; ++j) total += exits[j].macs;
    return total;
}

int64_t ModelCosts::cumulativeExitParams(std::size_t k) const {
    int64_t total = 0;
    for (int64_t b = 0; b <= exits.at(k).afterBlock; ++b) total += blocks.at(static_cast<std::size_t>(b)).params;
    for (std::size_t j = 0; j <= k; ++j) total += exits[j].params;
    return total;
}

double ModelCosts::backboneFractionAtExit(std::size_t k) const {
    int64_t done = 0;
    for (int64_t b = 0; b <= exits.at(k).afterBlock; ++b) done += blocks.at(static_cast<std::size_t>(b)).macs;
    const int64_t total = backboneMacs();
    return total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
}

} // namespace exitscope::core
