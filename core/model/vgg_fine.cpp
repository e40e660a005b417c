#include "core/model/vgg_fine.h"

#include "core/common/error.h"

namespace exitscope::core {

namespace {

/// One VGG conv layer, optionally followed by 2x2 max pooling.
class VggBlock : public Block {
public:
    VggBlock(int64_t in, int64_t out, bool pool) : m_pool(pool) {
        m_conv = register_module("conv", ConvBnRelu(in, out, 3, 1));
    }
    State forward(const State& in) override {
        auto y = m_conv(in.at(0));
        return {m_pool ? torch::max_pool2d(y, 2) : y};
    }

private:
    ConvBnRelu m_conv{nullptr};
    bool m_pool;
};

} // namespace

std::shared_ptr<MultiExitNet> buildVggFine(ModelSpec spec) {
    auto& o = spec.options;
    if (!o.contains("layers")) o["layers"] = {16, 16, 0, 32, 32, 0, 64, 64, 0, 64, 64};
    if (!o.contains("branch_channels")) o["branch_channels"] = 32;
    if (!o.contains("branch_hidden")) o["branch_hidden"] = 64;
    const auto layers = o["layers"].get<std::vector<int64_t>>();
    const auto branchCh = o["branch_channels"].get<int64_t>();
    const auto hidden = o["branch_hidden"].get<int64_t>();
    if (branchCh < 1 || hidden < 1) throw Error("vgg-fine: branch sizes must be positive");

    auto net = std::make_shared<MultiExitNet>(spec);
    int64_t in = spec.channels;
    int64_t size = std::min(spec.height, spec.width);
    std::vector<std::pair<int64_t, int64_t>> branchAt;  // (block, channels)
    std::vector<int64_t> branchSize;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (layers[i] == 0) continue;
        if (layers[i] < 0) throw Error("vgg-fine: layer widths must be positive (0 = pool)");
        const bool pool = i + 1 < layers.size() && layers[i + 1] == 0;
        net->addBlock(std::make_shared<VggBlock>(in, layers[i], pool));
        in = layers[i];
        if (pool) size /= 2;
        if (size < 1) throw Error("vgg-fine: too many pooling layers for the input size");
        branchAt.emplace_back(net->numBlocks() - 1, in);
        branchSize.push_back(size);
    }
    if (branchAt.size() < 2) throw Error("vgg-fine: needs at least two conv layers");
    for (std::size_t k = 0; k < branchAt.size(); ++k) {
        const int64_t stride = branchSize[k] >= 8 ? 2 : 1;
        net->addExit(std::make_shared<ConvClassifierHead>(branchAt[k].second, std::vector<int64_t>{branchCh},
                                                          stride, std::vector<int64_t>{hidden},
                                                          spec.numClasses()),
                     branchAt[k].first);
    }
    return net;
}

} // namespace exitscope::core
