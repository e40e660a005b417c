#include "core/export/deploy.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/format.h"
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

std::string forwardSource(const MultiExitNet& net, const PolicyConfig& policy) {
    const int64_t K = net.numExits(), B = net.numBlocks();
    std::ostringstream s;
    s << "def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:\n"
         "    return self._run(x, self.fixed_exit)\n\n"
         "def forward_budget(self, x: Tensor, macs: float) -> Tuple[Tensor, Tensor, Tensor]:\n"
         "    e = -1\n"
         "    for k in range(len(self.exit_macs)):\n"
         "        if float(self.exit_macs[k]) <= macs:\n"
         "            e = k\n"
         "    assert e >= 0, 'a budget of ' + str(macs) + ' MACs per sample is below the first exit (' + "
         "str(self.exit_macs[0]) + ')'\n"
         "    return self._run(x, e)\n\n"
         "def set_thresholds(self, t: List[float]):\n"
         "    if len(t) == 1:\n"
         "        t = [t[0] for _ in range("
      << K - 1
      << ")]\n"
         "    assert len(t) == "
      << K - 1
      << ", 'set_thresholds takes "
      << K - 1
      << " values (one per early exit) or one for all, not ' + str(len(t))\n"
         "    for v in t:\n"
         "        assert v >= 0.0 and v <= 1.0, 'a threshold must be in [0, 1], not ' + str(v)\n"
         "    self.thresholds = t\n\n"
         "def _run(self, x: Tensor, fixed: int) -> Tuple[Tensor, Tensor, Tensor]:\n"
         "    assert x.dim() == 4 and x.size(1) == "
      << net.spec().channels << " and x.size(2) == " << net.spec().height << " and x.size(3) == " << net.spec().width
      << ", 'expected images [n, " << net.spec().channels << ", " << net.spec().height << ", " << net.spec().width
      << "] scaled to [0, 1], got ' + str(x.size())\n"
         "    x = (x.float() - self.mean) / self.std\n"
         "    n = x.size(0)\n"
         "    prediction = torch.zeros([n], dtype=4)\n"
         "    exit_index = torch.zeros([n], dtype=4)\n"
         "    score = torch.zeros([n], dtype=6)\n"
         "    active = torch.arange(n)\n"
         "    s: List[Tensor] = [x]\n";
    int64_t k = 0;
    for (int64_t b = 0; b < B; ++b) {
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
                case PolicyKind::Confidence: s << "            sc = self._score(probs, " << k << ")\n"; break;
                case PolicyKind::Budgeted: s << "            sc = conf\n"; break;
                case PolicyKind::Gates: s << "            sc = self._gate(self.gates" << k << ".forward(s), " << k << ")\n"; break;
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
            s << "        gone = torch.nonzero(leave).squeeze(1)\n"
                 "        where = active.index_select(0, gone)\n"
                 "        prediction.index_copy_(0, where, best.index_select(0, gone))\n"
                 "        exit_index.index_fill_(0, where, "
              << k
              << ")\n"
                 "        score.index_copy_(0, where, sc.index_select(0, gone))\n"
                 "        if gone.numel() == leave.numel():\n"
                 "            return prediction, exit_index, score\n"
                 "        if gone.numel() > 0:\n"
                 "            keep = torch.nonzero(torch.logical_not(leave)).squeeze(1)\n"
                 "            active = active.index_select(0, keep)\n"
                 "            s = [t.index_select(0, keep) for t in s]\n";
        }
    }
    s << "    return prediction, exit_index, score\n";
    return s.str();
}

} // namespace

void exportDeployable(MultiExitNet& net, const TunedConfig& config, const std::string& torchScriptPath,
                      const std::string& outPath) {
    const auto& spec = net.spec();
    const int64_t K = net.numExits(), B = net.numBlocks();
    checkConfigMatchesModel(config, spec.name, spec.weightsHash, K, spec.numClasses(), "export");
    const PolicyConfig& policy = config.policy;
    checkPolicyConfig(policy, K);
    const bool imported = !torchScriptPath.empty();
    if (policy.kind == PolicyKind::Anytime && policy.anytimeUnit == BudgetUnit::Milliseconds)
        throw Error("the export cannot express an anytime budget in ms (times differ between machines); "
                    "tune it in MACs, or call forward_budget(x, macs) on an export of another policy");
    if (policy.kind == PolicyKind::Gates && imported)
        throw Error("the export cannot express LEENet gates on an imported TorchScript model yet; "
                    "export a confidence or budgeted config of it");

    net.eval();
    const auto costs = net.measureCosts();
    std::vector<int64_t> exitMacs;
    for (std::size_t k = 0; k < costs.exits.size(); ++k) exitMacs.push_back(costs.cumulativeExitMacs(k));
    int64_t fixedExit = -1;
    if (policy.kind == PolicyKind::Static) fixedExit = policy.staticExit;
    if (policy.kind == PolicyKind::Anytime) fixedExit = anytimeExitFor(policy, exitMacs, {});

    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    Module top("__torch__.exitscope.DeployedEarlyExit", cu, true);
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
    for (int64_t b = 0; b < B; ++b) top.register_module("block" + std::to_string(b), blocks[static_cast<std::size_t>(b)]);
    for (int64_t k = 0; k < K; ++k) top.register_module("exit" + std::to_string(k), exits[static_cast<std::size_t>(k)]);
    for (std::size_t k = 0; k < gates.size(); ++k) top.register_module("gates" + std::to_string(k), gates[k]);

    // Normalisation of images scaled to [0, 1].
    const auto& norm = spec.normalisation;
    auto mean = torch::zeros({1, spec.channels, 1, 1});
    auto stdev = torch::ones({1, spec.channels, 1, 1});
    if (!norm.mean.empty()) {
        mean = torch::tensor(norm.mean).view({1, -1, 1, 1});
        stdev = torch::tensor(norm.std).view({1, -1, 1, 1});
    }
    top.register_attribute("mean", c10::TensorType::get(), mean);
    top.register_attribute("std", c10::TensorType::get(), stdev);

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
    auto floats = c10::ListType::ofFloats();
    top.register_attribute("thresholds", floats, c10::IValue(c10::List<double>(thresholds)));
    top.register_attribute("temperatures", floats, c10::IValue(c10::List<double>(temperatures)));
    top.register_attribute("exit_macs", c10::ListType::ofInts(), c10::IValue(c10::List<int64_t>(exitMacs)));
    top.register_attribute("fixed_exit", c10::IntType::get(), fixedExit);
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
    auto tensors = c10::ListType::ofTensors();
    top.register_attribute("gate_weights", tensors, c10::IValue(gw));
    top.register_attribute("gate_mean", tensors, c10::IValue(gm));
    top.register_attribute("gate_std", tensors, c10::IValue(gs));
    top.register_attribute("gate_bias", floats, c10::IValue(c10::List<double>(gb)));
    c10::List<std::string> names;
    for (const auto& n : spec.classNames) names.push_back(n);
    top.register_attribute("class_names", c10::ListType::ofStrings(), c10::IValue(names));
    top.register_attribute("weights_hash", c10::StringType::get(), spec.weightsHash);
    top.register_attribute("input_shape", c10::ListType::ofInts(),
                           c10::IValue(c10::List<int64_t>({spec.channels, spec.height, spec.width})));
    top.register_attribute("policy_kind", c10::StringType::get(), policyKindName(policy.kind));

    try {
        top.define(scoreMethod(policy.confidence, spec.numClasses()) + "\n" + kGateMethod + "\n" + forwardSource(net, policy));
    } catch (const std::exception& e) {
        if (std::getenv("EXITSCOPE_EXPORT_DEBUG")) std::fprintf(stderr, "%s\n", e.what());
        throw Error("the export's control code does not compile: " + firstLineOf(e.what()));
    }
    top.eval();

    torch::jit::ExtraFilesMap extra{{"exitscope/config.json", configToJson(config).dump(2)},
                                    {"exitscope/weights_hash", spec.weightsHash},
                                    {"exitscope/class_names.json", nlohmann::json(spec.classNames).dump()}};
    writeFileAtomically(outPath, [&](std::ostream& out) { top.save(out, extra); });
}

} // namespace exitscope::core
