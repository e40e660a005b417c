#include "core/train/trainer.h"

#include "core/common/error.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"

#include <chrono>
#include <cmath>
#include <numeric>

namespace exitscope::core {

namespace {

std::vector<int64_t> firstN(const std::vector<int64_t>& v, int64_t n) {
    if (n < 0 || n >= static_cast<int64_t>(v.size())) return v;
    return {v.begin(), v.begin() + n};
}

void setLearningRate(torch::optim::Optimizer& opt, double lr) {
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

} // namespace

std::vector<double> evaluateExits(MultiExitNet& net, const ImageSet& images, const std::vector<int64_t>& indices,
                                  int64_t batchSize) {
    const bool wasTraining = net.is_training();
    net.eval();
    torch::NoGradGuard noGrad;
    std::vector<int64_t> correct(static_cast<std::size_t>(net.numExits()), 0);
    for (std::size_t start = 0; start < indices.size(); start += static_cast<std::size_t>(batchSize)) {
        const std::size_t end = std::min(indices.size(), start + static_cast<std::size_t>(batchSize));
        std::vector<int64_t> idx(indices.begin() + static_cast<std::ptrdiff_t>(start),
                                 indices.begin() + static_cast<std::ptrdiff_t>(end));
        auto x = imagesToTensor(images, idx, net.spec().normalisation);
        auto y = labelsToTensor(images, idx);
        auto logits = net.forwardAll(x);
        for (std::size_t k = 0; k < logits.size(); ++k)
            correct[k] += logits[k].argmax(1).eq(y).sum().item<int64_t>();
    }
    net.train(wasTraining);
    std::vector<double> acc;
    for (auto c : correct) acc.push_back(indices.empty() ? 0.0 : static_cast<double>(c) / static_cast<double>(indices.size()));
    return acc;
}

std::vector<EpochReport> trainModel(MultiExitNet& net, const Dataset& data, const TrainOptions& options,
                                    const TrainProgressFn& progress, const CancelFlag* cancel) {
    if (options.epochs < 1 || options.epochs > 10000) throw Error("train: epochs must be in 1..10000");
    if (options.batchSize < 1 || options.batchSize > 65536) throw Error("train: batch size must be in 1..65536");
    if (!(options.learningRate > 0.0) || !std::isfinite(options.learningRate)) throw Error("train: learning rate must be positive");
    const auto K = static_cast<std::size_t>(net.numExits());
    std::vector<double> weights = options.exitWeights.empty() ? std::vector<double>(K, 1.0) : options.exitWeights;
    if (weights.size() != K)
        throw Error("train: " + std::to_string(weights.size()) + " exit weights given for " + std::to_string(K) + " exits");
    double weightSum = 0;
    for (double w : weights) {
        if (!(w >= 0.0) || !std::isfinite(w)) throw Error("train: exit weights must be finite and >= 0");
        weightSum += w;
    }
    if (!(weightSum > 0.0)) throw Error("train: exit weights sum to zero");
    checkInputCompatible(data.trainImages, net.spec());

    const auto trainIdx = firstN(data.trainIndices, options.maxTrainSamples);
    const auto valIdx = firstN(data.valIndices, options.maxValSamples);
    if (trainIdx.empty()) throw Error(data.name + ": no training samples");
    if (net.spec().normalisation.mean.empty()) net.spec().normalisation = computeNormalisation(data.trainImages, trainIdx);
    net.spec().dataset = data.name;

    // Freezing the backbone leaves only the heads' parameters trainable.
    std::vector<torch::Tensor> params;
    for (int64_t b = 0; b < net.numBlocks(); ++b)
        for (auto& p : net.block(b).parameters()) {
            p.set_requires_grad(!options.freezeBackbone);
            if (!options.freezeBackbone) params.push_back(p);
        }
    for (int64_t k = 0; k < net.numExits(); ++k)
        for (auto& p : net.head(k).parameters()) params.push_back(p);

    torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(options.learningRate).weight_decay(options.weightDecay));
    std::mt19937_64 rng(options.seed);
    torch::manual_seed(options.seed);
    const int64_t batches = (static_cast<int64_t>(trainIdx.size()) + options.batchSize - 1) / options.batchSize;
    const int64_t totalSteps = batches * options.epochs;
    const int64_t warmup = std::min<int64_t>(batches, totalSteps / 10 + 1);
    int64_t step = 0;
    std::vector<EpochReport> reports;

    for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
        const auto started = std::chrono::steady_clock::now();
        net.train();
        if (options.freezeBackbone)
            for (int64_t b = 0; b < net.numBlocks(); ++b) net.block(b).eval();  // keep BN statistics frozen too
        std::vector<int64_t> order = trainIdx;
        for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
        double lossSum = 0;
        for (int64_t bi = 0; bi < batches; ++bi) {
            throwIfCancelled(cancel);
            const auto begin = static_cast<std::size_t>(bi * options.batchSize);
            const auto end = std::min(order.size(), begin + static_cast<std::size_t>(options.batchSize));
            std::vector<int64_t> idx(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                     order.begin() + static_cast<std::ptrdiff_t>(end));
            auto x = imagesToTensor(data.trainImages, idx, net.spec().normalisation);
            if (options.augment) x = augment(x, 2, rng);
            auto y = labelsToTensor(data.trainImages, idx);

            const double lr = step < warmup
                                  ? options.learningRate * static_cast<double>(step + 1) / static_cast<double>(warmup)
                                  : 0.5 * options.learningRate *
                                        (1.0 + std::cos(M_PI * static_cast<double>(step - warmup) /
                                                        static_cast<double>(std::max<int64_t>(1, totalSteps - warmup))));
            setLearningRate(optimizer, lr);
            optimizer.zero_grad();
            auto logits = net.forwardAll(x);
            torch::Tensor loss = torch::zeros({});
            for (std::size_t k = 0; k < K; ++k)
                if (weights[k] > 0) loss = loss + weights[k] / weightSum * torch::cross_entropy_loss(logits[k], y);
            loss.backward();
            optimizer.step();
            ++step;
            lossSum += loss.item<double>();
            if (progress) {
                TrainProgress p;
                p.epoch = epoch;
                p.epochs = options.epochs;
                p.batch = bi + 1;
                p.batches = batches;
                p.loss = lossSum / static_cast<double>(bi + 1);
                progress(p);
            }
        }
        EpochReport report;
        report.epoch = epoch;
        report.trainLoss = lossSum / static_cast<double>(batches);
        report.valAccuracy = evaluateExits(net, data.trainImages, valIdx);
        report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        reports.push_back(report);
        if (progress) {
            TrainProgress p;
            p.epoch = epoch;
            p.epochs = options.epochs;
            p.batch = batches;
            p.batches = batches;
            p.loss = report.trainLoss;
            p.finishedEpoch = &reports.back();
            progress(p);
        }
    }
    for (auto& p : net.parameters()) p.set_requires_grad(true);
    net.eval();
    return reports;
}

} // namespace exitscope::core
