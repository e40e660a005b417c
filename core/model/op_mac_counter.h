#pragma once

#include <cstdint>

namespace exitscope::core {

/// Counts the multiply-accumulates of the operators LibTorch runs on this
/// thread while it is alive, from the operators' real input and output
/// shapes (a RecordFunction observer), so it works for any network,
/// including TorchScript models whose layers ExitScope did not build.
///
/// What counts, per operator:
/// - convolution (conv2d, grouped and depthwise alike): output elements x
///   input channels per group x kernel size, i.e. out.numel() x the weight's
///   size [out, in / groups, k...] past its first dimension;
/// - transposed convolution (weight [in, out / groups, k...]): input elements
///   x output channels per group x kernel size;
/// - linear: output elements x input features; matrix products (mm, addmm,
///   matmul, bmm, baddbmm): output elements x the inner dimension;
/// - batch norm: one per output element;
/// - everything else counts 0: pooling (max, average, adaptive; comparisons
///   and adds, no multiply-accumulate, as in the built-in models' own
///   counts), activations, element-wise adds and multiplies, the added term
///   of addmm.
///
/// Arguments and results are read by the operator's schema, the arguments
/// when the operator starts (LibTorch 1.13 keeps them valid only then): the
/// TorchScript interpreter hands an observer its whole stack, of which an
/// operator's arguments are the last `arguments().size()` entries before the
/// call and its results the last `returns().size()` after it. An operator whose
/// schema is unknown (a RecordFunction with only a name) or whose arguments
/// are not what its schema says is counted 0 and added to skipped().
/// Operators nested inside a counted one (conv2d -> _convolution ->
/// mkldnn_convolution, linear -> addmm) are not counted twice. The totals
/// are for the whole batch; divide by the batch size.
class OpMacCounter {
public:
    OpMacCounter();
    ~OpMacCounter();
    OpMacCounter(const OpMacCounter&) = delete;
    OpMacCounter& operator=(const OpMacCounter&) = delete;

    int64_t macs() const;
    /// Operators of a counted kind that could not be counted (see above).
    int64_t skipped() const;

private:
    uint64_t m_handle;
    int64_t m_start;
    int64_t m_skippedStart;
};

}  // namespace exitscope::core
