// The network plugin (libexitscope_network.so): the one part of the app
// that links LibTorch, loaded on demand by app/gui/network_backend.cpp.
#include "core/config/tuned_config.h"
#include "core/executor/executor.h"
#include "core/explain/gradcam.h"
#include "core/export/deploy.h"
#include "core/model/checkpoint.h"
#include "core/model/model_loader.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"
#include "core/model/zoo.h"

#include "app/gui/network_backend.h"

#include "core/common/allocator.h"
#include "core/common/error.h"
#include "core/data/class_match.h"
#include "core/data/registry.h"
#include "core/trace/trace.h"

#include <algorithm>
#include <memory>
#include <mutex>

namespace exitscope::app {

namespace {

class TorchBackend final : public NetworkBackend {
public:
    core::ModelSpec readCheckpointSpec(const std::string& path) override { return core::readCheckpointSpec(path); }

    core::ModelSpec modelSpec(const std::string& weights) override { return net(weights)->spec(); }

    LiveResult runImage(const std::string& weights, const core::ImageSet& images, int64_t index,
                        const core::PolicyConfig& policy, const std::vector<float>& exitMs) override {
        auto model = net(weights);
        if (index < 0 || static_cast<std::size_t>(index) >= images.size())
            throw core::Error("image " + std::to_string(index) + " is outside the " + std::to_string(images.size()) +
                              " images of " + images.name);
        const core::ModelSpec& spec = model->spec();
        core::checkInputCompatible(images, spec);
        // Inference mode belongs to the thread that runs the network: this one.
        c10::InferenceMode inference;
        core::EarlyExitExecutor executor(model, policy, torch::kCPU, exitMs);
        const auto results = executor.run(core::imagesToTensor(images, {index}, spec.normalisation));
        const core::ExecutedSample& s = results.at(0);
        LiveResult r;
        r.numExits = model->numExits();
        r.exitTaken = s.exitTaken;
        r.prediction = s.prediction;
        r.exitsEvaluated = s.exitsEvaluated;
        r.scores = s.scores;
        return r;
    }

    void profile(const std::string& weights, const std::string& dataset, const core::ProfileOptions& options,
                 const std::string& out, const core::ProgressFn& progress, const core::CancelFlag& cancel) override {
        progress({0.0, "loading " + weights + " and " + dataset});
        auto model = core::loadModel(weights);
        core::DatasetOptions dopts;  // image folders take the model's input shape
        dopts.channels = model->spec().channels;
        dopts.height = model->spec().height;
        dopts.width = model->spec().width;
        core::Dataset ds = core::loadDataset(dataset, dopts);
        // Before any image runs: labels must mean the model's classes.
        std::string note;
        core::matchClassesToModel(ds, model->spec().classNames, false, note);
        if (!note.empty()) progress({0.0, note});
        core::throwIfCancelled(&cancel);
        const core::Trace trace = core::profileModel(*model, ds, options, progress, &cancel);
        core::writeTrace(trace, out);
    }

    void train(const core::ModelSpec& spec, const std::string& dataset, const core::TrainOptions& options,
               const std::string& out, const core::ProgressFn& progress, const core::CancelFlag& cancel) override {
        progress({0.0, "loading " + dataset});
        const core::Dataset ds = core::loadDataset(dataset);
        core::ModelSpec full = spec;
        full.channels = ds.trainImages.channels;
        full.height = ds.trainImages.height;
        full.width = ds.trainImages.width;
        full.classNames = ds.trainImages.classNames;
        full.dataset = ds.name;
        auto model = core::buildModel(full);
        const auto onBatch = [&](const core::TrainProgress& p) {
            const double fraction =
                (static_cast<double>(p.epoch - 1) +
                 static_cast<double>(p.batch) / static_cast<double>(std::max<int64_t>(1, p.batches))) /
                static_cast<double>(std::max<int64_t>(1, p.epochs));
            progress({fraction, "epoch " + std::to_string(p.epoch) + "/" + std::to_string(p.epochs) + ", loss " +
                                    std::to_string(p.loss)});
        };
        core::trainModel(*model, ds, options, onBatch, &cancel);
        core::saveCheckpoint(*model, out);
    }

    std::vector<std::string> zooModelNames() override { return core::zooModelNames(); }

    std::vector<core::ExitAttention> explainImage(const std::string& weights, const core::ImageSet& images, int64_t index,
                                                  int64_t lastExit) override {
        // Its own copy: gradients need the network out of the live runs' InferenceMode.
        auto model = core::loadModel(weights);
        return core::gradCam(*model, images, index, lastExit);
    }

    std::vector<std::string> exportDeployable(const std::string& weights, const std::string& configPath, const std::string& out,
                          int64_t splitAfter, const core::ProgressFn& progress, const core::CancelFlag& cancel) override {
        progress({0.0, "loading " + weights});
        const auto config = core::loadConfig(configPath);
        auto model = core::loadModel(weights);
        const auto& spec = model->spec();
        core::checkConfigMatchesModel(config, spec.name, spec.weightsHash, model->numExits(), spec.numClasses(), configPath);
        core::throwIfCancelled(&cancel);
        progress({0.3, "tracing the blocks and compiling the control code"});
        const bool imported = spec.name.rfind("torchscript:", 0) == 0;
        core::exportDeployable(*model, config, imported ? weights : std::string(), out, splitAfter);
        progress({1.0, "wrote " + out});
        if (splitAfter < 0) return {out};
        const auto halves = core::splitPartPaths(out);
        return {out, halves.first, halves.second};
    }

private:
    // The loaded network, shared by live runs; a path change reloads it.
    std::shared_ptr<core::MultiExitNet> net(const std::string& wanted) {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_net || m_path != wanted) {
            m_net = core::loadModel(wanted);
            m_path = wanted;
        }
        return m_net;
    }

    std::mutex m_mutex;
    std::string m_path;
    std::shared_ptr<core::MultiExitNet> m_net;
};

} // namespace

} // namespace exitscope::app

extern "C" __attribute__((visibility("default"))) exitscope::app::NetworkBackend* exitscope_network_backend_v1() {
    static exitscope::app::TorchBackend backend = [] {
        exitscope::core::keepFreedMemoryForReuse();
        return exitscope::app::TorchBackend();
    }();
    return &backend;
}
