#include "core/policy/budgeted_fitter.h"

#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

namespace exitscope::core {

BudgetedBatchFitter::BudgetedBatchFitter(const std::vector<float>& conf, int64_t numSamples,
                                         std::vector<int64_t> exitMacs)
    : m_n(numSamples), m_exitMacs(std::move(exitMacs)) {
    const auto K = static_cast<int64_t>(m_exitMacs.size());
    if (m_n < 1) throw Error("budgeted batch: the validation trace has no samples to fit thresholds on");
    if (m_n > std::numeric_limits<int32_t>::max()) {
        std::ostringstream os;
        os << "budgeted batch: " << m_n << " validation samples is more than this fitter indexes";
        throw Error(os.str());
    }
    if (K < 1 || static_cast<int64_t>(conf.size()) != m_n * K) {
        std::ostringstream os;
        os << "budgeted batch: " << conf.size() << " confidences for " << m_n << " samples x " << K << " exits";
        throw Error(os.str());
    }
    // The same checks as every fit makes, once here.
    solveBudgetedQ(m_exitMacs, static_cast<double>(m_exitMacs.back()));
    for (std::size_t i = 0; i < conf.size(); ++i) {
        if (std::isnan(conf[i])) {
            std::ostringstream os;
            os << "budgeted batch: the confidence of sample " << static_cast<int64_t>(i) / K << " at exit "
               << static_cast<int64_t>(i) % K << " is NaN";
            throw Error(os.str());
        }
    }
    const auto N = static_cast<std::size_t>(m_n);
    m_order.resize(N * static_cast<std::size_t>(K - 1));
    m_sorted.resize(m_order.size());
    for (int64_t k = 0; k + 1 < K; ++k) {
        int32_t* order = m_order.data() + static_cast<std::size_t>(k) * N;
        std::iota(order, order + N, 0);
        auto at = [&](int32_t n) { return conf[static_cast<std::size_t>(n) * static_cast<std::size_t>(K) + static_cast<std::size_t>(k)]; };
        std::sort(order, order + N, [&](int32_t a, int32_t b) { return at(a) > at(b); });
        float* sorted = m_sorted.data() + static_cast<std::size_t>(k) * N;
        for (std::size_t i = 0; i < N; ++i) sorted[i] = at(order[i]);
    }
}

BudgetedBatchFit BudgetedBatchFitter::fit(double budgetPerSample) const {
    const auto K = static_cast<int64_t>(m_exitMacs.size());
    const auto N = static_cast<std::size_t>(m_n);
    BudgetedBatchFit fit;
    fit.budgetPerSample = budgetPerSample;
    fit.q = solveBudgetedQ(m_exitMacs, budgetPerSample);
    fit.exitFractions = budgetedExitFractions(fit.q, K);
    std::vector<uint8_t> gone(N, 0);
    int64_t goneCount = 0;
    double cumulative = 0.0, cost = 0.0;
    for (int64_t k = 0; k + 1 < K; ++k) {
        // Rounding the cumulative target, as fitBudgetedBatch does.
        cumulative += fit.exitFractions[static_cast<std::size_t>(k)];
        const int64_t target = std::min<int64_t>(m_n, std::llround(cumulative * static_cast<double>(m_n)));
        const int64_t take = std::min<int64_t>(target - goneCount, m_n - goneCount);
        if (take <= 0) {
            fit.thresholds.push_back(closedExitThreshold());
            continue;
        }
        const int32_t* order = m_order.data() + static_cast<std::size_t>(k) * N;
        const float* sorted = m_sorted.data() + static_cast<std::size_t>(k) * N;
        // The take-th most confident running sample sets theta (take never
        // exceeds the running count, so the walk ends inside the order).
        std::size_t i = 0;
        for (int64_t taken = 0;; ++i) {
            if (!gone[static_cast<std::size_t>(order[i])] && ++taken == take) break;
        }
        const float theta = sorted[i];
        fit.thresholds.push_back(theta);
        // Every running sample at or above theta leaves, ties included: a
        // prefix of the order.
        int64_t leaving = 0;
        for (std::size_t j = 0; j < N && sorted[j] >= theta; ++j) {
            uint8_t& g = gone[static_cast<std::size_t>(order[j])];
            leaving += g == 0 ? 1 : 0;
            g = 1;
        }
        goneCount += leaving;
        cost += static_cast<double>(leaving) * static_cast<double>(m_exitMacs[static_cast<std::size_t>(k)]);
    }
    cost += static_cast<double>(m_n - goneCount) * static_cast<double>(m_exitMacs.back());
    fit.realisedValCost = cost / static_cast<double>(m_n);
    return fit;
}

} // namespace exitscope::core
