#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace exitscope::core {

/// The state passed between blocks: one tensor for chain networks, one per
/// scale for MSDNet (finest first).
using State = std::vector<torch::Tensor>;

/// Counts multiply-accumulates during a dry run. While a MacCounter is
/// active on a thread, the counting layers below add their per-sample MACs
/// (computed from their shapes) to it.
class MacCounter {
public:
    MacCounter();
    ~MacCounter();
    MacCounter(const MacCounter&) = delete;
    MacCounter& operator=(const MacCounter&) = delete;

    int64_t macs() const { return m_macs; }
    void reset() { m_macs = 0; }

    /// Adds to the counter active on this thread, if any.
    static void add(int64_t macs);
    /// Whether a counter is active on this thread (a dry run is counting).
    static bool active();

private:
    int64_t m_macs = 0;
    MacCounter* m_previous = nullptr;
};

/// Per-sample MACs of a 2-D convolution producing outH x outW outputs.
int64_t conv2dMacs(int64_t inChannels, int64_t outChannels, int64_t kernelH, int64_t kernelW,
                   int64_t groups, int64_t outH, int64_t outW);
/// Per-sample MACs of a fully connected layer.
int64_t linearMacs(int64_t inFeatures, int64_t outFeatures);

/// Convolution + batch norm + optional ReLU, counting its MACs (the conv's
/// from its shape, batch norm as one MAC per output element).
class ConvBnReluImpl : public torch::nn::Module {
public:
    ConvBnReluImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool relu = true);
    torch::Tensor forward(const torch::Tensor& x);
    bool endsWithRelu() const { return m_relu; }

private:
    torch::nn::Conv2d m_conv{nullptr};
    torch::nn::BatchNorm2d m_bn{nullptr};
    int64_t m_in, m_out, m_kernel;
    bool m_relu;
};
TORCH_MODULE(ConvBnRelu);

/// Fully connected layer counting its MACs.
class CountedLinearImpl : public torch::nn::Module {
public:
    CountedLinearImpl(int64_t in, int64_t out);
    torch::Tensor forward(const torch::Tensor& x);

private:
    torch::nn::Linear m_linear{nullptr};
    int64_t m_in, m_out;
};
TORCH_MODULE(CountedLinear);

/// One block of a multi-exit backbone: maps the state leaving the previous
/// block (block 0 receives {input}) to the state leaving this one.
class Block : public torch::nn::Module {
public:
    virtual State forward(const State& in) = 0;
    /// Whether the state leaving this block was produced by a ReLU.
    virtual bool endsWithRelu() const { return true; }
};

/// An exit head (classifier branch): logits from the state leaving its
/// block, plus the small feature vector a learned gate reads.
class ExitHead : public torch::nn::Module {
public:
    virtual torch::Tensor forward(const State& in) = 0;
    /// The small feature vector a learned gate reads ([n, D], D <= kMaxGateFeatures):
    /// the global average pool of the head's input (MSDNet: its coarsest scale),
    /// averaged over groups of adjacent channels when wider.
    virtual torch::Tensor gateFeatures(const State& in);

    static constexpr int64_t kMaxGateFeatures = 8;
};

/// Common classifier branch: conv-bn-relu layers, global average pool, then
/// fully connected layers. Reads the last tensor of the state.
class ConvClassifierHead : public ExitHead {
public:
    /// convChannels: output channels of each conv (first one stride `firstStride`, rest stride 1);
    /// hidden: widths of hidden fully connected layers before the final one.
    ConvClassifierHead(int64_t inChannels, std::vector<int64_t> convChannels, int64_t firstStride,
                       std::vector<int64_t> hidden, int64_t numClasses);
    torch::Tensor forward(const State& in) override;

private:
    std::vector<ConvBnRelu> m_convs;
    std::vector<CountedLinear> m_fcs;
};

} // namespace exitscope::core
