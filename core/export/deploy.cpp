#include "core/export/deploy.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/format.h"
#include "core/model/layers.h"
#include "core/model/multi_exit_net.h"
#include "core/policy/calibration.h"
#include "core/policy/policy.h"

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/script.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>

namespace exitscope::core {

namespace {

using torch::jit::Module;

std::string str(double v) {
    std::string s = exactNumber(v);
    if (s.find_first_of(".en") == std::string::npos) s += ".0";  // a float literal in TorchScript
    return s;
}

void detachConstants(torch::jit::Block* block) {
    for (auto* node : block->nodes()) {
        if (node->kind() == c10::prim::Constant && node->hasAttribute(c10::attr::value) &&
            node->kindOf(c10::attr::value) == torch::jit::AttributeKind::t)
            node->t_(c10::attr::value, node->t(c10::attr::value).detach().clone());
        for (auto* sub : node->blocks()) detachConstants(sub);
    }
}

/// Traces `fn` on `example` into the method `run` of a new module whose
/// `forward(List[Tensor])` unpacks a state and calls it; the weights become
/// constants of the graph.
Module traceToModule(const std::string& name, const std::shared_ptr<torch::jit::CompilationUnit>& cu,
                     const State& example, const std::function<c10::IValue(const State&)>& fn, bool returnsState) {
    torch::jit::Stack inputs(example.begin(), example.end());
    std::shared_ptr<torch::jit::tracer::TracingState> traced;
    c10::IValue sampleOut;
    try {
        auto result = torch::jit::tracer::trace(
            inputs,
            [&](torch::jit::Stack in) -> torch::jit::Stack {
                State s;
                for (auto& v : in) s.push_back(v.toTensor());
                return {fn(s)};
            },
            [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/false);
        traced = result.first;
        sampleOut = result.second.at(0);
    } catch (const std::exception& e) {
        throw Error(name + " cannot be traced: " + firstLineOf(e.what()));
    }
    Module m("__torch__.exitscope." + name, cu, true);
    auto graph = traced->graph;
    // The weights are constants of the graph that still share storage (and the
    // requires-grad flag, restored after tracing) with the network: keep copies.
    detachConstants(graph->block());
    graph->insertInput(0, "self")->setType(m.type());
    m.type()->addMethod(cu->create_function(c10::QualifiedName(*m.type()->name(), "run"), graph));
    std::ostringstream args, src;
    for (std::size_t i = 0; i < example.size(); ++i) args << (i ? ", " : "") << "s[" << i << "]";
    if (returnsState) {
        src << "def forward(self, s: List[Tensor]) -> List[Tensor]:\n    r = self.run(" << args.str() << ")\n";
        if (sampleOut.isTensor()) {
            src << "    return [r]\n";
        } else {
            const auto n = sampleOut.toTupleRef().elements().size();
            src << "    return [";
            for (std::size_t i = 0; i < n; ++i) src << (i ? ", " : "") << "r[" << i << "]";
            src << "]\n";
        }
    } else {
        src << "def forward(self, s: List[Tensor]) -> Tensor:\n    return self.run(" << args.str() << ")\n";
    }
    m.define(src.str());
    return m;
}

c10::IValue stateValue(const State& s) {
    if (s.size() == 1) return s.front();
    return c10::ivalue::Tuple::create(std::vector<c10::IValue>(s.begin(), s.end()));
}

/// The score a confidence policy compares, written as the executor computes
/// it (core/policy/confidence.cpp, calibration.cpp): temperature scaling in
/// double from the probabilities, then the criterion.
std::string scoreMethod(const ConfidencePolicy& c, int64_t numClasses) {
    std::ostringstream s;
    s << "def _score(self, probs: Tensor, k: int) -> Tensor:\n"
         "    p = probs\n"
         "    if len(self.temperatures) > 0:\n"
         "        top = torch.clamp(torch.max(probs, 1, keepdim=True)[0], min="
      << str(kProbabilityFloor)
      << ").double()\n"
         "        z = torch.log(torch.clamp(probs, min="
      << str(kProbabilityFloor)
      << ").double())\n"
         "        w = torch.exp((z - torch.log(top)) * (1.0 / self.temperatures[k]))\n"
         "        p = (w.float().double() / torch.sum(w, 1, keepdim=True)).float()\n";
    switch (c.criterion) {
    case ConfidenceCriterion::MaxSoftmax: s << "    return torch.max(p, 1)[0]\n"; break;
    case ConfidenceCriterion::Entropy:
        s << "    C = p.size(1)\n"
             "    if C == 1:\n"
             "        return torch.ones([p.size(0)], dtype=6)\n"
             "    pd = p.double()\n"
             "    h = -torch.sum(torch.where(pd > 0.0, pd * torch.log(pd), torch.zeros_like(pd)), 1)\n"
             "    return torch.clamp(1.0 - h / "
          << str(std::log(static_cast<double>(std::max<int64_t>(numClasses, 2)))) << ", 0.0, 1.0).float()\n";
        break;
    case ConfidenceCriterion::Margin:
        s << "    if p.size(1) == 1:\n"
             "        return p[:, 0]\n"
             "    t = torch.topk(p, 2, 1)[0]\n"
             "    return torch.clamp(t[:, 0] - t[:, 1], 0.0, 1.0)\n";
        break;
    }
    return s.str();
}

/// LEENet's gate probability as gateProbability computes it, in double.
const char* kGateMethod =
    "def _gate(self, f: Tensor, k: int) -> Tensor:\n"
    "    x = (f.double() - self.gate_mean[k]) / self.gate_std[k]\n"
    "    z = torch.sum(x * self.gate_weights[k], 1) + self.gate_bias[k]\n"
    "    return (1.0 / (1.0 + torch.exp(-z))).float()\n";

/// Which file the control code is for: the whole network, or the device or
/// server half of a split after block `splitAfter`.
enum class Part { Whole, Device, Server };

/// The codec's first stage (simulator/codec/codec.cpp, CodecMode::PerTensor8)
/// written in TorchScript, operation for operation: one (scale, zero point)
/// per tensor, the zero point an integer when the range holds 0, a constant
/// tensor stored with scale 1 and zero point -c.
const char* kQuantiseMethod =
    "def _quantise(self, t: Tensor) -> Tuple[Tensor, float, float]:\n"
    "    t = t.float().contiguous()\n"
    "    if t.numel() == 0:\n"
    "        return torch.zeros(t.size(), dtype=0), 1.0, 0.0\n"
    "    lo = torch.min(t)\n"
    "    hi = torch.max(t)\n"
    "    assert bool(torch.isfinite(lo)) and bool(torch.isfinite(hi)), 'the state to send holds a value that is not finite'\n"
    "    if bool(lo == hi):\n"
    "        return torch.zeros(t.size(), dtype=0), 1.0, -float(lo)\n"
    "    scale = torch.clamp(((hi.double() - lo.double()) / 255.0).float(), min=1.1754943508222875e-38)\n"
    "    inverse = (1.0 / scale.double()).float()\n"
    "    if bool(lo <= 0.0) and bool(hi >= 0.0):\n"
    "        v = -lo.double() / scale.double()\n"
    "        r = torch.floor(v)\n"
    "        zp = torch.clamp(r + (v - r >= 0.5).double(), 0.0, 255.0).float()\n"
    "        offset = torch.zeros_like(lo)\n"
    "        base = zp\n"
    "    else:\n"
    "        zp = (-lo.double() / scale.double()).float()\n"
    "        offset = lo\n"
    "        base = torch.zeros_like(lo)\n"
    "    v8 = torch.clamp((t - offset) * inverse + base, 0.0, 255.0)\n"
    "    return (v8 + 0.5).to(dtype=0), float(scale), float(zp)\n";

/// The gate features ExitHead::gateFeatures and the imported heads compute
/// (core/model/layers.cpp, torchscript_net.cpp), for imported models whose
/// heads are not traced.
std::string gateFeaturesMethod() {
    const auto d = std::to_string(ExitHead::kMaxGateFeatures);
    return "def _gate_features(self, t: Tensor) -> Tensor:\n"
           "    if t.dim() == 4:\n"
           "        f = torch.flatten(torch.adaptive_avg_pool2d(t, [1, 1]), 1)\n"
           "    else:\n"
           "        f = torch.flatten(t, 1)\n"
           "    if f.size(1) > " + d + ":\n"
           "        f = torch.squeeze(torch.adaptive_avg_pool1d(torch.unsqueeze(f, 1), " + d + "), 1)\n"
           "    return f.float()\n";
}

std::string controlSource(const MultiExitNet& net, const PolicyConfig& policy, Part part, int64_t splitAfter,
                          int64_t stateCount, bool gatesInCode) {
    const int64_t K = net.numExits(), B = net.numBlocks();
    const int64_t firstBlock = part == Part::Server ? splitAfter + 1 : 0;
    const int64_t endBlock = part == Part::Device ? splitAfter + 1 : B;
    const std::string T3 = "Tuple[Tensor, Tensor, Tensor]";
    const std::string T7 = "Tuple[Tensor, Tensor, Tensor, Tensor, List[Tensor], List[float], List[float]]";
    const std::string out = part == Part::Device ? T7 : T3;
    const std::string in = part == Part::Server ? "q: List[Tensor], scale: List[float], zero_point: List[float]" : "x: Tensor";
    const std::string args = part == Part::Server ? "q, scale, zero_point" : "x";
    const std::string done = part == Part::Device
                                 ? "prediction, exit_index, score, torch.zeros([0], dtype=4), nothing, no_floats, no_floats"
                                 : "prediction, exit_index, score";
    std::ostringstream s;
    s << "def forward(self, " << in << ") -> " << out << ":\n"
      << "    return self._run(" << args << ", self.fixed_exit)\n\n"
      << "def forward_budget(self, " << in << ", macs: float) -> " << out << ":\n"
      << "    e = -1\n"
         "    for k in range(len(self.exit_macs)):\n"
         "        if float(self.exit_macs[k]) <= macs:\n"
         "            e = k\n"
         "    assert e >= 0, 'a budget of ' + str(macs) + ' MACs per sample is below the first exit (' + "
         "str(self.exit_macs[0]) + ')'\n"
      << "    return self._run(" << args << ", e)\n\n"
      << "def set_thresholds(self, t: List[float]):\n"
         "    if len(t) == 1:\n"
         "        t = [t[0] for _ in range("
      << K - 1
      << ")]\n"
         "    assert len(t) == "
      << K - 1 << ", 'set_thresholds takes " << K - 1
      << " values (one per early exit) or one for all, not ' + str(len(t))\n"
         "    for v in t:\n"
         "        assert v >= 0.0 and v <= 1.0, 'a threshold must be in [0, 1], not ' + str(v)\n"
         "    self.thresholds = t\n\n"
      << "def _run(self, " << in << ", fixed: int) -> " << out << ":\n";
    if (part == Part::Server) {
        s << "    if len(q) == 0:\n"
             "        return torch.zeros([0], dtype=4), torch.zeros([0], dtype=4), torch.zeros([0], dtype=6)\n"
             "    assert len(q) == "
          << stateCount << " and len(scale) == " << stateCount << " and len(zero_point) == " << stateCount
          << ", 'the server half takes the " << stateCount
          << " state tensors the device half sends, with a scale and a zero point each, not ' + str(len(q))\n"
             "    s: List[Tensor] = []\n"
             "    for i in range(len(q)):\n"
             "        assert q[i].dtype == 0, 'state tensor ' + str(i) + ' must be uint8 as the device half sends it'\n"
             "        s.append((q[i].float() - zero_point[i]) * scale[i])\n"
             "    n = s[0].size(0)\n";
    } else {
        s << "    assert x.dim() == 4 and x.size(1) == " << net.spec().channels << " and x.size(2) == " << net.spec().height
          << " and x.size(3) == " << net.spec().width << ", 'expected images [n, " << net.spec().channels << ", "
          << net.spec().height << ", " << net.spec().width
          << "] scaled to [0, 1], got ' + str(x.size())\n"
             "    x = (x.float() - self.mean) / self.std\n"
             "    n = x.size(0)\n"
             "    s: List[Tensor] = [x]\n";
    }
    if (part == Part::Device) s << "    nothing: List[Tensor] = []\n    no_floats: List[float] = []\n";
    s << "    prediction = torch.full([n], -1, dtype=4)\n"
         "    exit_index = torch.full([n], -1, dtype=4)\n"
         "    score = torch.zeros([n], dtype=6)\n"
         "    active = torch.arange(n)\n"
         "    if n == 0:\n"
         "        return "
      << done << "\n";
    int64_t k = 0;
    while (k < K && net.exitBlock(k) < firstBlock) ++k;
    for (int64_t b = firstBlock; b < endBlock; ++b) {
        s << "    s = self.block" << b << ".forward(s)\n";
        for (; k < K && net.exitBlock(k) == b; ++k) {
            const bool last = k == K - 1;
            s << "    if fixed < 0 or fixed == " << k << (last ? " or True" : "") << ":\n"
              << "        probs = torch.softmax(self.exit" << k << ".forward(s), 1)\n"
              << "        conf, best = torch.max(probs, 1)\n";
            if (last) {
                s << "        sc = conf\n        leave = torch.ones_like(conf, dtype=11)\n";
            } else {
                s << "        if fixed == " << k << ":\n"
                  << "            sc = conf\n            leave = torch.ones_like(conf, dtype=11)\n"
                  << "        else:\n";
                switch (policy.kind) {
                case PolicyKind::Confidence:
                    // Max softmax without temperatures is the max already taken: no second pass.
                    if (policy.confidence.temperatures.empty() && policy.confidence.criterion == ConfidenceCriterion::MaxSoftmax)
                        s << "            sc = conf\n";
                    else
                        s << "            sc = self._score(probs, " << k << ")\n";
                    break;
                case PolicyKind::Budgeted: s << "            sc = conf\n"; break;
                case PolicyKind::Gates:
                    if (gatesInCode)
                        s << "            sc = self._gate(self._gate_features(s[-1]), " << k << ")\n";
                    else
                        s << "            sc = self._gate(self.gates" << k << ".forward(s), " << k << ")\n";
                    break;
                case PolicyKind::Static:
                case PolicyKind::Anytime: s << "            sc = conf\n"; break;
                }
                if (policy.kind == PolicyKind::Gates)
                    s << "            leave = sc > 0.5\n";
                else if (policy.kind == PolicyKind::Static || policy.kind == PolicyKind::Anytime)
                    s << "            leave = torch.zeros_like(conf, dtype=11)\n";
                else
                    s << "            leave = torch.logical_not(sc < self.thresholds[" << k << "])\n";
            }
            // Nothing is written or compacted at an exit no sample leaves.
            s << "        gone = torch.nonzero(leave).squeeze(1)\n"
                 "        if gone.numel() > 0:\n"
                 "            where = active.index_select(0, gone)\n"
                 "            prediction.index_copy_(0, where, best.index_select(0, gone))\n"
                 "            exit_index.index_fill_(0, where, "
              << k
              << ")\n"
                 "            score.index_copy_(0, where, sc.index_select(0, gone))\n"
                 "            if gone.numel() == leave.numel():\n"
                 "                return "
              << done
              << "\n"
                 "            keep = torch.nonzero(torch.logical_not(leave)).squeeze(1)\n"
                 "            active = active.index_select(0, keep)\n"
                 "            s = [t.index_select(0, keep) for t in s]\n";
        }
    }
    if (part == Part::Device) {
        s << "    qs: List[Tensor] = []\n"
             "    scales: List[float] = []\n"
             "    zero_points: List[float] = []\n"
             "    for t in s:\n"
             "        r = self._quantise(t)\n"
             "        qs.append(r[0])\n"
             "        scales.append(r[1])\n"
             "        zero_points.append(r[2])\n"
             "    return prediction, exit_index, score, active, qs, scales, zero_points\n";
    } else {
        s << "    return prediction, exit_index, score\n";
    }
    return s.str();
}

} // namespace

void exportDeployable(MultiExitNet& net, const TunedConfig& config, const std::string& torchScriptPath,
                      const std::string& outPath, int64_t splitAfter) {
    const auto& spec = net.spec();
    const int64_t K = net.numExits(), B = net.numBlocks();
    checkConfigMatchesModel(config, spec.name, spec.weightsHash, K, spec.numClasses(), "export");
    const PolicyConfig& policy = config.policy;
    checkPolicyConfig(policy, K);
    const bool imported = !torchScriptPath.empty();
    if (policy.kind == PolicyKind::Anytime && policy.anytimeUnit == BudgetUnit::Milliseconds)
        throw Error("the export cannot express an anytime budget in ms (times differ between machines); "
                    "tune it in MACs, or call forward_budget(x, macs) on an export of another policy");
    if (splitAfter >= 0 && (splitAfter > B - 2 || net.exitBlock(K - 1) <= splitAfter))
        throw Error("--split-after: block " + std::to_string(splitAfter) + " leaves no block for the server (the model has " +
                    std::to_string(B) + " blocks, 0.." + std::to_string(B - 1) + "; split after 0.." + std::to_string(B - 2) + ")");
    if (splitAfter < -1) throw Error("--split-after: block " + std::to_string(splitAfter) + " is not in the model");

    net.eval();
    const auto costs = net.measureCosts();
    std::vector<int64_t> exitMacs;
    for (std::size_t k = 0; k < costs.exits.size(); ++k) exitMacs.push_back(costs.cumulativeExitMacs(k));
    int64_t fixedExit = -1;
    if (policy.kind == PolicyKind::Static) fixedExit = policy.staticExit;
    if (policy.kind == PolicyKind::Anytime) fixedExit = anytimeExitFor(policy, exitMacs, {});

    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    std::vector<Module> blocks, exits, gates;
    if (imported) {
        Module file;
        try {
            file = torch::jit::load(torchScriptPath, torch::kCPU);
        } catch (const std::exception& e) {
            throw Error(torchScriptPath + ": not a TorchScript model (" + firstLineOf(e.what()) + ")");
        }
        file.eval();
        for (const auto& m : file.attr("blocks").toModule().children()) blocks.push_back(m);
        for (const auto& m : file.attr("exits").toModule().children()) exits.push_back(m);
    } else {
        // Trace each block and head on a small batch with the weights as
        // constants (they must not require grad to become constants).
        std::vector<bool> grad;
        for (auto& p : net.parameters()) {
            grad.push_back(p.requires_grad());
            p.set_requires_grad(false);
        }
        try {
            torch::NoGradGuard noGrad;
            State state{torch::rand({3, spec.channels, spec.height, spec.width})};
            int64_t k = 0;
            for (int64_t b = 0; b < B; ++b) {
                blocks.push_back(traceToModule("Block" + std::to_string(b), cu, state,
                                               [&](const State& s) { return stateValue(net.runBlock(b, s)); }, true));
                state = net.runBlock(b, state);
                for (; k < K && net.exitBlock(k) == b; ++k) {
                    exits.push_back(traceToModule("Exit" + std::to_string(k), cu, state,
                                                  [&](const State& s) { return c10::IValue(net.runExit(k, s)); }, false));
                    if (policy.kind == PolicyKind::Gates && k < K - 1)
                        gates.push_back(traceToModule("Gate" + std::to_string(k), cu, state, [&](const State& s) {
                            return c10::IValue(net.gateFeatures(k, s).to(torch::kFloat32));
                        }, false));
                }
            }
        } catch (...) {
            std::size_t i = 0;
            for (auto& p : net.parameters()) p.set_requires_grad(grad[i++]);
            throw;
        }
        std::size_t i = 0;
        for (auto& p : net.parameters()) p.set_requires_grad(grad[i++]);
    }
    if (static_cast<int64_t>(blocks.size()) != B || static_cast<int64_t>(exits.size()) != K)
        throw Error("the model's blocks and exits could not be collected for the export");

    // How many tensors the state holds after the split (what the device half sends).
    int64_t stateCount = 0;
    if (splitAfter >= 0) {
        torch::NoGradGuard noGrad;
        State state{torch::rand({1, spec.channels, spec.height, spec.width})};
        for (int64_t b = 0; b <= splitAfter; ++b) state = net.runBlock(b, state);
        stateCount = static_cast<int64_t>(state.size());
    }

    // Normalisation of images scaled to [0, 1].
    const auto& norm = spec.normalisation;
    auto mean = torch::zeros({1, spec.channels, 1, 1});
    auto stdev = torch::ones({1, spec.channels, 1, 1});
    if (!norm.mean.empty()) {
        mean = torch::tensor(norm.mean).view({1, -1, 1, 1});
        stdev = torch::tensor(norm.std).view({1, -1, 1, 1});
    }

    // The policy's parameters.
    std::vector<double> thresholds(static_cast<std::size_t>(K - 1), 1.0), temperatures;
    if (policy.kind == PolicyKind::Confidence) {
        const auto& t = policy.confidence.thresholds;
        for (int64_t k = 0; k < K - 1; ++k) thresholds[static_cast<std::size_t>(k)] = t.size() == 1 ? t[0] : t[static_cast<std::size_t>(k)];
        for (double v : policy.confidence.temperatures) temperatures.push_back(v);
    } else if (policy.kind == PolicyKind::Budgeted) {
        for (int64_t k = 0; k < K - 1; ++k) thresholds[static_cast<std::size_t>(k)] = policy.budgeted.thresholds[static_cast<std::size_t>(k)];
    }
    // Float thresholds compared with float scores: store the float's exact value.
    for (auto& t : thresholds) t = static_cast<double>(static_cast<float>(t));
    c10::List<at::Tensor> gw, gm, gs;
    std::vector<double> gb;
    if (policy.kind == PolicyKind::Gates) {
        const auto& g = policy.gates;
        auto toDouble = [](const std::vector<float>& v) { return torch::tensor(std::vector<double>(v.begin(), v.end()), torch::kFloat64); };
        for (std::size_t k = 0; k < g.bias.size(); ++k) {
            gw.push_back(toDouble(g.weights[k]));
            gm.push_back(toDouble(g.featureMean[k]));
            gs.push_back(toDouble(g.featureStd[k]));
            gb.push_back(g.bias[k]);
        }
    }
    c10::List<std::string> names;
    for (const auto& n : spec.classNames) names.push_back(n);
    const std::string configText = configToJson(config).dump(2);

    // One module per file: the whole network, or one half of the split.
    auto assemble = [&](Part part, const std::string& typeName) {
        Module top("__torch__.exitscope." + typeName, cu, true);
        const int64_t firstBlock = part == Part::Server ? splitAfter + 1 : 0;
        const int64_t endBlock = part == Part::Device ? splitAfter + 1 : B;
        for (int64_t b = firstBlock; b < endBlock; ++b)
            top.register_module("block" + std::to_string(b), blocks[static_cast<std::size_t>(b)]);
        for (int64_t k = 0; k < K; ++k) {
            const int64_t at = net.exitBlock(k);
            if (at < firstBlock || at >= endBlock) continue;
            top.register_module("exit" + std::to_string(k), exits[static_cast<std::size_t>(k)]);
            if (static_cast<std::size_t>(k) < gates.size()) top.register_module("gates" + std::to_string(k), gates[static_cast<std::size_t>(k)]);
        }
        top.register_attribute("mean", c10::TensorType::get(), mean);
        top.register_attribute("std", c10::TensorType::get(), stdev);
        auto floats = c10::ListType::ofFloats();
        top.register_attribute("thresholds", floats, c10::IValue(c10::List<double>(thresholds)));
        top.register_attribute("temperatures", floats, c10::IValue(c10::List<double>(temperatures)));
        top.register_attribute("exit_macs", c10::ListType::ofInts(), c10::IValue(c10::List<int64_t>(exitMacs)));
        top.register_attribute("fixed_exit", c10::IntType::get(), fixedExit);
        auto tensors = c10::ListType::ofTensors();
        top.register_attribute("gate_weights", tensors, c10::IValue(gw.copy()));
        top.register_attribute("gate_mean", tensors, c10::IValue(gm.copy()));
        top.register_attribute("gate_std", tensors, c10::IValue(gs.copy()));
        top.register_attribute("gate_bias", floats, c10::IValue(c10::List<double>(gb)));
        top.register_attribute("class_names", c10::ListType::ofStrings(), c10::IValue(names.copy()));
        top.register_attribute("weights_hash", c10::StringType::get(), spec.weightsHash);
        top.register_attribute("input_shape", c10::ListType::ofInts(),
                               c10::IValue(c10::List<int64_t>({spec.channels, spec.height, spec.width})));
        top.register_attribute("policy_kind", c10::StringType::get(), policyKindName(policy.kind));
        top.register_attribute("part", c10::StringType::get(),
                               std::string(part == Part::Whole ? "whole" : part == Part::Device ? "device" : "server"));
        top.register_attribute("split_after", c10::IntType::get(), part == Part::Whole ? int64_t{-1} : splitAfter);
        try {
            top.define(scoreMethod(policy.confidence, spec.numClasses()) + "\n" + kGateMethod + "\n" +
                       (imported ? gateFeaturesMethod() + "\n" : std::string()) +
                       (part == Part::Device ? std::string(kQuantiseMethod) + "\n" : std::string()) +
                       controlSource(net, policy, part, splitAfter, stateCount, imported));
        } catch (const std::exception& e) {
            if (std::getenv("EXITSCOPE_EXPORT_DEBUG")) std::fprintf(stderr, "%s\n", e.what());
            throw Error("the export's control code does not compile: " + firstLineOf(e.what()));
        }
        top.eval();
        return top;
    };

    std::vector<std::pair<std::string, Module>> files{{outPath, assemble(Part::Whole, "DeployedEarlyExit")}};
    torch::jit::ExtraFilesMap extra{{"exitscope/config.json", configText},
                                    {"exitscope/weights_hash", spec.weightsHash},
                                    {"exitscope/class_names.json", nlohmann::json(spec.classNames).dump()}};
    std::vector<torch::jit::ExtraFilesMap> extras{extra};
    if (splitAfter >= 0) {
        const auto paths = splitPartPaths(outPath);
        nlohmann::json split = {{"split_after_block", splitAfter},
                                {"blocks_on_device", splitAfter + 1},
                                {"blocks", B},
                                {"state_tensors", stateCount},
                                {"quantisation", "8-bit affine, one (scale, zero point) per state tensor over the batch sent "
                                                 "(the codec's per-tensor stage, simulator/codec/codec.h)"}};
        for (int part = 0; part < 2; ++part) {
            auto e = extra;
            split["part"] = part == 0 ? "device" : "server";
            e["exitscope/split.json"] = split.dump(2);
            files.emplace_back(part == 0 ? paths.first : paths.second,
                               assemble(part == 0 ? Part::Device : Part::Server, part == 0 ? "DeployedDeviceHalf" : "DeployedServerHalf"));
            extras.push_back(e);
        }
    }
    // All files or none: each is written atomically, and the ones already
    // written are removed when a later one fails.
    std::vector<std::string> written;
    try {
        for (std::size_t i = 0; i < files.size(); ++i) {
            writeFileAtomically(files[i].first, [&](std::ostream& out) { files[i].second.save(out, extras[i]); });
            written.push_back(files[i].first);
        }
    } catch (...) {
        for (const auto& w : written) std::remove(w.c_str());
        throw;
    }
}

std::pair<std::string, std::string> splitPartPaths(const std::string& outPath) {
    const auto slash = outPath.find_last_of('/');
    const auto dot = outPath.find_last_of('.');
    const bool hasExt = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
    const std::string stem = hasExt ? outPath.substr(0, dot) : outPath;
    const std::string ext = hasExt ? outPath.substr(dot) : std::string(".pt");
    return {stem + "-device" + ext, stem + "-server" + ext};
}

} // namespace exitscope::core
