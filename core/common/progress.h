#pragma once

#include <atomic>
#include <functional>
#include <string>

namespace exitscope::core {

/// Progress of a long job: fraction in [0, 1] and a short human-readable line.
struct Progress {
    double fraction = 0.0;
    std::string message;
};

/// Called by long jobs from the thread that runs them. Widgets turn it into
/// a signal; the CLI draws a progress bar.
using ProgressFn = std::function<void(const Progress&)>;

/// Cancellation: a job polls the flag and throws Cancelled when it is set.
using CancelFlag = std::atomic<bool>;

/// Thrown by a long job when its CancelFlag was set.
struct Cancelled {};

inline void throwIfCancelled(const CancelFlag* flag) {
    if (flag && flag->load(std::memory_order_relaxed)) throw Cancelled{};
}

} // namespace exitscope::core
