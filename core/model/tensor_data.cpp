#include "core/model/tensor_data.h"

#include "core/common/error.h"

namespace exitscope::core {

void checkInputCompatible(const ImageSet& images, const ModelSpec& spec) {
    if (images.channels != spec.channels || images.height != spec.height || images.width != spec.width)
        throw Error(images.name + ": images are " + std::to_string(images.channels) + "x" +
                    std::to_string(images.height) + "x" + std::to_string(images.width) + " but model '" +
                    spec.name + "' expects " + std::to_string(spec.channels) + "x" + std::to_string(spec.height) +
                    "x" + std::to_string(spec.width));
}

torch::Tensor imagesToTensor(const ImageSet& images, const std::vector<int64_t>& indices,
                             const Normalisation& norm) {
    const auto n = static_cast<int64_t>(indices.size());
    const auto pixels = static_cast<int64_t>(images.imageBytes());
    auto raw = torch::empty({n, images.channels, images.height, images.width}, torch::kUInt8);
    auto* dst = raw.data_ptr<uint8_t>();
    for (int64_t i = 0; i < n; ++i) {
        const auto idx = indices[static_cast<std::size_t>(i)];
        if (idx < 0 || idx >= static_cast<int64_t>(images.size()))
            throw Error(images.name + ": sample index " + std::to_string(idx) + " is out of range");
        std::memcpy(dst + i * pixels, images.image(static_cast<std::size_t>(idx)), static_cast<std::size_t>(pixels));
    }
    auto x = raw.to(torch::kFloat32).div_(255.0f);
    auto mean = torch::tensor(norm.mean).view({1, -1, 1, 1});
    auto stdev = torch::tensor(norm.std).view({1, -1, 1, 1});
    return x.sub_(mean).div_(stdev);
}

torch::Tensor labelsToTensor(const ImageSet& images, const std::vector<int64_t>& indices) {
    auto t = torch::empty({static_cast<int64_t>(indices.size())}, torch::kInt64);
    auto* p = t.data_ptr<int64_t>();
    for (std::size_t i = 0; i < indices.size(); ++i) p[i] = images.labels.at(static_cast<std::size_t>(indices[i]));
    return t;
}

Normalisation computeNormalisation(const ImageSet& images, const std::vector<int64_t>& indices) {
    Normalisation norm;
    const auto plane = static_cast<std::size_t>(images.height * images.width);
    for (int64_t c = 0; c < images.channels; ++c) {
        double sum = 0, sumSq = 0;
        for (auto idx : indices) {
            const uint8_t* p = images.image(static_cast<std::size_t>(idx)) + static_cast<std::size_t>(c) * plane;
            for (std::size_t i = 0; i < plane; ++i) {
                const double v = p[i] / 255.0;
                sum += v;
                sumSq += v * v;
            }
        }
        const double count = static_cast<double>(plane * indices.size());
        const double mean = count > 0 ? sum / count : 0.0;
        const double var = count > 0 ? std::max(1e-12, sumSq / count - mean * mean) : 1.0;
        norm.mean.push_back(static_cast<float>(mean));
        norm.std.push_back(static_cast<float>(std::sqrt(var)));
    }
    return norm;
}

torch::Tensor augment(const torch::Tensor& batch, int64_t pad, std::mt19937_64& rng) {
    const int64_t n = batch.size(0), h = batch.size(2), w = batch.size(3);
    // Pad with the darkest value so shifted-in borders look like background.
    auto padded = torch::constant_pad_nd(batch, {pad, pad, pad, pad}, batch.min().item<double>());
    auto out = torch::empty_like(batch);
    std::uniform_int_distribution<int64_t> shift(0, 2 * pad);
    std::bernoulli_distribution flip(0.5);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t dy = shift(rng), dx = shift(rng);
        auto crop = padded[i].narrow(1, dy, h).narrow(2, dx, w);
        out[i].copy_(flip(rng) ? crop.flip({2}) : crop);
    }
    return out;
}

} // namespace exitscope::core
