#pragma once

#include <cstdint>

namespace exitscope::core {

/// Counts the multiply-accumulates of the operators LibTorch runs on this
/// thread while it is alive, from the operators' real input and output
/// shapes (a RecordFunction observer), so it works for any network,
/// including TorchScript models whose layers ExitScope did not build:
/// convolutions (output elements x input channels per group x kernel size),
/// linear layers and matrix products (output elements x inner dimension),
/// batch norm (one per output element). Operators nested inside a counted
/// one (conv2d -> _convolution -> mkldnn_convolution) are not counted twice.
/// The totals are for the whole batch; divide by the batch size.
class OpMacCounter {
public:
    OpMacCounter();
    ~OpMacCounter();
    OpMacCounter(const OpMacCounter&) = delete;
    OpMacCounter& operator=(const OpMacCounter&) = delete;

    int64_t macs() const;

private:
    uint64_t m_handle;
    int64_t m_start;
};

} // namespace exitscope::core
