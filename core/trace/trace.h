#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace exitscope::core {

/// How far a row of a trace's probabilities may sum from 1.
constexpr double kProbabilitySumTolerance = 1e-3;

/// What one profiling run of a multi-exit model over a data set split
/// recorded: per sample and exit the class probabilities and gate inputs,
/// per exit and block the measured cost. Every policy, plot and simulation
/// reads a Trace instead of running the network ("profile once, explore
/// live"). Stored as safetensors; see README "Trace format".
struct Trace {
    int64_t numSamples = 0;  ///< N
    int64_t numExits = 0;    ///< K
    int64_t numClasses = 0;  ///< C
    int64_t numBlocks = 0;   ///< B
    int64_t gateDim = 0;     ///< D, width of gate_inputs (0 when absent)

    std::vector<float> probs;           ///< probs [N, K, C], softmax of each exit
    std::vector<int64_t> labels;        ///< labels [N]
    std::vector<int64_t> sampleIndex;   ///< sample_index [N], index into the split's images

    std::vector<int64_t> exitMacs;      ///< exit_macs [K], cumulative, incl. earlier heads
    std::vector<int64_t> exitParams;    ///< exit_params [K], cumulative parameters used
    std::vector<float> exitMs;          ///< exit_ms [K], median per-sample ms to reach exit k
    std::vector<int64_t> exitBlock;     ///< exit_block [K], block after which exit k sits

    std::vector<int64_t> blockMacs;     ///< block_macs [B]
    std::vector<int64_t> blockParams;   ///< block_params [B]
    std::vector<float> blockMs;         ///< block_ms [B], median per-sample ms
    std::vector<int64_t> blockOutBytes; ///< block_out_bytes [B], fp32 bytes of the state leaving block b
    std::vector<uint8_t> blockRelu;     ///< block_relu [B], 1 when the boundary follows a ReLU

    std::vector<int64_t> headMacs;      ///< head_macs [K], MACs of exit head k alone
    std::vector<int64_t> headParams;    ///< head_params [K]
    std::vector<float> headMs;          ///< head_ms [K], median per-sample ms of head k alone

    std::vector<float> gateInputs;      ///< gate_inputs [N, K, D], zero padded past gate_dims[k]
    std::vector<int64_t> gateDims;      ///< gate_dims [K], valid width of gate_inputs per exit

    std::map<std::string, std::string> metadata;  ///< safetensors __metadata__

    /// The metadata entry `key`, or "" when the trace has none.
    std::string meta(const std::string& key) const {
        const auto it = metadata.find(key);
        return it == metadata.end() ? std::string() : it->second;
    }

    float prob(int64_t n, int64_t k, int64_t c) const {
        return probs[static_cast<std::size_t>((n * numExits + k) * numClasses + c)];
    }
    const float* probsOf(int64_t n, int64_t k) const {
        return probs.data() + (n * numExits + k) * numClasses;
    }

    /// Throws Error naming the field when sizes disagree with N, K, C, B, D
    /// or values are out of range: labels, exit_block, probabilities (each
    /// in [0, 1], each row summing to 1 within kProbabilitySumTolerance),
    /// gate inputs (finite), costs (non-negative; exit_macs and exit_params
    /// never falling, the last positive), times (finite, non-negative;
    /// block_ms and block_macs not all zero). See docs/trace-format.md.
    void validate(const std::string& where) const;
};

/// Writes a trace as safetensors, to a temporary file renamed into place.
void writeTrace(const Trace& trace, const std::string& path);

/// Reads and validates a trace; every offset, dtype and shape is checked
/// against the file before use. Throws Error naming the file and problem.
Trace readTrace(const std::string& path);

} // namespace exitscope::core
