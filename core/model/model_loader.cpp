#include "core/model/model_loader.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/zip_check.h"
#include "core/model/checkpoint.h"
#include "core/model/torchscript_net.h"

namespace exitscope::core {

std::shared_ptr<MultiExitNet> loadModel(const std::string& path, const Normalisation& normalisationOverride) {
    requireRegularFile(path);
    try {
        // Both formats are zip archives; a damaged one is neither.
        checkZipIntegrity(path);
    } catch (const Error& e) {
        const std::string what = e.what();
        const auto why = what.find(": damaged or not a zip archive");
        throw Error(path + ": not a model file, neither an ExitScope checkpoint nor TorchScript (" +
                    (why == std::string::npos ? what : what.substr(why + 2)) + ")");
    }
    std::string checkpointError;
    try {
        readCheckpointSpec(path);
    } catch (const Error& e) {
        checkpointError = e.what();
    }
    if (checkpointError.empty()) {
        if (!normalisationOverride.mean.empty())
            throw Error(path + ": a checkpoint keeps the normalisation it was trained with; --mean/--std apply to "
                               "imported TorchScript models only");
        return loadCheckpoint(path);
    }
    try {
        return loadTorchScriptModel(path, normalisationOverride);
    } catch (const Error& e) {
        const std::string what = e.what();
        // A file that is TorchScript but breaks the convention gets that
        // precise message alone; one that is neither format gets both reasons.
        if (what.find("not a TorchScript model") == std::string::npos) throw;
        if (checkpointError.find("not a LibTorch checkpoint archive") != std::string::npos)
            throw Error(path + ": not a model file, neither an ExitScope checkpoint nor TorchScript (" +
                        what.substr(what.find('(') + 1));
        throw Error(path + ": neither an ExitScope checkpoint (" + checkpointError + ") nor a TorchScript model (" +
                    what.substr(what.find('(') + 1));
    }
}

} // namespace exitscope::core
