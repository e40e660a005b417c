#pragma once

#include <stdexcept>
#include <string>

namespace exitscope::core {

/// The one exception type for problems a user can cause (bad file, wrong
/// shape, impossible budget). The message names the file or value and the
/// problem, so the GUI can show it and the CLI can print it as is.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

} // namespace exitscope::core
