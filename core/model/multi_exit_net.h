#pragma once

#include "core/model/layers.h"
#include "core/model/model_info.h"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace exitscope::core {

/// The one interface for every multi-exit network: an ordered list of
/// blocks, exit heads attached after some blocks, and a State (one or more
/// tensors) passed between blocks. The zoo builders fill it; the trainer,
/// profiler and executor only use this interface.
class MultiExitNet : public torch::nn::Module {
public:
    explicit MultiExitNet(ModelSpec spec);

    /// Appends a block to the backbone.
    void addBlock(std::shared_ptr<Block> block);
    /// Attaches an exit head reading the state that leaves block `afterBlock`
    /// (an existing block, not before the previous exit's block).
    void addExit(std::shared_ptr<ExitHead> head, int64_t afterBlock);

    const ModelSpec& spec() const { return m_spec; }
    ModelSpec& spec() { return m_spec; }
    int64_t numBlocks() const { return static_cast<int64_t>(m_blocks.size()); }
    int64_t numExits() const { return static_cast<int64_t>(m_heads.size()); }
    int64_t exitBlock(int64_t k) const { return m_exitBlock.at(static_cast<std::size_t>(k)); }

    State runBlock(int64_t b, const State& in) { return m_blocks.at(static_cast<std::size_t>(b))->forward(in); }
    torch::Tensor runExit(int64_t k, const State& in) { return m_heads.at(static_cast<std::size_t>(k))->forward(in); }
    torch::Tensor gateFeatures(int64_t k, const State& in) {
        return m_heads.at(static_cast<std::size_t>(k))->gateFeatures(in);
    }
    Block& block(int64_t b) { return *m_blocks.at(static_cast<std::size_t>(b)); }
    ExitHead& head(int64_t k) { return *m_heads.at(static_cast<std::size_t>(k)); }

    /// Logits of every exit for a batch [n, C, H, W] (training and checks).
    std::vector<torch::Tensor> forwardAll(const torch::Tensor& x);

    /// Per-block and per-head MACs, parameters and output bytes from a dry
    /// run on one zero input of the spec's shape (in eval mode, no grad).
    ModelCosts measureCosts();

    /// fnv1a64 over the names, shapes and bytes of all parameters and buffers.
    std::string contentHash() const;

private:
    ModelSpec m_spec;
    std::vector<std::shared_ptr<Block>> m_blocks;
    std::vector<std::shared_ptr<ExitHead>> m_heads;
    std::vector<int64_t> m_exitBlock;
};

/// Converts a batch of normalised images into the first block's input state.
inline State inputState(const torch::Tensor& x) { return State{x}; }

/// fp32 bytes of a state, per sample.
int64_t stateBytesPerSample(const State& s);

} // namespace exitscope::core

namespace exitscope::core {

/// Sets LibTorch's intra-op thread count: `requested` when > 0, else the
/// EXITSCOPE_THREADS environment variable, else the number of cores.
/// Returns the count in use. Figures in the README are measured with it.
int applyThreadCount(int requested);

} // namespace exitscope::core
