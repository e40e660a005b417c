#include "core/model/op_mac_counter.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include <cstring>
#include <memory>

namespace exitscope::core {

namespace {

enum class OpKind { None, Conv, Linear, MatMul, BatchNorm };

thread_local int64_t t_macs = 0;
thread_local int t_depth = 0;  // counted operators open on this thread

OpKind kindOf(const char* name) {
    if (std::strncmp(name, "aten::", 6) != 0) return OpKind::None;
    const char* op = name + 6;
    // conv2d, convolution, _convolution, mkldnn_convolution, slow_conv...; not
    // the index converters (_convert_indices_from_...), which share the prefix.
    if (std::strstr(op, "conv") != nullptr && std::strstr(op, "convert") == nullptr &&
        std::strstr(op, "backward") == nullptr)
        return OpKind::Conv;
    if (std::strcmp(op, "linear") == 0) return OpKind::Linear;
    if (std::strcmp(op, "matmul") == 0 || std::strcmp(op, "mm") == 0 || std::strcmp(op, "addmm") == 0 ||
        std::strcmp(op, "bmm") == 0 || std::strcmp(op, "baddbmm") == 0)
        return OpKind::MatMul;
    if (std::strstr(op, "batch_norm") != nullptr) return OpKind::BatchNorm;
    return OpKind::None;
}

const at::Tensor* tensorAt(c10::ArrayRef<const c10::IValue> values, std::size_t i) {
    return i < values.size() && values[i].isTensor() ? &values[i].toTensor() : nullptr;
}

int64_t macsOf(OpKind kind, const at::RecordFunction& fn) {
    const auto& outputs = fn.outputs();
    if (outputs.empty() || !outputs[0].isTensor()) return 0;
    const auto& out = outputs[0].toTensor();
    const auto inputs = fn.inputs();
    switch (kind) {
        case OpKind::Conv: {
            // inputs: (input, weight, ...); weight [out, in / groups, k...]
            const auto* w = tensorAt(inputs, 1);
            if (w == nullptr || w->dim() < 3) return 0;
            int64_t perOutput = w->size(1);
            for (int64_t d = 2; d < w->dim(); ++d) perOutput *= w->size(d);
            return out.numel() * perOutput;
        }
        case OpKind::Linear: {
            const auto* w = tensorAt(inputs, 1);
            return w == nullptr || w->dim() != 2 ? 0 : out.numel() * w->size(1);
        }
        case OpKind::MatMul: {
            // addmm / baddbmm take the added term first.
            const std::size_t first = std::strstr(fn.name(), "add") != nullptr ? 1 : 0;
            const auto* a = tensorAt(inputs, first);
            return a == nullptr || a->dim() < 1 ? 0 : out.numel() * a->size(a->dim() - 1);
        }
        case OpKind::BatchNorm:
            return out.numel();
        case OpKind::None:
            break;
    }
    return 0;
}

/// Remembers whether an operator was the outermost counted one, for its end.
struct Context : at::ObserverContext {
    OpKind kind = OpKind::None;
};

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction& fn) {
    const OpKind kind = kindOf(fn.name());
    if (kind == OpKind::None) return nullptr;
    auto ctx = std::make_unique<Context>();
    if (t_depth == 0) ctx->kind = kind;
    ++t_depth;
    return ctx;
}

void onEnd(const at::RecordFunction& fn, at::ObserverContext* raw) {
    if (raw == nullptr) return;
    --t_depth;
    const auto kind = static_cast<Context*>(raw)->kind;
    if (kind != OpKind::None) t_macs += macsOf(kind, fn);
}

} // namespace

OpMacCounter::OpMacCounter() : m_start(t_macs) {
    m_handle = at::addThreadLocalCallback(at::RecordFunctionCallback(onStart, onEnd)
                                              .needsInputs(true)
                                              .needsOutputs(true)
                                              .scopes({at::RecordScope::FUNCTION}));
}

OpMacCounter::~OpMacCounter() { at::removeCallback(m_handle); }

int64_t OpMacCounter::macs() const { return t_macs - m_start; }

} // namespace exitscope::core
