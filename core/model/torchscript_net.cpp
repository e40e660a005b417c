#include "core/model/torchscript_net.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/zip_check.h"
#include "core/common/format.h"
#include "core/model/op_mac_counter.h"

#include <torch/script.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>

namespace exitscope::core {

namespace {

/// The first line of a LibTorch message: the rest is a C++ stack dump.
std::string firstLine(const char* what) { return firstLineOf(what); }

/// "[1, 3, 28, 28]", or "[1, 8, 14, 14] + [1, 16, 7, 7]" for a state of several tensors.
std::string shapesOf(const State& state) {
    std::string out;
    for (const auto& t : state) {
        if (!out.empty()) out += " + ";
        out += "[";
        for (int64_t d = 0; d < t.dim(); ++d) out += (d ? ", " : "") + std::to_string(t.size(d));
        out += "]";
    }
    return out;
}

/// A TorchScript interpreter failure in one line: the Python exception's own
/// line ("RuntimeError: Given groups=1, ...") and where the model's source
/// raised it, instead of the two tracebacks LibTorch puts first.
std::string scriptError(const std::string& what) {
    if (what.find("Traceback of TorchScript") == std::string::npos) return firstLine(what.c_str());
    std::vector<std::string> lines;
    std::size_t from = 0;
    while (from <= what.size()) {
        const auto nl = what.find('\n', from);
        lines.push_back(what.substr(from, nl == std::string::npos ? std::string::npos : nl - from));
        if (nl == std::string::npos) break;
        from = nl + 1;
    }
    std::string message, where;
    for (auto it = lines.rbegin(); it != lines.rend() && message.empty(); ++it) {
        const auto colon = it->find("Error: ");
        if (colon != std::string::npos && colon > 0 && it->at(0) != ' ') message = it->substr(colon + 7);
    }
    bool original = false;
    for (const auto& l : lines) {
        if (l.find("Traceback of TorchScript, original code") != std::string::npos) original = true;
        const auto file = l.find("File \"");
        if (original && file != std::string::npos) {
            where = l.substr(file);
            break;
        }
    }
    if (message.empty()) message = firstLine(what.c_str());
    return firstLineOf(message + (where.empty() ? "" : " (" + where + ")"), 400);
}

c10::IValue toIValue(const State& state) {
    c10::List<at::Tensor> list;
    for (const auto& t : state) list.push_back(t);
    return list;
}

/// Shares a scripted submodule's parameters and buffers with an nn::Module,
/// so parameter counts, the content hash and device moves see them.
void adoptTensors(torch::nn::Module& owner, const torch::jit::Module& source) {
    auto clean = [](std::string name) {
        for (auto& c : name)
            if (c == '.') c = '_';
        return name;
    };
    for (const auto& p : source.named_parameters(true)) owner.register_parameter(clean(p.name), p.value, false);
    for (const auto& b : source.named_buffers(true)) owner.register_buffer(clean(b.name), b.value);
}

/// A scripted submodule run for inference through a frozen copy
/// (torch::jit::freeze: parameters inlined as constants, each batch norm
/// folded into the convolution before it, dead code removed), made at the
/// first call on each device. Training, MAC counting (dry runs) and
/// $EXITSCOPE_TORCHSCRIPT_FREEZE=0 run the module as loaded; so does a module
/// that freezing cannot handle. Profiling and the executor both take the
/// frozen path, so a trace and `run` decide on the same numbers.
class InferenceModule {
public:
    explicit InferenceModule(torch::jit::Module module) : m_module(std::move(module)) {}

    torch::jit::Module& loaded() { return m_module; }

    c10::IValue forward(const State& in) { return pick(in.front().device()).forward({toIValue(in)}); }

    void train(bool on) {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_module.train(on);
        m_frozen.reset();  // the weights may change: freeze again when inference resumes
        m_tried = false;
    }

private:
    static bool freezingEnabled() {
        static const bool on = [] {
            const char* v = std::getenv("EXITSCOPE_TORCHSCRIPT_FREEZE");
            return !(v && std::string(v) == "0");
        }();
        return on;
    }

    /// A handle (cheap to copy) to the module to run; the lock makes the
    /// first freeze safe when two threads run the same network.
    torch::jit::Module pick(const c10::Device& device) {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_module.is_training() || MacCounter::active() || !freezingEnabled()) return m_module;
        if (!m_tried || m_device != device) {
            m_tried = true;
            m_device = device;
            m_frozen.reset();
            try {
                m_frozen = torch::jit::freeze(m_module);
            } catch (const std::exception&) {
                // Freezing is an optimisation: what it cannot handle runs as loaded.
            }
        }
        return m_frozen ? *m_frozen : m_module;
    }

    torch::jit::Module m_module;
    std::optional<torch::jit::Module> m_frozen;
    c10::Device m_device = torch::kCPU;
    bool m_tried = false;
    std::mutex m_mutex;
};

/// One block of an imported model: calls its scripted forward.
class ScriptBlock : public Block {
public:
    ScriptBlock(torch::jit::Module module, std::string where, std::optional<int64_t> macs, bool relu)
        : m_module(std::move(module)), m_where(std::move(where)), m_macs(macs), m_relu(relu) {
        adoptTensors(*this, m_module.loaded());
    }

    State forward(const State& in) override {
        if (!MacCounter::active()) return run(in);
        if (m_macs) {
            MacCounter::add(*m_macs);
            return run(in);
        }
        OpMacCounter counter;
        auto out = run(in);
        MacCounter::add(counter.macs() / std::max<int64_t>(1, in.front().size(0)));
        return out;
    }

    bool endsWithRelu() const override { return m_relu; }
    void train(bool on) override {
        Block::train(on);
        m_module.train(on);
    }

private:
    State run(const State& in) {
        c10::IValue out;
        try {
            out = m_module.forward(in);
        } catch (const c10::Error& e) {
            throw Error(m_where + ": " + scriptError(e.what()));
        } catch (const std::runtime_error& e) {
            // TorchScript rethrows an error raised inside the script as std::runtime_error.
            throw Error(m_where + " on input " + shapesOf(in) + ": " + scriptError(e.what()));
        }
        if (!out.isTensorList()) throw Error(m_where + " returns " + out.tagKind() + ", expected List[Tensor]");
        State state = out.toTensorVector();
        if (state.empty()) throw Error(m_where + " returns an empty list");
        return state;
    }

    InferenceModule m_module;
    std::string m_where;
    std::optional<int64_t> m_macs;
    bool m_relu;
};

/// One exit head of an imported model.
class ScriptHead : public ExitHead {
public:
    ScriptHead(torch::jit::Module module, std::string where) : m_module(std::move(module)), m_where(std::move(where)) {
        adoptTensors(*this, m_module.loaded());
    }

    torch::Tensor forward(const State& in) override {
        c10::IValue out;
        {
            std::optional<OpMacCounter> counter;
            if (MacCounter::active()) counter.emplace();
            try {
                out = m_module.forward(in);
            } catch (const c10::Error& e) {
                throw Error(m_where + ": " + scriptError(e.what()));
            } catch (const std::runtime_error& e) {
                throw Error(m_where + " on input " + shapesOf(in) + ": " + scriptError(e.what()));
            }
            if (counter) MacCounter::add(counter->macs() / std::max<int64_t>(1, in.front().size(0)));
        }
        if (!out.isTensor()) throw Error(m_where + " returns " + out.tagKind() + ", expected a Tensor of logits");
        return out.toTensor();
    }

    torch::Tensor gateFeatures(const State& in) override {
        if (in.back().dim() == 4) return ExitHead::gateFeatures(in);
        auto flat = in.back().flatten(1);
        if (flat.size(1) <= kMaxGateFeatures) return flat;
        return torch::adaptive_avg_pool1d(flat.unsqueeze(1), kMaxGateFeatures).squeeze(1);
    }

    void train(bool on) override {
        ExitHead::train(on);
        m_module.train(on);
    }

private:
    InferenceModule m_module;
    std::string m_where;
};

/// Reads the convention's attributes with errors that name them.
class Reader {
public:
    Reader(const torch::jit::Module& m, std::string file) : m_module(m), m_file(std::move(file)) {}

    bool has(const std::string& name) const { return m_module.hasattr(name); }

    c10::IValue get(const std::string& name) const {
        if (!has(name))
            throw Error(m_file + ": the model has no attribute '" + name +
                        "' (see docs/torchscript.md for the multi-exit convention)");
        return m_module.attr(name);
    }

    std::vector<int64_t> ints(const std::string& name) const {
        const auto v = get(name);
        if (!v.isIntList()) throw Error(m_file + ": attribute '" + name + "' is " + v.tagKind() + ", expected List[int]");
        return v.toIntVector();
    }

    std::vector<float> floats(const std::string& name) const {
        const auto v = get(name);
        if (!v.isDoubleList())
            throw Error(m_file + ": attribute '" + name + "' is " + v.tagKind() + ", expected List[float]");
        std::vector<float> out;
        for (double d : v.toDoubleVector()) out.push_back(static_cast<float>(d));
        return out;
    }

    std::vector<std::string> strings(const std::string& name) const {
        const auto v = get(name);
        if (!v.isList()) throw Error(m_file + ": attribute '" + name + "' is " + v.tagKind() + ", expected List[str]");
        std::vector<std::string> out;
        for (const auto& e : v.toListRef()) {
            if (!e.isString()) throw Error(m_file + ": attribute '" + name + "' holds a non-string");
            out.push_back(e.toStringRef());
        }
        return out;
    }

    std::vector<bool> bools(const std::string& name) const {
        const auto v = get(name);
        if (!v.isBoolList()) throw Error(m_file + ": attribute '" + name + "' is " + v.tagKind() + ", expected List[bool]");
        std::vector<bool> out;
        for (bool b : v.toBoolList()) out.push_back(b);
        return out;
    }

    /// The modules of a ModuleList attribute, each with a forward method.
    std::vector<torch::jit::Module> modules(const std::string& name) const {
        const auto v = get(name);
        if (!v.isModule()) throw Error(m_file + ": attribute '" + name + "' is " + v.tagKind() + ", expected a ModuleList");
        std::vector<torch::jit::Module> out;
        for (const auto& child : v.toModule().named_children()) {
            if (!child.value.find_method("forward"))
                throw Error(m_file + ": " + name + "[" + child.name + "] has no forward method");
            out.push_back(child.value);
        }
        if (out.empty()) throw Error(m_file + ": '" + name + "' is empty");
        return out;
    }

private:
    const torch::jit::Module& m_module;
    std::string m_file;
};

} // namespace

std::string torchScriptModelName(const std::string& path) {
    return "torchscript:" + std::filesystem::path(path).filename().string();
}

std::shared_ptr<MultiExitNet> loadTorchScriptModel(const std::string& path, const Normalisation& override_) {
    checkZipIntegrity(path);
    torch::jit::Module module;
    try {
        module = torch::jit::load(path, torch::kCPU);
    } catch (const std::exception& e) {
        throw Error(path + ": not a TorchScript model (" + firstLine(e.what()) + ")");
    }
    module.eval();
    const Reader r(module, path);
    const auto blocks = r.modules("blocks");
    const auto exits = r.modules("exits");
    const auto exitBlocks = r.ints("exit_blocks");
    const auto shape = r.ints("input_shape");
    const auto B = static_cast<int64_t>(blocks.size());
    if (exitBlocks.size() != exits.size())
        throw Error(path + ": exit_blocks has " + std::to_string(exitBlocks.size()) + " values for " +
                    std::to_string(exits.size()) + " exits");
    for (std::size_t k = 0; k < exitBlocks.size(); ++k) {
        if (exitBlocks[k] < 0 || exitBlocks[k] >= B || (k > 0 && exitBlocks[k] < exitBlocks[k - 1]))
            throw Error(path + ": exit_blocks[" + std::to_string(k) + "] = " + std::to_string(exitBlocks[k]) +
                        " must be a block index in [0, " + std::to_string(B) + "), not below the previous exit's");
    }
    if (exitBlocks.back() != B - 1) throw Error(path + ": the last exit must read the last block's output");
    if (shape.size() != 3 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 || shape[0] * shape[1] * shape[2] > (1 << 26))
        throw Error(path + ": input_shape must be [channels, height, width] with positive sizes");

    ModelSpec spec;
    spec.name = torchScriptModelName(path);
    spec.options = {{"format", "torchscript"}, {"file", std::filesystem::path(path).filename().string()}};
    spec.channels = shape[0];
    spec.height = shape[1];
    spec.width = shape[2];
    spec.classNames = r.strings("class_names");
    if (spec.classNames.size() < 2) throw Error(path + ": class_names must name at least two classes");
    if (r.has("dataset")) {
        const auto d = r.get("dataset");
        if (d.isString()) spec.dataset = d.toStringRef();
    }
    if (!override_.mean.empty()) {
        spec.normalisation = override_;
    } else if (r.has("mean") || r.has("std")) {
        spec.normalisation.mean = r.floats("mean");
        spec.normalisation.std = r.floats("std");
    } else {
        spec.normalisation.mean.assign(static_cast<std::size_t>(spec.channels), 0.0f);
        spec.normalisation.std.assign(static_cast<std::size_t>(spec.channels), 1.0f);
    }
    if (static_cast<int64_t>(spec.normalisation.mean.size()) != spec.channels ||
        spec.normalisation.std.size() != spec.normalisation.mean.size())
        throw Error(path + ": the normalisation needs one mean and one std per input channel (" +
                    std::to_string(spec.channels) + ")");
    for (float s : spec.normalisation.std)
        if (!(s > 0)) throw Error(path + ": a normalisation std is not > 0");

    std::vector<int64_t> macs;
    if (r.has("block_macs")) {
        macs = r.ints("block_macs");
        if (static_cast<int64_t>(macs.size()) != B) throw Error(path + ": block_macs needs one value per block");
        for (auto m : macs)
            if (m < 0) throw Error(path + ": block_macs has a negative value");
    }
    std::vector<bool> relu(static_cast<std::size_t>(B), true);
    if (r.has("block_relu")) {
        relu = r.bools("block_relu");
        if (static_cast<int64_t>(relu.size()) != B) throw Error(path + ": block_relu needs one value per block");
    }

    auto net = std::make_shared<MultiExitNet>(spec);
    for (int64_t b = 0; b < B; ++b) {
        std::optional<int64_t> m;
        if (!macs.empty()) m = macs[static_cast<std::size_t>(b)];
        net->addBlock(std::make_shared<ScriptBlock>(blocks[static_cast<std::size_t>(b)], path + ": blocks[" + std::to_string(b) + "]",
                                                    m, relu[static_cast<std::size_t>(b)]));
    }
    for (std::size_t k = 0; k < exits.size(); ++k)
        net->addExit(std::make_shared<ScriptHead>(exits[k], path + ": exits[" + std::to_string(k) + "]"), exitBlocks[k]);
    net->eval();
    // A dry run checks every output's type and shape (measureCosts names the
    // exit whose logits have the wrong shape).
    net->measureCosts();
    net->spec().weightsHash = net->contentHash();
    return net;
}

} // namespace exitscope::core
