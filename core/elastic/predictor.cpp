#include "core/elastic/predictor.h"

#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

namespace exitscope::core {

namespace {

void checkConfidences(const std::vector<float>& conf, int64_t K, const char* where) {
    if (K < 1 || K > 64 || conf.empty() || conf.size() % static_cast<std::size_t>(K) != 0) {
        std::ostringstream os;
        os << where << ": " << conf.size() << " confidences are not a whole number (>= 1) of samples of " << K
           << " exits (1 to 64)";
        throw Error(os.str());
    }
    for (std::size_t i = 0; i < conf.size(); ++i) {
        if (!(conf[i] >= 0.0f && conf[i] <= 1.0f)) {
            std::ostringstream os;
            os << where << ": confidence of sample " << i / static_cast<std::size_t>(K) << ", exit "
               << i % static_cast<std::size_t>(K) << " is " << conf[i] << ", not in [0, 1]";
            throw Error(os.str());
        }
    }
}

float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

// y = W x + b for one layer; W is [out, in].
void affine(const float* w, const float* b, const float* x, int64_t in, int64_t out, float* y) {
    for (int64_t o = 0; o < out; ++o) {
        const float* row = w + o * in;
        float s = b[o];
        for (int64_t i = 0; i < in; ++i) s += row[i] * x[i];
        y[o] = s;
    }
}

}  // namespace

std::vector<float> exitConfidences(const Trace& trace) {
    const int64_t N = trace.numSamples, K = trace.numExits, C = trace.numClasses;
    if (static_cast<int64_t>(trace.probs.size()) != N * K * C || C < 1) {
        std::ostringstream os;
        os << "exit confidences: the trace has " << trace.probs.size() << " probabilities for " << N << " samples, "
           << K << " exits and " << C << " classes";
        throw Error(os.str());
    }
    std::vector<float> conf(static_cast<std::size_t>(N * K));
    for (int64_t i = 0; i < N * K; ++i) {
        const float* p = trace.probs.data() + i * C;
        conf[static_cast<std::size_t>(i)] = *std::max_element(p, p + C);
    }
    return conf;
}

/// Forward and backward passes with Adam for ConfidencePredictor::train.
class PredictorTrainer {
public:
    using Layer = ConfidencePredictor::Layer;

    PredictorTrainer(ConfidencePredictor& net, double lr) : m_net(net), m_lr(lr) {
        for (const Layer& l : net.m_layers) {
            m_gradW.emplace_back(l.weights.size(), 0.0f);
            m_gradB.emplace_back(l.bias.size(), 0.0f);
            m_mW.emplace_back(l.weights.size(), 0.0f);
            m_vW.emplace_back(l.weights.size(), 0.0f);
            m_mB.emplace_back(l.bias.size(), 0.0f);
            m_vB.emplace_back(l.bias.size(), 0.0f);
            m_act.emplace_back(static_cast<std::size_t>(l.out), 0.0f);
            m_delta.emplace_back(static_cast<std::size_t>(l.out), 0.0f);
        }
    }

    // Adds the gradient of sum over unobserved k of (y_k - c_k)^2 / count
    // for one masked input; returns that loss.
    double accumulate(const float* input, const float* target, const uint8_t* mask) {
        auto& layers = m_net.m_layers;
        const std::size_t L = layers.size();
        const float* x = input;
        for (std::size_t l = 0; l < L; ++l) {
            affine(layers[l].weights.data(), layers[l].bias.data(), x, layers[l].in, layers[l].out, m_act[l].data());
            for (float& a : m_act[l]) a = l + 1 < L ? std::max(a, 0.0f) : sigmoid(a);
            x = m_act[l].data();
        }
        const int64_t K = m_net.m_numExits;
        int64_t count = 0;
        for (int64_t k = 0; k < K; ++k) count += mask[k] ? 0 : 1;
        double loss = 0.0;
        const float* y = m_act[L - 1].data();
        for (int64_t k = 0; k < K; ++k) {
            const float e = mask[k] || count == 0 ? 0.0f : y[k] - target[k];
            loss += static_cast<double>(e) * e / static_cast<double>(std::max<int64_t>(count, 1));
            m_delta[L - 1][static_cast<std::size_t>(k)] =
                2.0f * e / static_cast<float>(std::max<int64_t>(count, 1)) * y[k] * (1.0f - y[k]);
        }
        for (std::size_t l = L; l-- > 0;) {
            const Layer& layer = layers[l];
            const float* in = l == 0 ? input : m_act[l - 1].data();
            const float* d = m_delta[l].data();
            for (int64_t o = 0; o < layer.out; ++o) {
                float* g = m_gradW[l].data() + o * layer.in;
                for (int64_t i = 0; i < layer.in; ++i) g[i] += d[o] * in[i];
                m_gradB[l][static_cast<std::size_t>(o)] += d[o];
            }
            if (l == 0) break;
            float* prev = m_delta[l - 1].data();
            std::fill(prev, prev + layer.in, 0.0f);
            for (int64_t o = 0; o < layer.out; ++o) {
                const float* row = layer.weights.data() + o * layer.in;
                for (int64_t i = 0; i < layer.in; ++i) prev[i] += row[i] * d[o];
            }
            for (int64_t i = 0; i < layer.in; ++i)
                if (m_act[l - 1][static_cast<std::size_t>(i)] <= 0.0f) prev[i] = 0.0f;
        }
        return loss;
    }

    void step(int64_t batchSize) {
        ++m_t;
        const float scale = 1.0f / static_cast<float>(batchSize);
        const double b1 = 0.9, b2 = 0.999;
        const auto lrT = static_cast<float>(m_lr * std::sqrt(1 - std::pow(b2, m_t)) / (1 - std::pow(b1, m_t)));
        auto update = [&](std::vector<float>& p, std::vector<float>& g, std::vector<float>& m, std::vector<float>& v) {
            for (std::size_t i = 0; i < p.size(); ++i) {
                const float gi = g[i] * scale;
                m[i] = 0.9f * m[i] + 0.1f * gi;
                v[i] = 0.999f * v[i] + 0.001f * gi * gi;
                p[i] -= lrT * m[i] / (std::sqrt(v[i]) + 1e-8f);
                g[i] = 0.0f;
            }
        };
        for (std::size_t l = 0; l < m_net.m_layers.size(); ++l) {
            update(m_net.m_layers[l].weights, m_gradW[l], m_mW[l], m_vW[l]);
            update(m_net.m_layers[l].bias, m_gradB[l], m_mB[l], m_vB[l]);
        }
    }

private:
    ConfidencePredictor& m_net;
    double m_lr;
    int64_t m_t = 0;
    std::vector<std::vector<float>> m_gradW, m_gradB, m_mW, m_vW, m_mB, m_vB, m_act, m_delta;
};

ConfidencePredictor ConfidencePredictor::meanProfile(const std::vector<float>& confidences, int64_t numExits) {
    checkConfidences(confidences, numExits, "confidence predictor");
    const auto K = static_cast<std::size_t>(numExits);
    const std::size_t N = confidences.size() / K;
    ConfidencePredictor p;
    p.m_numExits = numExits;
    p.m_means.assign(K, 0.0f);
    std::vector<double> sum(K, 0.0);
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t k = 0; k < K; ++k) sum[k] += confidences[n * K + k];
    for (std::size_t k = 0; k < K; ++k) p.m_means[k] = static_cast<float>(sum[k] / static_cast<double>(N));
    p.m_options.hidden.clear();
    p.m_options.epochs = 0;
    return p;
}

ConfidencePredictor ConfidencePredictor::meanOnly() const {
    ConfidencePredictor p = *this;
    p.m_layers.clear();
    p.m_options.hidden.clear();
    p.m_options.epochs = 0;
    return p;
}

ConfidencePredictor ConfidencePredictor::train(const std::vector<float>& confidences, int64_t numExits,
                                               const PredictorOptions& options, const ProgressFn& progress,
                                               const CancelFlag* cancel) {
    if (options.epochs < 1 || options.batch < 1 || !(options.learningRate > 0.0) ||
        !std::isfinite(options.learningRate) || options.hidden.empty()) {
        std::ostringstream os;
        os << "confidence predictor: epochs " << options.epochs << ", batch " << options.batch << ", learning rate "
           << options.learningRate << " and " << options.hidden.size()
           << " hidden layers must all be positive (use meanProfile for no MLP)";
        throw Error(os.str());
    }
    for (int64_t h : options.hidden)
        if (h < 1 || h > kMaxWidth)
            throw Error("confidence predictor: hidden width " + std::to_string(h) + " is not in [1, " +
                        std::to_string(kMaxWidth) + "]");
    ConfidencePredictor net = meanProfile(confidences, numExits);
    net.m_options = options;
    const int64_t K = numExits;
    const auto N = static_cast<int64_t>(confidences.size()) / K;

    std::mt19937_64 rng(options.seed);
    auto uniform01 = [&rng] { return static_cast<float>(rng() >> 40) * (1.0f / 16777216.0f); };
    int64_t width = 2 * K;
    std::vector<int64_t> widths = options.hidden;
    widths.push_back(K);
    for (std::size_t i = 0; i < widths.size(); ++i) {
        Layer layer;
        layer.in = width;
        layer.out = widths[i];
        // He-uniform weights for the ReLU layers; the output layer starts
        // small with its bias at the logit of the mean confidence, so
        // training begins at the mean profile.
        const float bound = std::sqrt(6.0f / static_cast<float>(width)) * (i + 1 == widths.size() ? 0.1f : 1.0f);
        layer.weights.resize(static_cast<std::size_t>(layer.out * width));
        for (float& w : layer.weights) w = (2.0f * uniform01() - 1.0f) * bound;
        layer.bias.assign(static_cast<std::size_t>(layer.out), 0.0f);
        width = layer.out;
        net.m_layers.push_back(std::move(layer));
    }
    for (int64_t k = 0; k < K; ++k) {
        const float m = std::clamp(net.m_means[static_cast<std::size_t>(k)], 1e-4f, 1.0f - 1e-4f);
        net.m_layers.back().bias[static_cast<std::size_t>(k)] = std::log(m / (1.0f - m));
    }

    PredictorTrainer trainer(net, options.learningRate);
    std::vector<int64_t> order(static_cast<std::size_t>(N));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::vector<float> input(static_cast<std::size_t>(2 * K));
    std::vector<uint8_t> mask(static_cast<std::size_t>(K));
    for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
        throwIfCancelled(cancel);
        std::shuffle(order.begin(), order.end(), rng);
        double loss = 0.0;
        int64_t inBatch = 0;
        for (int64_t n : order) {
            const float* target = confidences.data() + n * K;
            const auto observed = static_cast<int64_t>(rng() % static_cast<uint64_t>(K));
            const bool thin = (rng() & 1) != 0;
            for (int64_t k = 0; k < K; ++k) {
                const auto i = static_cast<std::size_t>(k);
                mask[i] = k < observed && (!thin || (rng() & 1) != 0) ? 1 : 0;
                input[i] = mask[i] ? target[k] : 0.0f;
                input[i + static_cast<std::size_t>(K)] = mask[i];
            }
            loss += trainer.accumulate(input.data(), target, mask.data());
            if (++inBatch == options.batch) {
                trainer.step(inBatch);
                inBatch = 0;
            }
        }
        if (inBatch > 0) trainer.step(inBatch);
        if (progress) {
            std::ostringstream os;
            os << "predictor epoch " << epoch + 1 << "/" << options.epochs << ", loss "
               << loss / static_cast<double>(N);
            progress({static_cast<double>(epoch + 1) / static_cast<double>(options.epochs), os.str()});
        }
    }
    return net;
}

void ConfidencePredictor::predict(const float* observed, const uint8_t* mask, float* out) const {
    const int64_t K = m_numExits;
    if (m_layers.empty()) {
        for (int64_t k = 0; k < K; ++k) out[k] = mask[k] ? observed[k] : m_means[static_cast<std::size_t>(k)];
        return;
    }
    float a[2 * kMaxWidth];
    float b[2 * kMaxWidth];
    for (int64_t k = 0; k < K; ++k) {
        a[k] = mask[k] ? observed[k] : 0.0f;
        a[k + K] = mask[k] ? 1.0f : 0.0f;
    }
    float* x = a;
    float* y = b;
    for (std::size_t l = 0; l < m_layers.size(); ++l) {
        const Layer& layer = m_layers[l];
        affine(layer.weights.data(), layer.bias.data(), x, layer.in, layer.out, y);
        if (l + 1 < m_layers.size())
            for (int64_t o = 0; o < layer.out; ++o) y[o] = std::max(y[o], 0.0f);
        std::swap(x, y);
    }
    for (int64_t k = 0; k < K; ++k) out[k] = mask[k] ? observed[k] : sigmoid(x[k]);
}

nlohmann::json ConfidencePredictor::toJson() const {
    nlohmann::json layers = nlohmann::json::array();
    for (const Layer& l : m_layers)
        layers.push_back({{"in", l.in}, {"out", l.out}, {"weights", l.weights}, {"bias", l.bias}});
    return {{"kind", isMlp() ? "mlp" : "mean"},
            {"num_exits", m_numExits},
            {"means", m_means},
            {"options",
             {{"hidden", m_options.hidden},
              {"epochs", m_options.epochs},
              {"batch", m_options.batch},
              {"learning_rate", m_options.learningRate},
              {"seed", m_options.seed}}},
            {"layers", layers}};
}

ConfidencePredictor ConfidencePredictor::fromJson(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw Error(where + ": the predictor must be a JSON object");
    auto floats = [&](const nlohmann::json& a, const std::string& name, std::size_t want) {
        if (!a.is_array() || a.size() != want)
            throw Error(where + ": " + name + " must be an array of " + std::to_string(want) + " numbers");
        std::vector<float> v;
        for (const auto& x : a) {
            if (!x.is_number()) throw Error(where + ": " + name + " holds a value that is not a number");
            v.push_back(x.get<float>());
            if (!std::isfinite(v.back())) throw Error(where + ": " + name + " holds a value that is not finite");
        }
        return v;
    };
    auto integer = [&](const nlohmann::json& o, const char* key, int64_t lo, int64_t hi) {
        if (!o.contains(key) || !o.at(key).is_number_integer())
            throw Error(where + ": " + key + " is missing or not an integer");
        const auto v = o.at(key).get<int64_t>();
        if (v < lo || v > hi) throw Error(where + ": " + key + " = " + std::to_string(v) + " is out of range");
        return v;
    };
    ConfidencePredictor p;
    p.m_numExits = integer(j, "num_exits", 1, 64);
    const auto K = static_cast<std::size_t>(p.m_numExits);
    if (!j.contains("means")) throw Error(where + ": means is missing");
    p.m_means = floats(j.at("means"), "means", K);
    if (j.contains("options") && j.at("options").is_object()) {
        const auto& o = j.at("options");
        p.m_options.hidden.clear();
        if (o.contains("hidden") && o.at("hidden").is_array())
            for (const auto& h : o.at("hidden"))
                p.m_options.hidden.push_back(h.is_number_integer() ? h.get<int64_t>() : 0);
        p.m_options.epochs = integer(o, "epochs", 0, 1'000'000);
        p.m_options.batch = integer(o, "batch", 1, 1'000'000);
        if (!o.contains("learning_rate") || !o.at("learning_rate").is_number())
            throw Error(where + ": options.learning_rate is missing or not a number");
        p.m_options.learningRate = o.at("learning_rate").get<double>();
        if (!o.contains("seed") || !o.at("seed").is_number_unsigned())
            throw Error(where + ": options.seed is missing or not a non-negative integer");
        p.m_options.seed = o.at("seed").get<uint64_t>();
    }
    if (!j.contains("layers") || !j.at("layers").is_array()) throw Error(where + ": layers is missing");
    int64_t width = 2 * p.m_numExits;
    for (const auto& lj : j.at("layers")) {
        if (!lj.is_object()) throw Error(where + ": a layer must be an object");
        Layer l;
        l.in = integer(lj, "in", 1, kMaxWidth);
        l.out = integer(lj, "out", 1, kMaxWidth);
        if (l.in != width)
            throw Error(where + ": a layer takes " + std::to_string(l.in) + " inputs but the previous gives " +
                        std::to_string(width));
        l.weights = floats(lj.contains("weights") ? lj.at("weights") : nlohmann::json(), "layer weights",
                           static_cast<std::size_t>(l.in * l.out));
        l.bias = floats(lj.contains("bias") ? lj.at("bias") : nlohmann::json(), "layer bias",
                        static_cast<std::size_t>(l.out));
        width = l.out;
        p.m_layers.push_back(std::move(l));
    }
    if (!p.m_layers.empty() && width != p.m_numExits)
        throw Error(where + ": the last layer gives " + std::to_string(width) + " outputs for " +
                    std::to_string(p.m_numExits) + " exits");
    return p;
}

PredictorError predictorError(const ConfidencePredictor& predictor, const std::vector<float>& confidences) {
    if (!predictor.isTrained()) throw Error("predictor error: the predictor is not trained");
    const int64_t K = predictor.numExits();
    checkConfidences(confidences, K, "predictor error");
    const auto N = static_cast<int64_t>(confidences.size()) / K;
    const auto KK = static_cast<std::size_t>(K);
    std::vector<double> sum(KK * KK, 0.0);
    std::vector<uint8_t> mask(KK);
    std::vector<float> out(KK);
    for (int64_t n = 0; n < N; ++n) {
        const float* c = confidences.data() + n * K;
        for (int64_t L = 0; L < K; ++L) {
            for (int64_t k = 0; k < K; ++k) mask[static_cast<std::size_t>(k)] = k < L ? 1 : 0;
            predictor.predict(c, mask.data(), out.data());
            for (int64_t k = L; k < K; ++k)
                sum[static_cast<std::size_t>(L * K + k)] += std::fabs(out[static_cast<std::size_t>(k)] - c[k]);
        }
    }
    PredictorError e;
    e.matrix.assign(KK * KK, std::numeric_limits<double>::quiet_NaN());
    e.byObserved.assign(KK, 0.0);
    e.byExit.assign(KK, 0.0);
    for (int64_t L = 0; L < K; ++L) {
        for (int64_t k = L; k < K; ++k) {
            const double mae = sum[static_cast<std::size_t>(L * K + k)] / static_cast<double>(N);
            e.matrix[static_cast<std::size_t>(L * K + k)] = mae;
            e.byObserved[static_cast<std::size_t>(L)] += mae / static_cast<double>(K - L);
            e.byExit[static_cast<std::size_t>(k)] += mae / static_cast<double>(k + 1);
        }
    }
    return e;
}

}  // namespace exitscope::core
