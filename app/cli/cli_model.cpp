#include "app/cli/cli_model.h"

#include "core/common/error.h"
#include "core/data/class_match.h"
#include "core/data/registry.h"
#include "core/model/model_loader.h"

#include <cstdio>

namespace exitscope::app {

std::shared_ptr<core::MultiExitNet> loadModelFromArgs(const CliArgs& args, const std::string& key) {
    core::Normalisation norm;
    if (args.has("mean") != args.has("std")) throw core::Error("give both --mean and --std, or neither");
    for (double m : args.getDoubles("mean")) norm.mean.push_back(static_cast<float>(m));
    for (double s : args.getDoubles("std")) {
        if (!(s > 0)) throw core::Error("--std: " + std::to_string(s) + " is not > 0");
        norm.std.push_back(static_cast<float>(s));
    }
    if (norm.mean.size() != norm.std.size())
        throw core::Error("--mean and --std need the same number of values (one per input channel)");
    return core::loadModel(args.require(key), norm);
}

core::Dataset loadDataForModel(const CliArgs& args, const core::ModelSpec& spec) {
    core::DatasetOptions dopts;
    // Without --val: 5,000 of 50,000 or more train images, else 10% (core::autoValidationSize).
    if (args.has("val")) dopts.numVal = args.getInt("val", 0, 0, 1'000'000'000);
    dopts.seed = static_cast<uint64_t>(args.getInt("seed", 0, 0, 1LL << 62));
    dopts.channels = spec.channels;
    dopts.height = spec.height;
    dopts.width = spec.width;
    core::Dataset data = core::loadDataset(args.require("data"), dopts);
    // Before any image runs: labels must mean the model's classes.
    std::string note;
    core::matchClassesToModel(data, spec.classNames, args.has("classes-by-order"), note);
    if (!note.empty()) std::fprintf(stderr, "note: %s\n", note.c_str());
    return data;
}

} // namespace exitscope::app
