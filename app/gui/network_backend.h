#pragma once

// The app's door to the networks. LibTorch takes about a second to load, so
// the app does not link it: everything that runs a network lives in a
// plugin (app/network/network_plugin.cpp, libexitscope_network.so) that is
// loaded the first time a network is needed, or in the background just
// after the window first paints (preloadNetworkBackend).

#include "core/common/progress.h"
#include "core/data/dataset.h"
#include "core/explain/gradcam.h"
#include "core/model/model_info.h"
#include "core/policy/policy.h"
#include "core/profile/profiler.h"
#include "core/train/trainer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::app {

/// One image through the real early-exit executor.
struct LiveResult {
    int64_t numExits = 0;
    int64_t exitTaken = -1;
    int64_t prediction = -1;
    std::vector<int64_t> exitsEvaluated;
    std::vector<float> scores;  ///< the value the policy compared at each exit evaluated (core::ExecutedSample::scores)
};

/// What the network plugin does; every method may throw core::Error (and
/// core::Cancelled where a CancelFlag is taken). Thread-safe: live runs and
/// background jobs call it from their own worker threads.
class NetworkBackend {
public:
    virtual ~NetworkBackend() = default;
    /// The spec stored in a checkpoint (no weights are loaded).
    virtual core::ModelSpec readCheckpointSpec(const std::string& path) = 0;
    /// Runs image `index` of `images` through the weights at `weights`
    /// (loaded once and kept until another path is asked for).
    virtual LiveResult runImage(const std::string& weights, const core::ImageSet& images, int64_t index,
                                const core::PolicyConfig& policy, const std::vector<float>& exitMs) = 0;
    /// The model spec of `weights` (checkpoint or TorchScript), through the same cache as runImage.
    virtual core::ModelSpec modelSpec(const std::string& weights) = 0;
    /// Profiles `weights` on a data set (name or path) into a trace at `out`.
    virtual void profile(const std::string& weights, const std::string& dataset, const core::ProfileOptions& options,
                         const std::string& out, const core::ProgressFn& progress, const core::CancelFlag& cancel) = 0;
    /// Trains a zoo model on a data set and saves it at `out`.
    virtual void train(const core::ModelSpec& spec, const std::string& dataset, const core::TrainOptions& options,
                       const std::string& out, const core::ProgressFn& progress, const core::CancelFlag& cancel) = 0;
    virtual std::vector<std::string> zooModelNames() = 0;
    /// Grad-CAM of exits 0..lastExit for image `index` of `images`
    /// (core/explain/gradcam.h), on a copy of the network of its own.
    virtual std::vector<core::ExitAttention> explainImage(const std::string& weights, const core::ImageSet& images,
                                                          int64_t index, int64_t lastExit) = 0;
    /// Writes a deployable TorchScript file of `weights` with the tuned
    /// config at `configPath` inside (core/export/deploy.h), and its device
    /// and server halves when `splitAfter` >= 0. Loads its own copy of the
    /// network, so live runs are not disturbed. Returns the files written,
    /// the whole file first.
    virtual std::vector<std::string> exportDeployable(const std::string& weights, const std::string& configPath, const std::string& out,
                                  int64_t splitAfter, const core::ProgressFn& progress, const core::CancelFlag& cancel) = 0;
};

/// The plugin's backend, loaded on the first call (blocking that caller
/// about a second; later calls return at once). Error naming the plugin file
/// and the loader's message when it cannot be loaded.
NetworkBackend& networkBackend();
/// Starts loading the plugin on a thread of its own and returns at once
/// (once per process).
void preloadNetworkBackend();
/// Waits for a load that preloadNetworkBackend started; call before the process ends.
void finishNetworkPreload();
/// Whether the plugin is loaded (networkBackend() would not block).
bool networkBackendReady();
/// Where the plugin is looked for: $EXITSCOPE_NETWORK_PLUGIN, next to the
/// program, the install's lib/exitscope, then the build tree's.
std::string networkPluginPath();

} // namespace exitscope::app

/// The plugin's one exported function (C linkage, so that it is found by name).
extern "C" exitscope::app::NetworkBackend* exitscope_network_backend_v1();
