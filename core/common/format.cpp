#include "core/common/format.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>

namespace exitscope::core {

std::string exactNumber(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    // Integers up to 2^53 are exact in a double; print them without exponent.
    if (value == std::floor(value) && std::fabs(value) <= 9007199254740992.0)
        return std::to_string(static_cast<long long>(value));
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest round trip
    if (result.ec != std::errc()) return std::to_string(value);
    return std::string(buffer, result.ptr);
}

} // namespace exitscope::core
