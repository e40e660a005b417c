#include "core/model/checkpoint.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/zip_check.h"
#include "core/common/format.h"
#include "core/model/multi_exit_net.h"
#include "core/model/zoo.h"

#include <filesystem>
#include <map>

namespace exitscope::core {

namespace {

constexpr const char* kSpecKey = "exitscope_spec";
constexpr const char* kFormatKey = "exitscope_format";
constexpr int64_t kFormatVersion = 1;

torch::serialize::InputArchive openArchive(const std::string& path) {
    checkZipIntegrity(path);
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path);
    } catch (const c10::Error& e) {
        throw Error(path + ": not a LibTorch checkpoint archive (" + firstLineOf(e.what_without_backtrace(), 200) + ")");
    } catch (const std::exception& e) {
        // A damaged archive can hold TorchScript type tables that fail to
        // compile; LibTorch reports those as multi-line source excerpts.
        throw Error(path + ": not a LibTorch checkpoint archive (" + firstLineOf(e.what(), 200) + ")");
    }
    return archive;
}

ModelSpec specFromArchive(torch::serialize::InputArchive& archive, const std::string& path) {
    c10::IValue format, specText;
    if (!archive.try_read(kFormatKey, format) || !format.isInt() || format.toInt() != kFormatVersion)
        throw Error(path + ": not an ExitScope checkpoint (missing or unknown '" + kFormatKey + "')");
    if (!archive.try_read(kSpecKey, specText) || !specText.isString())
        throw Error(path + ": checkpoint has no model spec");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(specText.toStringRef());
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": model spec is not valid JSON: " + e.what());
    }
    return ModelSpec::fromJson(j, path);
}

} // namespace

void saveCheckpoint(MultiExitNet& net, const std::string& path) {
    net.spec().weightsHash = net.contentHash();
    torch::serialize::OutputArchive archive;
    archive.write(kFormatKey, c10::IValue(kFormatVersion));
    archive.write(kSpecKey, c10::IValue(net.spec().toJson().dump()));
    net.save(archive);
    writeFileAtomically(path, [&archive](std::ostream& out) {
        try {
            archive.save_to(out);
        } catch (const c10::Error& e) {
            throw Error(std::string("cannot serialise the checkpoint: ") + e.what_without_backtrace());
        }
    });
}

ModelSpec readCheckpointSpec(const std::string& path) {
    auto archive = openArchive(path);
    return specFromArchive(archive, path);
}

std::shared_ptr<MultiExitNet> loadCheckpoint(const std::string& path, const std::string& expectedModel) {
    auto archive = openArchive(path);
    const ModelSpec spec = specFromArchive(archive, path);
    if (!expectedModel.empty() && spec.name != expectedModel)
        throw Error(path + ": checkpoint holds model '" + spec.name + "', not '" + expectedModel + "'");
    auto net = buildModel(spec);
    // Module::load replaces tensors wholesale, whatever their shape, so the
    // architecture's shapes are recorded first and compared afterwards.
    std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
    for (const auto& p : net->named_parameters(true)) expected.emplace_back(p.key(), p.value().sizes().vec());
    for (const auto& b : net->named_buffers(true)) expected.emplace_back(b.key(), b.value().sizes().vec());
    try {
        net->load(archive);
    } catch (const c10::Error& e) {
        throw Error(path + ": weights do not fit the '" + spec.name + "' architecture: " +
                    firstLineOf(e.what_without_backtrace(), 300));
    } catch (const std::exception& e) {
        throw Error(path + ": weights do not fit the '" + spec.name + "' architecture: " + firstLineOf(e.what(), 300));
    }
    std::map<std::string, std::vector<int64_t>> actual;
    for (const auto& p : net->named_parameters(true)) actual[p.key()] = p.value().sizes().vec();
    for (const auto& b : net->named_buffers(true)) actual[b.key()] = b.value().sizes().vec();
    for (const auto& [name, shape] : expected) {
        const auto it = actual.find(name);
        if (it == actual.end() || it->second != shape)
            throw Error(path + ": weights do not fit the '" + spec.name + "' architecture: '" + name + "' has shape " +
                        (it == actual.end() ? std::string("(missing)") : c10::str(c10::IntArrayRef(it->second))) +
                        ", the model needs " + c10::str(c10::IntArrayRef(shape)));
    }
    const std::string hash = net->contentHash();
    if (!spec.weightsHash.empty() && hash != spec.weightsHash)
        throw Error(path + ": weights hash " + hash + " differs from the recorded " + spec.weightsHash +
                    " (file altered or corrupt)");
    net->spec().weightsHash = hash;
    net->eval();
    return net;
}

} // namespace exitscope::core
