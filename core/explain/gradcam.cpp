#include "core/explain/gradcam.h"

#include "core/common/error.h"
#include "core/model/multi_exit_net.h"
#include "core/model/tensor_data.h"

namespace exitscope::core {

std::vector<ExitAttention> gradCam(MultiExitNet& net, const ImageSet& images, int64_t index, int64_t lastExit) {
    if (index < 0 || static_cast<std::size_t>(index) >= images.size())
        throw Error(images.name + ": image " + std::to_string(index) + " is out of range (0.." +
                    std::to_string(static_cast<int64_t>(images.size()) - 1) + ")");
    const int64_t K = net.numExits();
    if (lastExit < 0) lastExit = K - 1;
    if (lastExit >= K) throw Error("exit " + std::to_string(lastExit) + " does not exist (the model has " + std::to_string(K) + ")");
    checkInputCompatible(images, net.spec());
    net.eval();
    // Gradients are needed here, whatever mode the caller's thread is in.
    c10::InferenceMode notInference(false);
    torch::AutoGradMode grad(true);
    const torch::Tensor x = imagesToTensor(images, {index}, net.spec().normalisation);
    const int64_t H = x.size(2), W = x.size(3);

    std::vector<ExitAttention> out;
    State state = inputState(x);
    int64_t k = 0;
    for (int64_t b = 0; b < net.numBlocks() && k <= lastExit; ++b) {
        {
            torch::NoGradGuard noGrad;
            state = net.runBlock(b, state);
        }
        while (k <= lastExit && k < K && net.exitBlock(k) == b) {
            // The state as leaves of their own graph: the gradient stops at the exit's input.
            State leaves;
            for (const auto& t : state) leaves.push_back(t.detach().clone().requires_grad_(t.is_floating_point()));
            const torch::Tensor logits = net.runExit(k, leaves);
            const auto top = logits.argmax(1).item<int64_t>();
            logits.index({0, top}).backward();
            const torch::Tensor* feature = nullptr;
            for (const auto& t : leaves)
                if (t.dim() == 4 && t.grad().defined() && t.grad().abs().sum().item<double>() > 0) feature = &t;
            if (!feature) {
                for (const auto& t : leaves)
                    if (t.dim() == 4 && t.grad().defined()) feature = &t;
            }
            if (!feature) throw Error("exit " + std::to_string(k) + " reads no spatial feature map: Grad-CAM needs one");
            torch::NoGradGuard noGrad;
            const torch::Tensor weights = feature->grad().mean({2, 3}, /*keepdim=*/true);    // [1, C, 1, 1]
            torch::Tensor cam = torch::relu((weights * feature->detach()).sum(1, /*keepdim=*/true));  // [1, 1, h, w]
            ExitAttention a;
            a.exit = k;
            a.prediction = top;
            a.confidence = torch::softmax(logits.detach(), 1).max().item<float>();
            a.height = H;
            a.width = W;
            a.featureHeight = cam.size(2);
            a.featureWidth = cam.size(3);
            cam = torch::upsample_bilinear2d(cam, {H, W}, /*align_corners=*/false).squeeze().contiguous();
            const float peak = cam.max().item<float>();
            if (peak > 0 && std::isfinite(peak)) cam = cam / peak;
            else cam.zero_();
            a.map.assign(cam.data_ptr<float>(), cam.data_ptr<float>() + H * W);
            out.push_back(std::move(a));
            ++k;
        }
    }
    return out;
}

} // namespace exitscope::core
