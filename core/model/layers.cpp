#include "core/model/layers.h"

namespace exitscope::core {

namespace {
thread_local MacCounter* t_activeCounter = nullptr;
}

MacCounter::MacCounter() : m_previous(t_activeCounter) { t_activeCounter = this; }
MacCounter::~MacCounter() { t_activeCounter = m_previous; }

bool MacCounter::active() { return t_activeCounter != nullptr; }

void MacCounter::add(int64_t macs) {
    if (t_activeCounter) t_activeCounter->m_macs += macs;
}

int64_t conv2dMacs(int64_t inChannels, int64_t outChannels, int64_t kernelH, int64_t kernelW,
                   int64_t groups, int64_t outH, int64_t outW) {
    return outChannels * outH * outW * (inChannels / groups) * kernelH * kernelW;
}

int64_t linearMacs(int64_t inFeatures, int64_t outFeatures) { return inFeatures * outFeatures; }

ConvBnReluImpl::ConvBnReluImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool relu)
    : m_in(in), m_out(out), m_kernel(kernel), m_relu(relu) {
    m_conv = register_module(
        "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                      .stride(stride)
                                      .padding(kernel / 2)
                                      .bias(false)));
    m_bn = register_module("bn", torch::nn::BatchNorm2d(out));
}

torch::Tensor ConvBnReluImpl::forward(const torch::Tensor& x) {
    auto y = m_bn(m_conv(x));
    MacCounter::add(conv2dMacs(m_in, m_out, m_kernel, m_kernel, 1, y.size(2), y.size(3)) +
                    y.size(1) * y.size(2) * y.size(3));
    return m_relu ? torch::relu(y) : y;
}

CountedLinearImpl::CountedLinearImpl(int64_t in, int64_t out) : m_in(in), m_out(out) {
    m_linear = register_module("linear", torch::nn::Linear(in, out));
}

torch::Tensor CountedLinearImpl::forward(const torch::Tensor& x) {
    MacCounter::add(linearMacs(m_in, m_out));
    return m_linear(x);
}

torch::Tensor ExitHead::gateFeatures(const State& in) {
    auto pooled = torch::adaptive_avg_pool2d(in.back(), {1, 1}).flatten(1);
    // Wide states are averaged over groups of adjacent channels so traces stay small.
    if (pooled.size(1) <= kMaxGateFeatures) return pooled;
    return torch::adaptive_avg_pool1d(pooled.unsqueeze(1), kMaxGateFeatures).squeeze(1);
}

ConvClassifierHead::ConvClassifierHead(int64_t inChannels, std::vector<int64_t> convChannels,
                                       int64_t firstStride, std::vector<int64_t> hidden,
                                       int64_t numClasses) {
    int64_t ch = inChannels;
    for (std::size_t i = 0; i < convChannels.size(); ++i) {
        m_convs.push_back(register_module("conv" + std::to_string(i),
                                          ConvBnRelu(ch, convChannels[i], 3, i == 0 ? firstStride : 1)));
        ch = convChannels[i];
    }
    int64_t features = ch;
    for (std::size_t i = 0; i < hidden.size(); ++i) {
        m_fcs.push_back(register_module("fc" + std::to_string(i), CountedLinear(features, hidden[i])));
        features = hidden[i];
    }
    m_fcs.push_back(register_module("fc" + std::to_string(hidden.size()), CountedLinear(features, numClasses)));
}

torch::Tensor ConvClassifierHead::forward(const State& in) {
    auto x = in.back();
    for (auto& conv : m_convs) x = conv(x);
    x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
    for (std::size_t i = 0; i + 1 < m_fcs.size(); ++i) x = torch::relu(m_fcs[i](x));
    return m_fcs.back()(x);
}

} // namespace exitscope::core
