#pragma once

#include <string>

namespace exitscope::core {

/// A number as a user should read it in an error, a CSV or JSON: an
/// integral value as an integer ("16494272", never "1.64943e+07"), anything
/// else in the shortest form that reads back to the same double ("0.1",
/// "2.5e-07"); "nan", "inf" and "-inf" as such.
std::string exactNumber(double value);

} // namespace exitscope::core
