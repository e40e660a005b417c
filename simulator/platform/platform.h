#pragma once

#include "core/trace/trace.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace exitscope::simulator {

/// How a platform's compute time is derived from a trace.
enum class SpeedModel {
    /// time = measured ms on the profiling machine / relativeSpeed: the
    /// trace's block_ms and head_ms are scaled, never invented.
    RelativeSpeed,
    /// time = MACs * 2 / (GFLOP/s * 1e9) * 1000 ms: an effective (achieved,
    /// not peak) throughput applied to the trace's block_macs and head_macs.
    Gflops,
};

/// A device or server that runs part of a network. Its time for a piece of
/// work comes from the trace's measurements (see SpeedModel), and is then
/// stretched by the share of the platform other work keeps busy:
/// time / (1 - load).
struct Platform {
    std::string name = "profiling machine";
    std::string note;  ///< where the figure comes from (presets say how rough it is)
    SpeedModel speedModel = SpeedModel::RelativeSpeed;
    double relativeSpeed = 1.0;  ///< used when speedModel is RelativeSpeed; 2.0 = twice as fast
    double gflops = 0.0;         ///< effective GFLOP/s, used when speedModel is Gflops
    double load = 0.0;           ///< busy fraction in [0, 1): 0.5 doubles every time

    /// A platform `speed` times as fast as the profiling machine.
    static Platform withRelativeSpeed(const std::string& name, double speed, double load = 0.0);
    /// A platform that achieves `gflops` effective GFLOP/s.
    static Platform withGflops(const std::string& name, double gflops, double load = 0.0);

    /// Milliseconds for work that took `measuredMs` on the profiling machine
    /// and counts `macs` multiply-accumulates, on this platform under its load.
    double computeMs(double measuredMs, double macs) const;

    /// Milliseconds for work measured on the profiling machine that has no
    /// MAC count (encoding, decoding). A Gflops platform scales it by
    /// gflops / `profilingRate`, the profiling machine's effective rate
    /// (see profilingGflops()); a RelativeSpeed platform by its speed.
    double measuredWorkMs(double measuredMs, double profilingRate) const;
};

/// Checks a platform: the speed its model uses is a positive finite number
/// and load is in [0, 1) (a load of 1 leaves no time for this work at all).
/// Error beginning with `where` and naming the field otherwise.
void checkPlatform(const Platform& platform, const std::string& where);

/// The effective GFLOP/s of the machine that profiled `trace`: 2 * the sum
/// of block_macs / the sum of block_ms. Error when the trace has no block
/// times or MACs to divide.
double profilingGflops(const core::Trace& trace);

/// "relative-speed" or "gflops".
std::string speedModelName(SpeedModel model);

/// A platform from JSON: {"name": s, "note": s, "relative_speed": x} or
/// {..., "gflops": x}, with an optional "load". Exactly one of
/// relative_speed and gflops must be given. Unknown keys are rejected (a
/// misspelt "laod" would otherwise be silently ignored). Error beginning
/// with `where` and naming the field. "name" defaults to `defaultName`.
Platform platformFromJson(const nlohmann::json& j, const std::string& where, const std::string& defaultName = "");

/// The JSON form platformFromJson reads.
nlohmann::json platformToJson(const Platform& platform);

/// Reads a platform JSON file; its name defaults to the file's stem. Error
/// naming the file and the field.
Platform loadPlatform(const std::string& path);

/// Where the bundled presets live: $EXITSCOPE_ASSETS/platforms when that
/// variable is set, else the source tree's assets/platforms.
std::string platformPresetDir();

/// The preset names (file stems of *.json) in `presetDir`, sorted.
std::vector<std::string> platformPresetNames(const std::string& presetDir = platformPresetDir());

/// A preset by name ("phone-class", "raspberry-pi-class", "jetson-class",
/// "gpu-server") or a JSON file by path: text that names an existing file
/// or ends in ".json" is a path. Error naming the text and the known
/// presets when it is neither.
Platform loadPlatformSpec(const std::string& nameOrPath, const std::string& presetDir = platformPresetDir());

}  // namespace exitscope::simulator
