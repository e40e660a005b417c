#include "core/model/op_mac_counter.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <cstring>
#include <memory>

namespace exitscope::core {

namespace {

enum class OpKind { None, Conv, Linear, MatMul, BatchNorm };

thread_local int64_t t_macs = 0;
thread_local int64_t t_skipped = 0;
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

/// What the start of an operator tells its end. Inputs can be read only at
/// the start: for an unboxed call they are boxed copies destroyed before the
/// kernel runs, for a boxed one the kernel rewrites the stack they point into.
struct Context : at::ObserverContext {
    bool outermost = false;
    bool countable = false;
    std::size_t returns = 0;  // the schema's number of results
    int64_t perOutput = 0;    // MACs per element of the first result
    int64_t fixed = -1;       // MACs known from the inputs alone (transposed convolution)
};

const at::Tensor* tensorArg(c10::ArrayRef<const c10::IValue> args, c10::optional<int> i) {
    return i && *i >= 0 && static_cast<std::size_t>(*i) < args.size() && args[static_cast<std::size_t>(*i)].isTensor()
               ? &args[static_cast<std::size_t>(*i)].toTensor()
               : nullptr;
}

/// Fills ctx from the operator's arguments, found by its schema; false when
/// the schema is unknown or the arguments are not what it says.
bool readArguments(OpKind kind, const at::RecordFunction& fn, Context& ctx) {
    const auto name = fn.operator_name();
    if (!name) return false;
    const auto op = c10::Dispatcher::singleton().findSchema(*name);
    if (!op || !op->hasSchema()) return false;
    const c10::FunctionSchema& schema = op->schema();
    if (schema.is_vararg() || schema.is_varret()) return false;
    const auto inputs = fn.inputs();
    const std::size_t n = schema.arguments().size();
    if (inputs.size() < n) return false;
    // The interpreter passes its whole stack; the arguments are on top.
    const auto args = inputs.slice(inputs.size() - n, n);
    ctx.returns = schema.returns().size();
    const char* opName = fn.name() + 6;
    switch (kind) {
        case OpKind::Conv: {
            // conv_tbc's weight is [k, in, out]: no rule here, so not guessed.
            if (std::strcmp(opName, "conv_tbc") == 0) return false;
            const auto* w = tensorArg(args, schema.argumentIndexWithName("weight"));
            if (w == nullptr || w->dim() < 3) return false;
            int64_t kernel = 1;
            for (int64_t d = 2; d < w->dim(); ++d) kernel *= w->size(d);
            bool transposed = std::strstr(opName, "transpose") != nullptr;
            if (const auto t = schema.argumentIndexWithName("transposed")) {
                if (!args[static_cast<std::size_t>(*t)].isBool()) return false;
                transposed = transposed || args[static_cast<std::size_t>(*t)].toBool();
            }
            if (transposed) {
                // weight [in, out / groups, k...]: each input element meets out / groups
                // x k weights.
                const auto* x = tensorArg(args, 0);
                if (x == nullptr) return false;
                ctx.fixed = x->numel() * w->size(1) * kernel;
            } else {
                ctx.perOutput = w->size(1) * kernel;  // weight [out, in / groups, k...]
            }
            return true;
        }
        case OpKind::Linear: {
            const auto* w = tensorArg(args, schema.argumentIndexWithName("weight"));
            if (w == nullptr || w->dim() != 2) return false;
            ctx.perOutput = w->size(1);
            return true;
        }
        case OpKind::MatMul: {
            // addmm / baddbmm take the added term first.
            const auto* a = tensorArg(args, std::strstr(opName, "add") != nullptr ? 1 : 0);
            if (a == nullptr || a->dim() < 1) return false;
            ctx.perOutput = a->size(a->dim() - 1);
            return true;
        }
        case OpKind::BatchNorm:
            ctx.perOutput = 1;
            return true;
        case OpKind::None:
            break;
    }
    return false;
}

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction& fn) {
    const OpKind kind = kindOf(fn.name());
    if (kind == OpKind::None) return nullptr;
    auto ctx = std::make_unique<Context>();
    if (t_depth == 0) {
        ctx->outermost = true;
        ctx->countable = readArguments(kind, fn, *ctx);
    }
    ++t_depth;
    return ctx;
}

void onEnd(const at::RecordFunction& fn, at::ObserverContext* raw) {
    if (raw == nullptr) return;
    --t_depth;
    const auto& ctx = *static_cast<Context*>(raw);
    if (!ctx.outermost) return;
    // The results are the last returns() entries (the whole stack, for a boxed
    // call).
    const auto& outputs = fn.outputs();
    if (!ctx.countable || ctx.returns == 0 || outputs.size() < ctx.returns ||
        !outputs[outputs.size() - ctx.returns].isTensor()) {
        ++t_skipped;
        return;
    }
    t_macs += ctx.fixed >= 0 ? ctx.fixed : outputs[outputs.size() - ctx.returns].toTensor().numel() * ctx.perOutput;
}

}  // namespace

OpMacCounter::OpMacCounter() : m_start(t_macs), m_skippedStart(t_skipped) {
    m_handle = at::addThreadLocalCallback(at::RecordFunctionCallback(onStart, onEnd)
                                              .needsInputs(true)
                                              .needsOutputs(true)
                                              .scopes({at::RecordScope::FUNCTION}));
}

OpMacCounter::~OpMacCounter() { at::removeCallback(m_handle); }

int64_t OpMacCounter::macs() const { return t_macs - m_start; }

int64_t OpMacCounter::skipped() const { return t_skipped - m_skippedStart; }

}  // namespace exitscope::core
