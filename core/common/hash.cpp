#include "core/common/hash.h"

#include <cstdio>

namespace exitscope::core {

void Fnv1a64::update(const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) {
        m_state ^= p[i];
        m_state *= 1099511628211ULL;
    }
}

std::string Fnv1a64::hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(m_state));
    return buf;
}

} // namespace exitscope::core
