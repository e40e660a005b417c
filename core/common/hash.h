#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace exitscope::core {

/// Incremental 64-bit FNV-1a, used as a content hash of weights and files
/// (identity, not security).
class Fnv1a64 {
public:
    void update(const void* data, std::size_t bytes);
    uint64_t value() const { return m_state; }
    std::string hex() const;

private:
    uint64_t m_state = 1469598103934665603ULL;
};

} // namespace exitscope::core
