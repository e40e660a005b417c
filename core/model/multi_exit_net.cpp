#include "core/model/multi_exit_net.h"

#include "core/common/error.h"
#include "core/common/hash.h"

namespace exitscope::core {

MultiExitNet::MultiExitNet(ModelSpec spec) : m_spec(std::move(spec)) {}

void MultiExitNet::addBlock(std::shared_ptr<Block> block) {
    register_module("block" + std::to_string(m_blocks.size()), block);
    m_blocks.push_back(std::move(block));
}

void MultiExitNet::addExit(std::shared_ptr<ExitHead> head, int64_t afterBlock) {
    if (afterBlock < 0 || afterBlock >= numBlocks())
        throw Error(m_spec.name + ": exit after block " + std::to_string(afterBlock) + ", which does not exist");
    if (!m_exitBlock.empty() && afterBlock < m_exitBlock.back())
        throw Error(m_spec.name + ": exits must be added in backbone order");
    register_module("exit" + std::to_string(m_heads.size()), head);
    m_heads.push_back(std::move(head));
    m_exitBlock.push_back(afterBlock);
}

std::vector<torch::Tensor> MultiExitNet::forwardAll(const torch::Tensor& x) {
    std::vector<torch::Tensor> logits;
    logits.reserve(m_heads.size());
    State state = inputState(x);
    std::size_t k = 0;
    for (int64_t b = 0; b < numBlocks(); ++b) {
        state = runBlock(b, state);
        while (k < m_heads.size() && m_exitBlock[k] == b) logits.push_back(runExit(static_cast<int64_t>(k++), state));
    }
    return logits;
}

int64_t stateBytesPerSample(const State& s) {
    int64_t bytes = 0;
    for (const auto& t : s) bytes += (t.numel() / t.size(0)) * static_cast<int64_t>(sizeof(float));
    return bytes;
}

namespace {
int64_t countParams(torch::nn::Module& m) {
    int64_t n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
}
} // namespace

ModelCosts MultiExitNet::measureCosts() {
    const bool wasTraining = is_training();
    eval();
    ModelCosts costs;
    {
        torch::NoGradGuard noGrad;
        State state = inputState(torch::zeros({1, m_spec.channels, m_spec.height, m_spec.width}));
        std::size_t k = 0;
        for (int64_t b = 0; b < numBlocks(); ++b) {
            MacCounter counter;
            state = runBlock(b, state);
            BlockCost bc;
            bc.name = "block" + std::to_string(b);
            bc.macs = counter.macs();
            bc.params = countParams(block(b));
            bc.outBytes = stateBytesPerSample(state);
            bc.relu = block(b).endsWithRelu();
            costs.blocks.push_back(bc);
            while (k < m_heads.size() && m_exitBlock[k] == b) {
                MacCounter headCounter;
                auto logits = runExit(static_cast<int64_t>(k), state);
                if (logits.dim() != 2 || logits.size(1) != m_spec.numClasses())
                    throw Error(m_spec.name + ": exit " + std::to_string(k) + " returns shape " +
                                c10::str(logits.sizes()) + ", expected [n, " +
                                std::to_string(m_spec.numClasses()) + "]");
                ExitCost ec;
                ec.name = "exit" + std::to_string(k);
                ec.afterBlock = b;
                ec.macs = headCounter.macs();
                ec.params = countParams(head(static_cast<int64_t>(k)));
                costs.exits.push_back(ec);
                ++k;
            }
        }
    }
    train(wasTraining);
    return costs;
}

std::string MultiExitNet::contentHash() const {
    Fnv1a64 h;
    auto feed = [&h](const std::string& name, const torch::Tensor& t) {
        h.update(name.data(), name.size());
        auto c = t.detach().to(torch::kCPU).contiguous();
        for (auto s : c.sizes()) h.update(&s, sizeof s);
        h.update(c.data_ptr(), static_cast<std::size_t>(c.numel()) * c.element_size());
    };
    for (const auto& p : named_parameters(true)) feed(p.key(), p.value());
    for (const auto& b : named_buffers(true)) feed(b.key(), b.value());
    return h.hex();
}

} // namespace exitscope::core

#include <cstdlib>
#include <thread>

namespace exitscope::core {

int applyThreadCount(int requested) {
    int n = requested;
    if (n <= 0) {
        if (const char* env = std::getenv("EXITSCOPE_THREADS")) n = std::atoi(env);
    }
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    n = std::min(n, 256);
    torch::set_num_threads(n);
    return n;
}

} // namespace exitscope::core
