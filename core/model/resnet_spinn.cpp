#include "core/model/resnet_spinn.h"

#include "core/common/error.h"
#include "core/model/zoo.h"

namespace exitscope::core {

namespace {

class StemBlock : public Block {
public:
    StemBlock(int64_t in, int64_t out) { m_conv = register_module("conv", ConvBnRelu(in, out, 3, 1)); }
    State forward(const State& in) override { return {m_conv(in.at(0))}; }

private:
    ConvBnRelu m_conv{nullptr};
};

/// conv-bn-relu, conv-bn, plus the (projected) input, then ReLU.
class ResidualBlock : public Block {
public:
    ResidualBlock(int64_t in, int64_t out, int64_t stride) {
        m_a = register_module("conv_a", ConvBnRelu(in, out, 3, stride, true));
        m_b = register_module("conv_b", ConvBnRelu(out, out, 3, 1, false));
        if (stride != 1 || in != out) m_proj = register_module("proj", ConvBnRelu(in, out, 1, stride, false));
    }
    State forward(const State& in) override {
        const auto& x = in.at(0);
        auto shortcut = m_proj ? m_proj(x) : x;
        return {torch::relu(m_b(m_a(x)) + shortcut)};
    }

private:
    ConvBnRelu m_a{nullptr}, m_b{nullptr}, m_proj{nullptr};
};

} // namespace

std::shared_ptr<MultiExitNet> buildResNetSpinn(ModelSpec spec) {
    auto& o = spec.options;
    if (!o.contains("widths")) o["widths"] = {8, 16, 32};
    if (!o.contains("blocks_per_stage")) o["blocks_per_stage"] = 4;
    if (!o.contains("exit_fractions")) o["exit_fractions"] = {0.15, 0.30, 0.45, 0.60, 0.75, 0.90};
    if (!o.contains("head_channels")) o["head_channels"] = 32;
    const auto widths = o["widths"].get<std::vector<int64_t>>();
    const auto perStage = o["blocks_per_stage"].get<int64_t>();
    const auto fractions = o["exit_fractions"].get<std::vector<double>>();
    const auto headCh = o["head_channels"].get<int64_t>();
    if (widths.size() != 3 || perStage < 1 || perStage > 16 || headCh < 1)
        throw Error("resnet-spinn: options need 3 widths, 1..16 blocks per stage, positive head_channels");

    auto net = std::make_shared<MultiExitNet>(spec);
    net->addBlock(std::make_shared<StemBlock>(spec.channels, widths[0]));
    std::vector<int64_t> blockWidth{widths[0]};
    int64_t in = widths[0];
    for (std::size_t s = 0; s < 3; ++s) {
        for (int64_t i = 0; i < perStage; ++i) {
            const int64_t stride = (s > 0 && i == 0) ? 2 : 1;
            net->addBlock(std::make_shared<ResidualBlock>(in, widths[s], stride));
            in = widths[s];
            blockWidth.push_back(in);
        }
    }

    // Exit positions come from the measured backbone MACs, not from a table.
    const auto costs = net->measureCosts();
    std::vector<int64_t> blockMacs;
    for (const auto& b : costs.blocks) blockMacs.push_back(b.macs);
    std::vector<int64_t> positions = placeExitsByFraction(blockMacs, fractions);
    const int64_t last = net->numBlocks() - 1;
    for (int64_t p : positions) {
        if (p == last) continue;  // the final classifier sits there
        // Early heads downsample once so their conv stays cheap on large maps.
        const int64_t stride = blockWidth[static_cast<std::size_t>(p)] == widths[0] ? 2 : 1;
        net->addExit(std::make_shared<ConvClassifierHead>(blockWidth[static_cast<std::size_t>(p)],
                                                          std::vector<int64_t>{headCh}, stride,
                                                          std::vector<int64_t>{}, spec.numClasses()),
                     p);
    }
    net->addExit(std::make_shared<ConvClassifierHead>(in, std::vector<int64_t>{}, 1, std::vector<int64_t>{},
                                                      spec.numClasses()),
                 last);
    return net;
}

} // namespace exitscope::core
