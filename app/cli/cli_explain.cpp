// exitscope-cli explain: what each exit an image reached looked at (Grad-CAM,
// core/explain/gradcam.h), as PNG overlays and one side-by-side picture.
#include "app/cli/cli_args.h"
#include "app/cli/cli_commands.h"
#include "app/cli/cli_model.h"
#include "core/common/error.h"
#include "core/config/tuned_config.h"
#include "core/data/registry.h"
#include "core/executor/executor.h"
#include "core/explain/gradcam.h"
#include "core/explain/overlay.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"
#include "core/policy/confidence.h"

#include <cstdio>
#include <filesystem>

namespace exitscope::app {

int runExplain(const std::vector<std::string>& argv) {
    const CliArgs args(argv, "explain");
    const std::string outDir = args.require("out");
    const auto index = args.getInt("index", 0, 0, 1'000'000'000);
    if (!args.has("index")) throw core::Error("explain: --index I (the position in the split, from 0) is required");
    const auto split = core::parseSplitKind(args.get("split", "test"));
    const int scale = static_cast<int>(args.getInt("scale", 8, 1, 64));
    const auto threshold = static_cast<float>(args.getDouble("threshold", 0.9, 0.0, 1.0));
    core::applyThreadCount(static_cast<int>(args.getInt("threads", 0, 0, 256)));
    auto net = loadModelFromArgs(args);
    const auto data = loadDataForModel(args, net->spec());
    const auto& images = data.imagesOf(split);
    core::checkInputCompatible(images, net->spec());
    const auto& indices = data.indicesOf(split);
    if (index >= static_cast<int64_t>(indices.size()))
        throw core::Error("--index " + std::to_string(index) + ": the " + core::toString(split) + " split has " +
                          std::to_string(indices.size()) + " images (0.." + std::to_string(indices.size() - 1) + ")");
    const int64_t image = indices[static_cast<std::size_t>(index)];

    // Where the image leaves under the policy, from the real executor.
    core::PolicyConfig policy;
    if (args.has("config")) {
        const auto config = core::loadConfig(args.get("config"));
        const auto& spec = net->spec();
        core::checkConfigMatchesModel(config, spec.name, spec.weightsHash, net->numExits(), spec.numClasses(), args.get("config"));
        policy = config.policy;
    } else {
        policy.confidence.thresholds.assign(static_cast<std::size_t>(net->numExits() - 1), threshold);
    }
    int64_t taken = 0;
    {
        core::EarlyExitExecutor executor(net, policy);
        c10::InferenceMode inference;
        taken = executor.run(core::imagesToTensor(images, {image}, net->spec().normalisation)).at(0).exitTaken;
    }
    const int64_t last = args.has("all-exits") ? net->numExits() - 1 : taken;
    const auto maps = core::gradCam(*net, images, image, last);

    std::error_code ec;
    std::filesystem::create_directories(outDir, ec);
    if (ec || !std::filesystem::is_directory(outDir)) throw core::Error(outDir + ": cannot make the folder (" + ec.message() + ")");
    const uint8_t* pixels = images.image(static_cast<std::size_t>(image));
    const auto& names = net->spec().classNames;
    const std::string truth = names.at(static_cast<std::size_t>(images.labels.at(static_cast<std::size_t>(image))));
    std::vector<core::RgbImage> tiles;
    std::vector<std::string> captions;
    std::printf("image %lld of the %s split (true class %s) leaves at exit %lld\n", static_cast<long long>(index),
                core::toString(split).c_str(), truth.c_str(), static_cast<long long>(taken));
    for (const auto& a : maps) {
        const auto tile = core::attentionOverlay(pixels, images.channels, images.height, images.width, a.map, scale);
        const std::string file = outDir + "/exit" + std::to_string(a.exit) + ".png";
        core::writePng(tile, file);
        const std::string& predicted = names.at(static_cast<std::size_t>(a.prediction));
        std::printf("  exit %lld: %s (%.2f), map from a %lldx%lld feature map -> %s\n", static_cast<long long>(a.exit),
                    predicted.c_str(), a.confidence, static_cast<long long>(a.featureWidth),
                    static_cast<long long>(a.featureHeight), file.c_str());
        tiles.push_back(tile);
        char conf[16];
        std::snprintf(conf, sizeof conf, "%.2f", a.confidence);
        captions.push_back("exit " + std::to_string(a.exit) + (a.exit == taken ? " (leaves)" : "") + "\n" + predicted + " " + conf);
    }
    const std::string all = outDir + "/exits.png";
    core::writePng(core::montage(tiles, captions), all);
    std::printf("  side by side -> %s\n", all.c_str());
    return 0;
}

} // namespace exitscope::app
