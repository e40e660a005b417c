#include "core/train/gate_trainer.h"

#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

namespace exitscope::core {

namespace {

// Keeps CE finite when a trace holds an exact zero for the true class; 1e-7
// caps a single sample's CE at about 16, far above any realistic value.
constexpr double kMinProb = 1e-7;

// Steps between convergence checks (TrainGatesOptions::tolerance).
constexpr int64_t kStallWindow = 25;

std::string str(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

void checkOptions(const TrainGatesOptions& o) {
    if (!(o.alpha >= 0.0 && o.alpha <= 1.0))
        throw Error("gate training: alpha = " + str(o.alpha) + " is outside [0, 1]");
    checkCostKind(o.costKind);
    if (o.iterations < 0) throw Error("gate training: iterations = " + std::to_string(o.iterations) + " is negative");
    if (!(o.learningRate > 0.0 && std::isfinite(o.learningRate)))
        throw Error("gate training: learning rate " + str(o.learningRate) + " is not a positive number");
    if (!(o.l2 >= 0.0 && std::isfinite(o.l2))) throw Error("gate training: l2 = " + str(o.l2) + " is not >= 0");
    if (!(o.tolerance >= 0.0 && std::isfinite(o.tolerance)))
        throw Error("gate training: tolerance = " + str(o.tolerance) + " is not >= 0");
}

void checkTrainable(const Trace& t) {
    const int64_t N = t.numSamples, K = t.numExits, C = t.numClasses, D = t.gateDim;
    if (N < 1) throw Error("gate training: the trace has no samples");
    if (K < 2) throw Error("gate training: the trace has " + std::to_string(K) + " exit(s); gates need at least 2");
    if (D < 1) throw Error("gate training: the trace has no gate inputs (gate_dim is 0)");
    if (static_cast<int64_t>(t.probs.size()) != N * K * C || static_cast<int64_t>(t.labels.size()) != N ||
        static_cast<int64_t>(t.gateInputs.size()) != N * K * D || static_cast<int64_t>(t.gateDims.size()) != K) {
        throw Error(
            "gate training: the trace's probs, labels, gate_inputs or gate_dims do not match N=" + std::to_string(N) +
            " K=" + std::to_string(K) + " C=" + std::to_string(C) + " D=" + std::to_string(D));
    }
    for (int64_t n = 0; n < N; ++n) {
        const int64_t y = t.labels[static_cast<std::size_t>(n)];
        if (y < 0 || y >= C)
            throw Error("gate training: labels[" + std::to_string(n) + "] = " + std::to_string(y) + " is outside [0, " +
                        std::to_string(C) + ")");
    }
    for (int64_t k = 0; k < K; ++k) {
        const int64_t w = t.gateDims[static_cast<std::size_t>(k)];
        if (w < 0 || w > D)
            throw Error("gate training: gate_dims[" + std::to_string(k) + "] = " + std::to_string(w) +
                        " is outside [0, " + std::to_string(D) + "]");
    }
}

template <class Real>
Real sigmoid(Real z) {
    if (z >= Real(0)) return Real(1) / (Real(1) + std::exp(-z));
    const Real e = std::exp(z);
    return e / (Real(1) + e);
}

// The trace reduced to what the loss needs: standardised features per gate
// and, per sample and exit, the charge X = (1-alpha) CE + alpha cost.
// Features are stored feature-major ([width][N]) so the forward and backward
// passes are long unit-stride loops over samples that the compiler vectorises.
// Parameters live in one flat vector: gate k's weights, then its bias.
// Training runs in float (twice the samples per vector instruction, half the
// memory); gateLoss, and so the gradient check, runs the same code in double.
template <class Real>
struct Problem {
    int64_t N = 0, K = 0, G = 0;
    std::vector<int64_t> width, offset;
    std::vector<std::vector<Real>> features;  // [G][width * N]
    std::vector<double> charge;               // [N * K]
    double l2 = 0.0;
    int64_t numParams = 0;
};

template <class Real>
Problem<Real> makeProblem(const Trace& val, const GateSet& gates, const TrainGatesOptions& options) {
    checkOptions(options);
    checkTrainable(val);
    checkGatesMatchTrace(gates, val);
    const auto cost = exitCostFractions(val, options.costKind);
    Problem<Real> p;
    p.N = val.numSamples;
    p.K = val.numExits;
    p.G = p.K - 1;
    p.l2 = options.l2;
    const int64_t D = val.gateDim;
    for (int64_t k = 0; k < p.G; ++k) {
        const auto ks = static_cast<std::size_t>(k);
        const auto w = static_cast<int64_t>(gates.weights[ks].size());
        p.width.push_back(w);
        p.offset.push_back(p.numParams);
        p.numParams += w + 1;
        std::vector<Real> f(static_cast<std::size_t>(p.N * w));
        for (int64_t n = 0; n < p.N; ++n) {
            const float* x = val.gateInputs.data() + (n * p.K + k) * D;
            for (int64_t d = 0; d < w; ++d) {
                const auto ds = static_cast<std::size_t>(d);
                f[static_cast<std::size_t>(d * p.N + n)] = static_cast<Real>(
                    (static_cast<double>(x[d]) - gates.featureMean[ks][ds]) / gates.featureStd[ks][ds]);
            }
        }
        p.features.push_back(std::move(f));
    }
    p.charge.resize(static_cast<std::size_t>(p.N * p.K));
    for (int64_t n = 0; n < p.N; ++n) {
        const int64_t y = val.labels[static_cast<std::size_t>(n)];
        for (int64_t k = 0; k < p.K; ++k) {
            const double ce = -std::log(std::max(static_cast<double>(val.prob(n, k, y)), kMinProb));
            p.charge[static_cast<std::size_t>(n * p.K + k)] =
                (1.0 - options.alpha) * ce + options.alpha * cost[static_cast<std::size_t>(k)];
        }
    }
    return p;
}

// Eight partial sums break the serial dependency of a plain dot product and
// map onto vector lanes.
template <class Real>
double dot(const Real* a, const Real* b, int64_t n) {
    Real s[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
    double sum = 0.0;
    for (; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
    for (Real v : s) sum += v;
    return sum;
}

// Loss and its gradient. With S_i = prod_{j<i}(1-g_j) and R_i the expected
// charge of a sample that reached exit i (R_{K-1} = X_{K-1},
// R_i = g_i X_i + (1-g_i) R_{i+1}), the loss is R_0 and
// dL/dg_i = S_i (X_i - R_{i+1}); this avoids dividing by (1 - g_i).
// Samples go in chunks small enough that the backward pass finds the chunk's
// features still in cache from the forward pass.
template <class Real>
double evaluate(const Problem<Real>& p, const std::vector<double>& theta, std::vector<double>& grad) {
    constexpr int64_t kChunk = 128;
    const int64_t N = p.N;
    std::vector<Real> gate(static_cast<std::size_t>(p.G * kChunk)), dz(gate.size());
    grad.assign(theta.size(), 0.0);
    double loss = 0.0;
    for (int64_t n0 = 0; n0 < N; n0 += kChunk) {
        const int64_t nb = std::min(kChunk, N - n0);
        for (int64_t i = 0; i < p.G; ++i) {
            const auto is = static_cast<std::size_t>(i);
            const double* w = theta.data() + p.offset[is];
            Real* z = gate.data() + i * kChunk;
            std::fill(z, z + nb, static_cast<Real>(w[p.width[is]]));
            for (int64_t d = 0; d < p.width[is]; ++d) {
                const Real* x = p.features[is].data() + d * N + n0;
                const auto wd = static_cast<Real>(w[d]);
                for (int64_t n = 0; n < nb; ++n) z[n] += wd * x[n];
            }
            for (int64_t n = 0; n < nb; ++n) z[n] = sigmoid(z[n]);
        }
        for (int64_t n = 0; n < nb; ++n) {
            const double* X = p.charge.data() + (n0 + n) * p.K;
            double survive = 1.0;
            for (int64_t i = 0; i < p.G; ++i) {
                // dz holds S_i, the probability of reaching gate i, until the backward sweep.
                dz[static_cast<std::size_t>(i * kChunk + n)] = static_cast<Real>(survive);
                survive *= 1.0 - static_cast<double>(gate[static_cast<std::size_t>(i * kChunk + n)]);
            }
            double reach = X[p.K - 1];
            for (int64_t i = p.G - 1; i >= 0; --i) {
                const auto j = static_cast<std::size_t>(i * kChunk + n);
                const auto g = static_cast<double>(gate[j]);
                dz[j] = static_cast<Real>(static_cast<double>(dz[j]) * g * (1.0 - g) * (X[i] - reach));
                reach = g * X[i] + (1.0 - g) * reach;
            }
            loss += reach;
        }
        for (int64_t i = 0; i < p.G; ++i) {
            const auto is = static_cast<std::size_t>(i);
            const Real* dzi = dz.data() + i * kChunk;
            double* gw = grad.data() + p.offset[is];
            for (int64_t d = 0; d < p.width[is]; ++d) gw[d] += dot(dzi, p.features[is].data() + d * N + n0, nb);
            double sum = 0.0;
            for (int64_t n = 0; n < nb; ++n) sum += static_cast<double>(dzi[n]);
            gw[p.width[is]] += sum;
        }
    }
    const double invN = 1.0 / static_cast<double>(N);
    loss *= invN;
    for (auto& v : grad) v *= invN;
    for (int64_t i = 0; i < p.G; ++i) {
        for (int64_t d = 0; d < p.width[static_cast<std::size_t>(i)]; ++d) {
            const auto j = static_cast<std::size_t>(p.offset[static_cast<std::size_t>(i)] + d);
            loss += 0.5 * p.l2 * theta[j] * theta[j];
            grad[j] += p.l2 * theta[j];
        }
    }
    return loss;
}

template <class Real>
std::vector<double> flatten(const Problem<Real>& p, const GateSet& gates) {
    std::vector<double> theta(static_cast<std::size_t>(p.numParams));
    for (std::size_t k = 0; k < static_cast<std::size_t>(p.G); ++k) {
        const auto o = static_cast<std::size_t>(p.offset[k]);
        std::copy(gates.weights[k].begin(), gates.weights[k].end(), theta.begin() + static_cast<std::ptrdiff_t>(o));
        theta[o + gates.weights[k].size()] = gates.bias[k];
    }
    return theta;
}

template <class Real>
void unflatten(const Problem<Real>& p, const std::vector<double>& theta, GateSet& gates) {
    for (std::size_t k = 0; k < static_cast<std::size_t>(p.G); ++k) {
        const auto o = static_cast<std::size_t>(p.offset[k]);
        for (std::size_t d = 0; d < gates.weights[k].size(); ++d)
            gates.weights[k][d] = static_cast<float>(theta[o + d]);
        gates.bias[k] = static_cast<float>(theta[o + gates.weights[k].size()]);
    }
}

// Full-batch Adam: a step over the whole validation trace costs well under a
// millisecond for N = 5000, K = 8, D = 16, and full batches keep the result
// independent of any shuffling.
GateSet optimise(const Trace& val, const GateSet& start, const TrainGatesOptions& options, const ProgressFn& progress,
                 const CancelFlag* cancel) {
    const auto p = makeProblem<float>(val, start, options);
    std::vector<double> theta = flatten(p, start), grad, m(theta.size(), 0.0), v(theta.size(), 0.0);
    constexpr double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double b1t = 1.0, b2t = 1.0, loss = 0.0, stallLoss = 0.0;
    const int64_t every = std::max<int64_t>(1, options.iterations / 20);
    for (int64_t it = 0; it < options.iterations; ++it) {
        throwIfCancelled(cancel);
        loss = evaluate(p, theta, grad);
        if (it % kStallWindow == 0) {
            if (it > 0 && options.tolerance > 0.0 && stallLoss - loss < options.tolerance) {
                if (progress) progress({1.0, "gates for alpha " + str(options.alpha) + ": converged"});
                break;
            }
            stallLoss = loss;
        }
        b1t *= beta1;
        b2t *= beta2;
        for (std::size_t j = 0; j < theta.size(); ++j) {
            m[j] = beta1 * m[j] + (1.0 - beta1) * grad[j];
            v[j] = beta2 * v[j] + (1.0 - beta2) * grad[j] * grad[j];
            theta[j] -= options.learningRate * (m[j] / (1.0 - b1t)) / (std::sqrt(v[j] / (1.0 - b2t)) + eps);
        }
        if (progress && ((it + 1) % every == 0 || it + 1 == options.iterations)) {
            std::ostringstream os;
            os << "gates for alpha " << options.alpha << ": step " << it + 1 << "/" << options.iterations << ", loss "
               << loss;
            progress({static_cast<double>(it + 1) / static_cast<double>(options.iterations), os.str()});
        }
    }
    throwIfCancelled(cancel);
    GateSet out = start;
    unflatten(p, theta, out);
    out.alpha = options.alpha;
    out.costKind = options.costKind;
    return out;
}

} // namespace

double gateLoss(const Trace& val, const GateSet& gates, const TrainGatesOptions& options, GateGradient* gradient) {
    const auto p = makeProblem<double>(val, gates, options);
    std::vector<double> grad;
    const double loss = evaluate(p, flatten(p, gates), grad);
    if (gradient) {
        gradient->weights.assign(static_cast<std::size_t>(p.G), {});
        gradient->bias.assign(static_cast<std::size_t>(p.G), 0.0);
        for (std::size_t k = 0; k < static_cast<std::size_t>(p.G); ++k) {
            const auto first = grad.begin() + static_cast<std::ptrdiff_t>(p.offset[k]);
            gradient->weights[k].assign(first, first + static_cast<std::ptrdiff_t>(p.width[k]));
            gradient->bias[k] = *(first + static_cast<std::ptrdiff_t>(p.width[k]));
        }
    }
    return loss;
}

GateSet initialGates(const Trace& val, const TrainGatesOptions& options) {
    checkOptions(options);
    checkTrainable(val);
    GateSet gates;
    gates.alpha = options.alpha;
    gates.costKind = options.costKind;
    const int64_t N = val.numSamples, K = val.numExits, D = val.gateDim;
    std::mt19937_64 rng(options.seed);
    for (int64_t k = 0; k + 1 < K; ++k) {
        const auto w = static_cast<std::size_t>(val.gateDims[static_cast<std::size_t>(k)]);
        std::vector<double> sum(w, 0.0), sumSq(w, 0.0);
        for (int64_t n = 0; n < N; ++n) {
            const float* x = val.gateInputs.data() + (n * K + k) * D;
            for (std::size_t d = 0; d < w; ++d) sum[d] += x[d];
        }
        std::vector<float> mean(w), sd(w), weights(w);
        for (std::size_t d = 0; d < w; ++d) mean[d] = static_cast<float>(sum[d] / static_cast<double>(N));
        // Two passes so that large offsets do not swamp the variance.
        for (int64_t n = 0; n < N; ++n) {
            const float* x = val.gateInputs.data() + (n * K + k) * D;
            for (std::size_t d = 0; d < w; ++d)
                sumSq[d] += (x[d] - static_cast<double>(mean[d])) * (x[d] - static_cast<double>(mean[d]));
        }
        for (std::size_t d = 0; d < w; ++d) {
            const double s = std::sqrt(sumSq[d] / static_cast<double>(N));
            // A constant feature carries no information; std 1 keeps it harmless.
            sd[d] = s > 1e-6 * std::max(1.0, std::fabs(static_cast<double>(mean[d]))) ? static_cast<float>(s) : 1.0f;
            // mt19937_64's output is fixed by the standard (unlike the
            // distributions), so the same seed gives the same gates everywhere.
            const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
            weights[d] = static_cast<float>((u - 0.5) * 0.02);
        }
        gates.weights.push_back(std::move(weights));
        gates.bias.push_back(0.0f);
        gates.featureMean.push_back(std::move(mean));
        gates.featureStd.push_back(std::move(sd));
    }
    return gates;
}

GateSet trainGates(const Trace& val, const TrainGatesOptions& options, const ProgressFn& progress,
                   const CancelFlag* cancel) {
    return optimise(val, initialGates(val, options), options, progress, cancel);
}

GateSet refineGates(const Trace& val, const GateSet& start, const TrainGatesOptions& options,
                    const ProgressFn& progress, const CancelFlag* cancel) {
    return optimise(val, start, options, progress, cancel);
}

std::vector<double> alphaGrid(double step) {
    if (!(step > 0.0 && step <= 1.0)) throw Error("alpha grid: step " + str(step) + " is outside (0, 1]");
    std::vector<double> alphas;
    // Multiplying instead of accumulating keeps 0.05 * 7 from drifting, and
    // the tolerance stops a rounding error from adding a point next to 1.
    for (int64_t i = 0; static_cast<double>(i) * step < 1.0 - 1e-9; ++i)
        alphas.push_back(static_cast<double>(i) * step);
    alphas.push_back(1.0);
    return alphas;
}

std::vector<GateSet> trainGateGrid(const Trace& val, double step, const TrainGatesOptions& options,
                                   const ProgressFn& progress, const CancelFlag* cancel) {
    const auto alphas = alphaGrid(step);
    std::vector<GateSet> grid;
    grid.reserve(alphas.size());
    TrainGatesOptions o = options;
    for (std::size_t a = 0; a < alphas.size(); ++a) {
        o.alpha = alphas[a];
        ProgressFn scaled;
        if (progress) {
            scaled = [&, a](const Progress& pr) {
                progress({(static_cast<double>(a) + pr.fraction) / static_cast<double>(alphas.size()), pr.message});
            };
        }
        grid.push_back(trainGates(val, o, scaled, cancel));
    }
    return grid;
}

} // namespace exitscope::core
