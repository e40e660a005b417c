#pragma once

#include "core/policy/budgeted.h"

#include <cstdint>
#include <vector>

namespace exitscope::core {

/// The budgeted batch fit (fitBudgetedBatch) for many budgets on the same
/// validation confidences, as a slider asks for it. Sorting each exit's
/// confidences once turns every fit into a walk down those orders: an exit
/// takes the most confident samples still running until it has its share,
/// and its theta is the last one's confidence. The result is the same as
/// fitBudgetedBatch's for every budget (thresholds, fractions, q and the
/// realised validation cost); only the time differs (one fit of 50,000
/// samples: a single pass per exit instead of a selection and a partition).
class BudgetedBatchFitter {
public:
    /// `maxConfidence` is [N, K], sample major; `exitMacs` cumulative, [K].
    /// Error for N < 1, a size mismatch, bad exit costs or a NaN confidence.
    BudgetedBatchFitter(const std::vector<float>& maxConfidence, int64_t numSamples, std::vector<int64_t> exitMacs);

    /// The fit for an average budget per sample; errors as fitBudgetedBatch.
    BudgetedBatchFit fit(double budgetPerSample) const;

    int64_t numSamples() const { return m_n; }

private:
    int64_t m_n = 0;
    std::vector<int64_t> m_exitMacs;
    std::vector<int32_t> m_order;  ///< [K-1, N]: per exit, samples by descending confidence
    std::vector<float> m_sorted;   ///< [K-1, N]: those confidences
};

} // namespace exitscope::core
