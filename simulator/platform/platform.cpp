#include "simulator/platform/platform.h"

#include "core/common/format.h"
#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace exitscope::simulator {

namespace fs = std::filesystem;
using core::Error;

namespace {

std::string number(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

void checkPositive(double v, const std::string& where, const char* field) {
    if (!std::isfinite(v) || v <= 0.0)
        throw Error(where + ": " + field + " = " + number(v) + " must be a positive number");
}

double positiveField(const nlohmann::json& j, const std::string& where, const char* key) {
    const auto& v = j.at(key);
    if (!v.is_number()) throw Error(where + ": " + key + " must be a number");
    const double x = v.get<double>();
    checkPositive(x, where, key);
    return x;
}

}  // namespace

Platform Platform::withRelativeSpeed(const std::string& name, double speed, double load) {
    Platform p;
    p.name = name;
    p.speedModel = SpeedModel::RelativeSpeed;
    p.relativeSpeed = speed;
    p.load = load;
    return p;
}

Platform Platform::withGflops(const std::string& name, double gflops, double load) {
    Platform p;
    p.name = name;
    p.speedModel = SpeedModel::Gflops;
    p.gflops = gflops;
    p.load = load;
    return p;
}

double Platform::computeMs(double measuredMs, double macs) const {
    const double ms =
        speedModel == SpeedModel::Gflops ? macs * 2.0 / (gflops * 1e9) * 1000.0 : measuredMs / relativeSpeed;
    return ms / (1.0 - load);
}

double Platform::measuredWorkMs(double measuredMs, double profilingRate) const {
    const double speed = speedModel == SpeedModel::Gflops ? gflops / profilingRate : relativeSpeed;
    return measuredMs / speed / (1.0 - load);
}

void checkPlatform(const Platform& p, const std::string& where) {
    const std::string at = where.empty() ? "platform '" + p.name + "'" : where;
    if (p.speedModel == SpeedModel::Gflops)
        checkPositive(p.gflops, at, "gflops");
    else
        checkPositive(p.relativeSpeed, at, "relative_speed");
    if (!std::isfinite(p.load) || p.load < 0.0 || p.load >= 1.0)
        throw Error(at + ": load = " + number(p.load) + " must be in [0, 1) (the busy fraction of the platform)");
}

double profilingGflops(const core::Trace& trace) {
    double macs = 0, ms = 0;
    for (auto m : trace.blockMacs) macs += static_cast<double>(m);
    for (auto t : trace.blockMs) ms += static_cast<double>(t);
    if (!(macs > 0) || !(ms > 0))
        throw Error("trace: block_macs and block_ms must be positive to derive the profiling machine's GFLOP/s");
    return macs * 2.0 / (ms * 1e6);
}

std::string speedModelName(SpeedModel model) { return model == SpeedModel::Gflops ? "gflops" : "relative-speed"; }

Platform platformFromJson(const nlohmann::json& j, const std::string& where, const std::string& defaultName) {
    if (!j.is_object()) throw Error(where + ": a platform must be a JSON object");
    static const char* const known[] = {"name", "note", "relative_speed", "gflops", "load"};
    for (const auto& item : j.items()) {
        if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return item.key() == k; }) ==
            std::end(known))
            throw Error(where + ": unknown field '" + item.key() +
                        "' (known: name, note, relative_speed, gflops, load)");
    }
    Platform p;
    p.name = defaultName;
    for (const char* key : {"name", "note"}) {
        if (!j.contains(key)) continue;
        if (!j.at(key).is_string()) throw Error(where + ": " + key + " must be a string");
        (std::string(key) == "name" ? p.name : p.note) = j.at(key).get<std::string>();
    }
    if (p.name.empty()) throw Error(where + ": name is missing");
    const bool relative = j.contains("relative_speed"), flops = j.contains("gflops");
    if (relative == flops)
        throw Error(where + (relative ? ": give either relative_speed or gflops, not both"
                                      : ": relative_speed (or gflops) is missing"));
    if (relative) {
        p.speedModel = SpeedModel::RelativeSpeed;
        p.relativeSpeed = positiveField(j, where, "relative_speed");
    } else {
        p.speedModel = SpeedModel::Gflops;
        p.gflops = positiveField(j, where, "gflops");
    }
    if (j.contains("load")) {
        if (!j.at("load").is_number()) throw Error(where + ": load must be a number");
        p.load = j.at("load").get<double>();
    }
    checkPlatform(p, where);
    return p;
}

nlohmann::json platformToJson(const Platform& p) {
    nlohmann::json j = {{"name", p.name}, {"note", p.note}, {"load", p.load}};
    if (p.speedModel == SpeedModel::Gflops)
        j["gflops"] = p.gflops;
    else
        j["relative_speed"] = p.relativeSpeed;
    return j;
}

Platform loadPlatform(const std::string& path) {
    const auto bytes = core::readFileBytes(path, uint64_t{1} << 20);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(core::withoutUtf8Bom(std::string(bytes.begin(), bytes.end())));
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": not valid JSON: " + e.what());
    }
    return platformFromJson(j, path, fs::path(path).stem().string());
}

std::string platformPresetDir() {
    const char* env = std::getenv("EXITSCOPE_ASSETS");
    return (env && *env ? std::string(env) : std::string(EXITSCOPE_SOURCE_DIR) + "/assets") + "/platforms";
}

std::vector<std::string> platformPresetNames(const std::string& presetDir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(presetDir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".json") names.push_back(it->path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

Platform loadPlatformSpec(const std::string& nameOrPath, const std::string& presetDir) {
    std::error_code ec;
    const bool isJson = nameOrPath.size() > 5 && nameOrPath.compare(nameOrPath.size() - 5, 5, ".json") == 0;
    if (isJson || fs::is_regular_file(nameOrPath, ec)) return loadPlatform(nameOrPath);
    const auto names = platformPresetNames(presetDir);
    if (std::find(names.begin(), names.end(), nameOrPath) != names.end())
        return loadPlatform((fs::path(presetDir) / (nameOrPath + ".json")).string());
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw Error("platform '" + nameOrPath + "' is neither a preset (known: " +
                (list.empty() ? "none in " + presetDir : list) + ") nor a JSON file");
}

}  // namespace exitscope::simulator
