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

std::string printable(const std::string& text) {
    static const char* const hex = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c != 0x7f) {
            out += ch;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out;
}

std::string shortened(const std::string& text, std::size_t maxChars) {
    std::string p = printable(text);
    if (maxChars < 8 || p.size() <= maxChars) return p;
    const std::size_t tail = maxChars / 3, head = maxChars - tail - 3;
    // Cut between UTF-8 characters, never inside one.
    std::size_t h = head, t = p.size() - tail;
    while (h > 0 && (static_cast<unsigned char>(p[h]) & 0xc0) == 0x80) --h;
    while (t < p.size() && (static_cast<unsigned char>(p[t]) & 0xc0) == 0x80) ++t;
    return p.substr(0, h) + "..." + p.substr(t);
}

std::string withoutUtf8Bom(std::string text) {
    if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
        static_cast<unsigned char>(text[2]) == 0xBF)
        text.erase(0, 3);
    return text;
}

std::string firstLineOf(const std::string& message, std::size_t maxChars) {
    std::size_t begin = 0;
    while (begin < message.size()) {
        std::size_t end = message.find('\n', begin);
        if (end == std::string::npos) end = message.size();
        std::size_t a = begin, b = end;
        while (a < b && (message[a] == ' ' || message[a] == '\t' || message[a] == '\r')) ++a;
        while (b > a && (message[b - 1] == ' ' || message[b - 1] == '\t' || message[b - 1] == '\r')) --b;
        if (a < b) return shortened(message.substr(a, b - a), maxChars);
        begin = end + 1;
    }
    return "(no message)";
}

} // namespace exitscope::core
