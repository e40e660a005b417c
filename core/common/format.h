#pragma once

#include <cstddef>
#include <string>

namespace exitscope::core {

/// A number as a user should read it in an error, a CSV or JSON: an
/// integral value as an integer ("16494272", never "1.64943e+07"), anything
/// else in the shortest form that reads back to the same double ("0.1",
/// "2.5e-07"); "nan", "inf" and "-inf" as such.
std::string exactNumber(double value);

/// `text` safe to print on one terminal line: every control character
/// (bytes below 0x20 and 0x7f) as an escape (\n, \r, \t, else \xNN);
/// everything else, bytes of 0x80 and above included (UTF-8 names stay
/// readable), comes back unchanged.
std::string printable(const std::string& text);

/// `printable(text)`, cut to about `maxChars` characters by keeping its
/// start and end around "...", so that a 5,000-character path still names
/// its folder and its file in an error.
std::string shortened(const std::string& text, std::size_t maxChars = 160);

/// `text` without a leading UTF-8 byte-order mark (EF BB BF), which Windows
/// editors and spreadsheets put in front of JSON and CSV files they save.
/// Every text input (tuned configs, device and server profiles, bandwidth
/// and deadline CSVs, class-name lists) goes through it, so such a file
/// reads exactly as the same file without the mark; ExitScope never writes one.
std::string withoutUtf8Bom(std::string text);

/// The first non-empty line of a library's message (LibTorch's start with a
/// new line and go on with source excerpts), printable and shortened.
std::string firstLineOf(const std::string& message, std::size_t maxChars = 300);

} // namespace exitscope::core
