#include "app/cli/cli_state.h"

namespace exitscope::app {

std::vector<simulator::TensorData> sampleState(const core::State& state, int64_t i) {
    std::vector<simulator::TensorData> out;
    for (const auto& t : state) {
        auto s = t[i].unsqueeze(0).to(torch::kFloat32).contiguous();
        simulator::TensorData d;
        d.shape = s.sizes().vec();
        d.values.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
        out.push_back(std::move(d));
    }
    return out;
}

core::State stateFromPlain(const std::vector<simulator::TensorData>& tensors) {
    core::State state;
    for (const auto& d : tensors) {
        // from_blob does not own the memory: clone before `tensors` goes away.
        auto* data = const_cast<float*>(d.values.data());
        state.push_back(torch::from_blob(data, d.shape, torch::kFloat32).clone());
    }
    return state;
}

std::vector<std::vector<int64_t>> stateShapes(const core::State& state) {
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& t : state) shapes.push_back(t.sizes().vec());
    return shapes;
}

} // namespace exitscope::app
