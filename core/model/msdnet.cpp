#include "core/model/msdnet.h"

#include "core/common/error.h"

namespace exitscope::core {

namespace {

constexpr int64_t kScales = 3;

/// Finest scale still computed in block b: MSDNet drops the finest scales
/// progressively so later blocks work on coarse maps only.
int64_t finestScaleOf(int64_t b, int64_t blocks) { return std::min(kScales - 1, b * kScales / blocks); }

/// One dense layer across the active scales: scale s appends features from
/// its own maps (3x3 conv) and, when the finer scale is active too, from the
/// finer maps (strided 3x3 conv). State holds one tensor per active scale.
class DenseLayer : public torch::nn::Module {
public:
    DenseLayer(const std::vector<int64_t>& channels, int64_t finest, int64_t growth) : m_finest(finest) {
        for (int64_t s = finest; s < kScales; ++s) {
            const int64_t g = growth << s;
            const auto c = channels[static_cast<std::size_t>(s)];
            if (s == finest) {
                m_same.push_back(register_module("same" + std::to_string(s), ConvBnRelu(c, g, 3, 1)));
                m_down.push_back(nullptr);
            } else {
                m_same.push_back(register_module("same" + std::to_string(s), ConvBnRelu(c, g / 2, 3, 1)));
                m_down.push_back(register_module("down" + std::to_string(s),
                                                 ConvBnRelu(channels[static_cast<std::size_t>(s - 1)], g - g / 2, 3, 2)));
            }
        }
    }
    /// `x` holds the active scales, finest first.
    State forward(const State& x) {
        State out;
        for (std::size_t i = 0; i < x.size(); ++i) {
            auto fresh = m_same[i](x[i]);
            if (m_down[i]) fresh = torch::cat({fresh, m_down[i](x[i - 1])}, 1);
            out.push_back(torch::cat({x[i], fresh}, 1));
        }
        return out;
    }

private:
    int64_t m_finest;
    std::vector<ConvBnRelu> m_same;
    std::vector<ConvBnRelu> m_down;
};

class MsdBlock : public Block {
public:
    /// channels: per-scale channel counts entering the block (updated to leaving).
    MsdBlock(int64_t index, int64_t blocks, int64_t inChannels, int64_t base, int64_t growth, int64_t layers,
             std::vector<int64_t>& channels)
        : m_first(index == 0) {
        if (m_first) {
            for (int64_t s = 0; s < kScales; ++s) {
                const int64_t in = s == 0 ? inChannels : channels[static_cast<std::size_t>(s - 1)];
                channels[static_cast<std::size_t>(s)] = base << s;
                m_stem.push_back(register_module("stem" + std::to_string(s),
                                                 ConvBnRelu(in, base << s, 3, s == 0 ? 1 : 2)));
            }
        }
        m_finest = finestScaleOf(index, blocks);
        m_dropped = m_finest - (m_first ? 0 : finestScaleOf(index - 1, blocks));
        for (int64_t l = 0; l < layers; ++l) {
            m_layers.push_back(register_module("layer" + std::to_string(l),
                                               std::make_shared<DenseLayer>(channels, m_finest, growth)));
            for (int64_t s = m_finest; s < kScales; ++s)
                channels[static_cast<std::size_t>(s)] += growth << s;
        }
    }

    State forward(const State& in) override {
        State x;
        if (m_first) {
            auto t = in.at(0);
            for (auto& stem : m_stem) {
                t = stem(t);
                x.push_back(t);
            }
        } else {
            x.assign(in.begin() + m_dropped, in.end());
        }
        for (auto& layer : m_layers) x = layer->forward(x);
        return x;
    }

private:
    bool m_first;
    int64_t m_finest = 0;
    int64_t m_dropped = 0;
    std::vector<ConvBnRelu> m_stem;
    std::vector<std::shared_ptr<DenseLayer>> m_layers;
};

} // namespace

std::shared_ptr<MultiExitNet> buildMsdNet(ModelSpec spec) {
    auto& o = spec.options;
    if (!o.contains("blocks")) o["blocks"] = 5;
    if (!o.contains("base_channels")) o["base_channels"] = 8;
    if (!o.contains("growth")) o["growth"] = 4;
    if (!o.contains("layers_per_block")) o["layers_per_block"] = 2;
    if (!o.contains("head_channels")) o["head_channels"] = 32;
    const auto blocks = o["blocks"].get<int64_t>();
    const auto base = o["base_channels"].get<int64_t>();
    const auto growth = o["growth"].get<int64_t>();
    const auto layers = o["layers_per_block"].get<int64_t>();
    const auto headCh = o["head_channels"].get<int64_t>();
    if (blocks < kScales || blocks > 32 || base < 1 || growth < 2 || layers < 1 || layers > 16 || headCh < 1)
        throw Error("msdnet: options out of range (blocks 3..32, base >= 1, growth >= 2, layers 1..16)");
    if (std::min(spec.height, spec.width) < 16) throw Error("msdnet: needs inputs of at least 16x16");

    auto net = std::make_shared<MultiExitNet>(spec);
    std::vector<int64_t> channels(kScales, 0);
    for (int64_t b = 0; b < blocks; ++b) {
        net->addBlock(std::make_shared<MsdBlock>(b, blocks, spec.channels, base, growth, layers, channels));
        net->addExit(std::make_shared<ConvClassifierHead>(channels[kScales - 1],
                                                          std::vector<int64_t>{headCh, headCh}, 2,
                                                          std::vector<int64_t>{}, spec.numClasses()),
                     b);
    }
    return net;
}

} // namespace exitscope::core
