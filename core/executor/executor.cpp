#include "core/executor/executor.h"

#include "core/common/error.h"
#include "core/model/multi_exit_net.h"
#include "core/policy/confidence.h"

namespace exitscope::core {

torch::Device parseDevice(const std::string& text) {
    if (text == "cpu") return torch::kCPU;
    if (text.rfind("cuda", 0) == 0) {
        if (!torch::cuda::is_available())
            throw Error("device '" + text + "': this LibTorch build or machine has no CUDA; use --device cpu");
        try {
            return torch::Device(text);
        } catch (const c10::Error&) {
            throw Error("device '" + text + "' is not a valid device name");
        }
    }
    throw Error("device '" + text + "' is not cpu or cuda[:n]");
}

namespace {

PolicyConfig thresholdPolicy(std::vector<float> thresholds, int64_t numExits) {
    checkThresholds(thresholds, numExits);
    if (static_cast<int64_t>(thresholds.size()) == numExits) thresholds.pop_back();
    PolicyConfig p;
    p.kind = PolicyKind::Confidence;
    p.confidence.criterion = ConfidenceCriterion::MaxSoftmax;
    p.confidence.thresholds = std::move(thresholds);
    return p;
}

} // namespace

EarlyExitExecutor::EarlyExitExecutor(std::shared_ptr<MultiExitNet> net, std::vector<float> thresholds,
                                     torch::Device device)
    : EarlyExitExecutor(net, thresholdPolicy(std::move(thresholds), net->numExits()), device) {}

EarlyExitExecutor::EarlyExitExecutor(std::shared_ptr<MultiExitNet> net, PolicyConfig policy, torch::Device device,
                                     const std::vector<float>& exitMs)
    : m_net(std::move(net)), m_policy(std::move(policy)), m_device(device) {
    checkPolicyConfig(m_policy, m_net->numExits());
    const int64_t K = m_net->numExits();
    m_fixedExit = m_policy.kind == PolicyKind::Static ? m_policy.staticExit : K - 1;
    if (m_policy.kind == PolicyKind::Anytime) {
        const auto costs = m_net->measureCosts();
        std::vector<int64_t> exitMacs;
        for (std::size_t k = 0; k < costs.exits.size(); ++k) exitMacs.push_back(costs.cumulativeExitMacs(k));
        if (m_policy.anytimeUnit == BudgetUnit::Milliseconds && static_cast<int64_t>(exitMs.size()) != K)
            throw Error("an anytime budget in ms needs the measured exit times of a trace of these weights");
        m_fixedExit = anytimeExitFor(m_policy, exitMacs, exitMs);
    }
    m_net->to(m_device);
    m_net->eval();
}

void EarlyExitExecutor::decideExits(int64_t b, State& state, torch::Tensor& active, std::vector<ExecutedSample>& out) {
    const int64_t K = m_net->numExits();
    const bool fixed = m_policy.kind == PolicyKind::Static || m_policy.kind == PolicyKind::Anytime;
    for (int64_t k = 0; k < K && active.numel() > 0; ++k) {
        if (m_net->exitBlock(k) != b) continue;
        if (fixed && k != m_fixedExit) continue;  // nothing is decided here: the head need not run
        auto probs = torch::softmax(m_net->runExit(k, state), 1).to(torch::kCPU).contiguous();
        const int64_t m = probs.size(0);
        const int64_t C = probs.size(1);
        const float* p = probs.data_ptr<float>();
        torch::Tensor gates;
        if (m_policy.needsGateInputs() && k < K - 1)
            gates = m_net->gateFeatures(k, state).to(torch::kCPU, torch::kFloat32).contiguous();
        const float* g = gates.defined() ? gates.data_ptr<float>() : nullptr;
        const int64_t D = gates.defined() ? gates.size(1) : 0;
        const int64_t* pos = active.data_ptr<int64_t>();
        m_scratch.resize(static_cast<std::size_t>(C));
        std::vector<int64_t> keep;
        keep.reserve(static_cast<std::size_t>(m));
        for (int64_t i = 0; i < m; ++i) {
            const int64_t best = argmaxOf(p + i * C, C);
            const float conf = p[i * C + best];
            auto& s = out[static_cast<std::size_t>(pos[i])];
            s.exitsEvaluated.push_back(k);
            s.confidences.push_back(conf);
            const float compared = fixed || k + 1 >= K
                                       ? conf
                                       : exitScore(m_policy, k, p + i * C, C, g ? g + i * D : nullptr, m_scratch.data());
            s.scores.push_back(compared);
            if (decideAtExit(m_policy, k, K, p + i * C, C, g ? g + i * D : nullptr, m_fixedExit, m_scratch.data())) {
                s.exitTaken = k;
                s.prediction = best;
            } else {
                keep.push_back(i);
            }
        }
        if (static_cast<int64_t>(keep.size()) == m) continue;
        // Batch compaction: drop the samples that left from every tensor of the state.
        auto keepIdx = torch::tensor(keep, torch::kInt64);
        active = active.index_select(0, keepIdx);
        if (active.numel() == 0) break;
        auto keepOnDevice = keepIdx.to(m_device);
        for (auto& t : state) t = t.index_select(0, keepOnDevice);
    }
}

std::vector<ExecutedSample> EarlyExitExecutor::run(const torch::Tensor& batch) {
    c10::InferenceMode inference;
    const int64_t n = batch.size(0);
    std::vector<ExecutedSample> out(static_cast<std::size_t>(n));
    // Positions in the original batch of the samples still running.
    auto active = torch::arange(n, torch::kInt64);
    State state = inputState(batch.to(m_device));
    for (int64_t b = 0; b < m_net->numBlocks() && active.numel() > 0; ++b) {
        state = m_net->runBlock(b, state);
        decideExits(b, state, active, out);
    }
    return out;
}

std::vector<ExecutedSample> EarlyExitExecutor::runStream(int64_t numBatches,
                                                         const std::function<torch::Tensor(int64_t)>& batchAt,
                                                         const std::function<void(int64_t)>& progress) {
    c10::InferenceMode inference;
    const int64_t B = m_net->numBlocks();
    // pools[b]: the samples waiting for block b, as pieces of state and their positions.
    struct Pool {
        std::vector<State> states;
        std::vector<torch::Tensor> positions;
        int64_t count = 0;
    };
    std::vector<Pool> pools(static_cast<std::size_t>(B));
    std::vector<ExecutedSample> out;
    int64_t target = 0;
    auto runPool = [&](int64_t b) {
        auto& pool = pools[static_cast<std::size_t>(b)];
        State state;
        torch::Tensor active;
        if (pool.states.size() == 1) {
            state = std::move(pool.states.front());
            active = std::move(pool.positions.front());
        } else {
            for (std::size_t t = 0; t < pool.states.front().size(); ++t) {
                std::vector<torch::Tensor> parts;
                for (const auto& piece : pool.states) parts.push_back(piece[t]);
                state.push_back(torch::cat(parts, 0));
            }
            active = torch::cat(pool.positions, 0);
        }
        pool = Pool{};
        state = m_net->runBlock(b, state);
        decideExits(b, state, active, out);
        if (active.numel() == 0 || b + 1 >= B) return;
        auto& next = pools[static_cast<std::size_t>(b + 1)];
        next.count += active.numel();
        next.states.push_back(std::move(state));
        next.positions.push_back(std::move(active));
    };
    auto drain = [&](bool all) {
        for (int64_t b = 0; b < B; ++b) {
            const auto& pool = pools[static_cast<std::size_t>(b)];
            // Half a batch is already large enough to run well; pooling more
            // would only add copies (torch::cat) of states that are seldom thin.
            if (pool.count > 0 && (all || 2 * pool.count >= target)) runPool(b);
        }
    };
    for (int64_t i = 0; i < numBatches; ++i) {
        const torch::Tensor x = batchAt(i);
        const int64_t n = x.size(0);
        if (n == 0) continue;
        target = std::max(target, n);
        const auto first = static_cast<int64_t>(out.size());
        out.resize(static_cast<std::size_t>(first + n));
        auto& pool = pools.front();
        pool.states.push_back(inputState(x.to(m_device)));
        pool.positions.push_back(torch::arange(first, first + n, torch::kInt64));
        pool.count += n;
        drain(false);
        if (progress) progress(i + 1);
    }
    drain(true);
    return out;
}

torch::Tensor EarlyExitExecutor::runFull(const torch::Tensor& batch) {
    c10::InferenceMode inference;
    State state = inputState(batch.to(m_device));
    for (int64_t b = 0; b < m_net->numBlocks(); ++b) state = m_net->runBlock(b, state);
    return m_net->runExit(m_net->numExits() - 1, state).argmax(1).to(torch::kCPU);
}

} // namespace exitscope::core
