#include "core/trace/trace.h"

#include "core/common/error.h"
#include "core/trace/safetensors.h"

#include <cmath>

namespace exitscope::core {
namespace {

constexpr const char* kFormat = "exitscope-trace";
constexpr const char* kFormatVersion = "1";

// Products of the dimensions come from files or callers; an overflow must
// become an Error, not a wrapped size that happens to match a vector.
int64_t product(const std::string& where, const char* field, std::initializer_list<int64_t> dims) {
    int64_t result = 1;
    for (int64_t dim : dims) {
        if (__builtin_mul_overflow(result, dim, &result)) {
            throw Error(where + ": " + field + " size overflows 64 bits");
        }
    }
    return result;
}

template <typename T>
void checkSize(const std::string& where, const char* field, const std::vector<T>& values,
               int64_t expected, const char* shape) {
    if (static_cast<uint64_t>(values.size()) != static_cast<uint64_t>(expected)) {
        throw Error(where + ": " + field + " has " + std::to_string(values.size()) +
                    " values, expected " + shape + " = " + std::to_string(expected));
    }
}

void checkNonNegative(const std::string& where, const char* field, const std::vector<int64_t>& values) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (values[i] < 0) {
            throw Error(where + ": " + field + "[" + std::to_string(i) + "] = " +
                        std::to_string(values[i]) + " is negative");
        }
    }
}

void checkTimes(const std::string& where, const char* field, const std::vector<float>& values) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i]) || values[i] < 0.0f) {
            throw Error(where + ": " + field + "[" + std::to_string(i) + "] = " +
                        std::to_string(values[i]) + " is not a finite non-negative time");
        }
    }
}

// Costs that the evaluation divides by (fractions of the last exit's MACs
// and parameters): cumulative, so never falling, and the last one positive.
void checkCumulative(const std::string& where, const char* field, const std::vector<int64_t>& values) {
    for (std::size_t k = 1; k < values.size(); ++k) {
        if (values[k] < values[k - 1]) {
            throw Error(where + ": " + field + "[" + std::to_string(k) + "] = " + std::to_string(values[k]) +
                        " is below " + field + "[" + std::to_string(k - 1) + "] = " +
                        std::to_string(values[k - 1]) + "; the costs to reach each exit are cumulative");
        }
    }
    if (!values.empty() && values.back() <= 0) {
        throw Error(where + ": " + field + " of the last exit is " + std::to_string(values.back()) +
                    "; it must be positive (every cost is a fraction of it)");
    }
}

template <typename T>
double sumOf(const std::vector<T>& values) {
    double sum = 0.0;
    for (T v : values) sum += static_cast<double>(v);
    return sum;
}

std::string shapeText(const std::vector<int64_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        text += (i ? ", " : "") + std::to_string(shape[i]);
    }
    return text + "]";
}

const TensorInfo& expectTensor(const SafeTensorsFile& file, const std::string& name, DType dtype,
                               const std::vector<int64_t>& shape) {
    const TensorInfo& info = file.tensor(name);
    if (info.dtype != dtype) {
        throw Error(file.where() + ": tensor '" + name + "' is " + dtypeName(info.dtype) +
                    ", expected " + dtypeName(dtype));
    }
    if (info.shape != shape) {
        throw Error(file.where() + ": tensor '" + name + "' has shape " + shapeText(info.shape) +
                    ", expected " + shapeText(shape));
    }
    return info;
}

int64_t dimOf(const SafeTensorsFile& file, const std::string& name, DType dtype, std::size_t rank,
              std::size_t axis) {
    const TensorInfo& info = file.tensor(name);
    if (info.dtype != dtype || info.shape.size() != rank) {
        throw Error(file.where() + ": tensor '" + name + "' must be a rank-" + std::to_string(rank) +
                    " " + dtypeName(dtype) + " tensor, found " + dtypeName(info.dtype) + " " +
                    shapeText(info.shape));
    }
    return info.shape[axis];
}

} // namespace

void Trace::validate(const std::string& where) const {
    const int64_t N = numSamples, K = numExits, C = numClasses, B = numBlocks, D = gateDim;
    if (N < 0 || K < 1 || C < 1 || B < 1 || D < 0) {
        throw Error(where + ": invalid dimensions N=" + std::to_string(N) + " K=" +
                    std::to_string(K) + " C=" + std::to_string(C) + " B=" + std::to_string(B) +
                    " D=" + std::to_string(D) + " (need N>=0, K>=1, C>=1, B>=1, D>=0)");
    }
    checkSize(where, "probs", probs, product(where, "probs", {N, K, C}), "N*K*C");
    checkSize(where, "labels", labels, N, "N");
    checkSize(where, "sample_index", sampleIndex, N, "N");
    checkSize(where, "exit_macs", exitMacs, K, "K");
    checkSize(where, "exit_params", exitParams, K, "K");
    checkSize(where, "exit_ms", exitMs, K, "K");
    checkSize(where, "exit_block", exitBlock, K, "K");
    checkSize(where, "block_macs", blockMacs, B, "B");
    checkSize(where, "block_params", blockParams, B, "B");
    checkSize(where, "block_ms", blockMs, B, "B");
    checkSize(where, "block_out_bytes", blockOutBytes, B, "B");
    checkSize(where, "block_relu", blockRelu, B, "B");
    checkSize(where, "head_macs", headMacs, K, "K");
    checkSize(where, "head_params", headParams, K, "K");
    checkSize(where, "head_ms", headMs, K, "K");
    checkSize(where, "gate_inputs", gateInputs, product(where, "gate_inputs", {N, K, D}), "N*K*D");
    checkSize(where, "gate_dims", gateDims, D > 0 ? K : 0, D > 0 ? "K" : "0 (no gate inputs)");

    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= C) {
            throw Error(where + ": labels[" + std::to_string(i) + "] = " + std::to_string(labels[i]) +
                        " is outside [0, " + std::to_string(C) + ")");
        }
    }
    checkNonNegative(where, "sample_index", sampleIndex);
    for (std::size_t k = 0; k < exitBlock.size(); ++k) {
        if (exitBlock[k] < 0 || exitBlock[k] >= B) {
            throw Error(where + ": exit_block[" + std::to_string(k) + "] = " +
                        std::to_string(exitBlock[k]) + " is outside [0, " + std::to_string(B) + ")");
        }
        if (k > 0 && exitBlock[k] < exitBlock[k - 1]) {
            throw Error(where + ": exit_block decreases at exit " + std::to_string(k));
        }
    }
    for (std::size_t i = 0; i < probs.size(); ++i) {
        // Written as a negated range test so that NaN fails it too.
        if (!(probs[i] >= 0.0f && probs[i] <= 1.0f)) {
            throw Error(where + ": probs[" + std::to_string(i) + "] = " + std::to_string(probs[i]) +
                        " is not a probability in [0, 1]");
        }
    }
    // Each row is a softmax; float32 sums of up to thousands of terms stay
    // within 1e-4 of 1, so 1e-3 refuses only rows that are not distributions.
    for (int64_t row = 0; C > 0 && row < N * K; ++row) {
        const float* p = probs.data() + row * C;
        double sum = 0.0;
        for (int64_t c = 0; c < C; ++c) sum += p[c];
        if (!(std::fabs(sum - 1.0) <= kProbabilitySumTolerance)) {
            throw Error(where + ": probs of sample " + std::to_string(row / K) + " at exit " +
                        std::to_string(row % K) + " sum to " + std::to_string(sum) +
                        ", not 1 (within " + std::to_string(kProbabilitySumTolerance) + ")");
        }
    }
    for (std::size_t i = 0; i < gateInputs.size(); ++i) {
        if (!std::isfinite(gateInputs[i])) {
            throw Error(where + ": gate_inputs[" + std::to_string(i) + "] = " + std::to_string(gateInputs[i]) +
                        " is not a finite number");
        }
    }
    for (std::size_t k = 0; k < gateDims.size(); ++k) {
        if (gateDims[k] < 0 || gateDims[k] > D) {
            throw Error(where + ": gate_dims[" + std::to_string(k) + "] = " +
                        std::to_string(gateDims[k]) + " is outside [0, " + std::to_string(D) + "]");
        }
    }
    checkNonNegative(where, "exit_macs", exitMacs);
    checkNonNegative(where, "exit_params", exitParams);
    checkNonNegative(where, "block_macs", blockMacs);
    checkNonNegative(where, "block_params", blockParams);
    checkNonNegative(where, "block_out_bytes", blockOutBytes);
    checkNonNegative(where, "head_macs", headMacs);
    checkNonNegative(where, "head_params", headParams);
    checkTimes(where, "exit_ms", exitMs);
    checkTimes(where, "block_ms", blockMs);
    checkTimes(where, "head_ms", headMs);
    checkCumulative(where, "exit_macs", exitMacs);
    checkCumulative(where, "exit_params", exitParams);
    // The latency model derives the profiling machine's speed from these
    // sums (MACs per ms); all-zero blocks would make every latency NaN.
    if (!(sumOf(blockMacs) > 0.0) || !(sumOf(blockMs) > 0.0)) {
        throw Error(where + ": block_macs and block_ms must not all be zero (they sum to " +
                    std::to_string(static_cast<long long>(sumOf(blockMacs))) + " MACs and " +
                    std::to_string(sumOf(blockMs)) + " ms)");
    }
    for (std::size_t b = 0; b < blockRelu.size(); ++b) {
        if (blockRelu[b] > 1) {
            throw Error(where + ": block_relu[" + std::to_string(b) + "] = " +
                        std::to_string(blockRelu[b]) + " is not 0 or 1");
        }
    }
}

void writeTrace(const Trace& trace, const std::string& path) {
    trace.validate(path);
    const int64_t N = trace.numSamples, K = trace.numExits, C = trace.numClasses;
    const int64_t B = trace.numBlocks, D = trace.gateDim;
    SafeTensorsWriter writer;
    writer.add("probs", {N, K, C}, trace.probs);
    writer.add("labels", {N}, trace.labels);
    writer.add("sample_index", {N}, trace.sampleIndex);
    writer.add("exit_macs", {K}, trace.exitMacs);
    writer.add("exit_params", {K}, trace.exitParams);
    writer.add("exit_ms", {K}, trace.exitMs);
    writer.add("exit_block", {K}, trace.exitBlock);
    writer.add("block_macs", {B}, trace.blockMacs);
    writer.add("block_params", {B}, trace.blockParams);
    writer.add("block_ms", {B}, trace.blockMs);
    writer.add("block_out_bytes", {B}, trace.blockOutBytes);
    writer.add("block_relu", {B}, trace.blockRelu);
    writer.add("head_macs", {K}, trace.headMacs);
    writer.add("head_params", {K}, trace.headParams);
    writer.add("head_ms", {K}, trace.headMs);
    if (D > 0) {
        writer.add("gate_inputs", {N, K, D}, trace.gateInputs);
        writer.add("gate_dims", {K}, trace.gateDims);
    }
    for (const auto& [key, value] : trace.metadata) {
        writer.setMetadata(key, value);
    }
    writer.setMetadata("format", kFormat);
    writer.setMetadata("format_version", kFormatVersion);
    writer.write(path);
}

Trace readTrace(const std::string& path) {
    const SafeTensorsFile file = SafeTensorsFile::read(path);
    const auto& meta = file.metadata();
    const auto format = meta.find("format");
    if (format == meta.end() || format->second != kFormat) {
        throw Error(path + ": not an ExitScope trace (metadata 'format' is not '" +
                    std::string(kFormat) + "')");
    }
    const auto version = meta.find("format_version");
    if (version == meta.end() || version->second != kFormatVersion) {
        throw Error(path + ": trace format_version '" +
                    (version == meta.end() ? std::string("missing") : version->second) +
                    "' is not supported; this build reads version " + kFormatVersion);
    }

    Trace t;
    t.numSamples = dimOf(file, "probs", DType::F32, 3, 0);
    t.numExits = dimOf(file, "probs", DType::F32, 3, 1);
    t.numClasses = dimOf(file, "probs", DType::F32, 3, 2);
    t.numBlocks = dimOf(file, "block_macs", DType::I64, 1, 0);
    const bool hasGates = file.contains("gate_inputs");
    if (hasGates != file.contains("gate_dims")) {
        throw Error(path + ": gate_inputs and gate_dims must be present together");
    }
    t.gateDim = hasGates ? dimOf(file, "gate_inputs", DType::F32, 3, 2) : 0;
    if (hasGates && t.gateDim == 0) {
        throw Error(path + ": gate_inputs has width 0; omit gate_inputs and gate_dims instead");
    }
    const int64_t N = t.numSamples, K = t.numExits, C = t.numClasses, B = t.numBlocks;

    auto f32 = [&](const char* name, std::vector<int64_t> shape) {
        return file.values<float>(expectTensor(file, name, DType::F32, shape));
    };
    auto i64 = [&](const char* name, std::vector<int64_t> shape) {
        return file.values<int64_t>(expectTensor(file, name, DType::I64, shape));
    };
    t.probs = f32("probs", {N, K, C});
    t.labels = i64("labels", {N});
    t.sampleIndex = i64("sample_index", {N});
    t.exitMacs = i64("exit_macs", {K});
    t.exitParams = i64("exit_params", {K});
    t.exitMs = f32("exit_ms", {K});
    t.exitBlock = i64("exit_block", {K});
    t.blockMacs = i64("block_macs", {B});
    t.blockParams = i64("block_params", {B});
    t.blockMs = f32("block_ms", {B});
    t.blockOutBytes = i64("block_out_bytes", {B});
    t.blockRelu = file.values<uint8_t>(expectTensor(file, "block_relu", DType::U8, {B}));
    t.headMacs = i64("head_macs", {K});
    t.headParams = i64("head_params", {K});
    t.headMs = f32("head_ms", {K});
    if (hasGates) {
        t.gateInputs = f32("gate_inputs", {N, K, t.gateDim});
        t.gateDims = i64("gate_dims", {K});
    }
    for (const auto& [key, value] : meta) {
        if (key != "format" && key != "format_version") {
            t.metadata.emplace(key, value);
        }
    }
    t.validate(path);
    return t;
}

} // namespace exitscope::core
