// What both halves of exitscope-cli share: output files, the progress bar
// and the one-line error report (compiled into the program and into its
// network plugin alike).
#include "app/cli/cli_commands.h"
#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/format.h"
#include "core/common/progress.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace exitscope::app {

void writeTextOutput(const std::string& path, const std::string& text) {
    if (path == "-") {
        std::cout << text;
    } else {
        core::writeFileAtomically(path, [&text](std::ostream& out) { out << text; });
    }
}

namespace {
// A progress bar on a terminal leaves its line open until it reaches 100%.
bool g_progressLineOpen = false;
}

bool progressLineOpen() { return g_progressLineOpen; }

void printProgress(double fraction, const std::string& message, bool always) {
    static const bool tty = ::isatty(STDERR_FILENO) != 0;
    const int width = 30;
    const int filled = static_cast<int>(fraction * width + 0.5);
    if (tty) {
        std::fprintf(stderr, "\r[%-*s] %3d%% %s\033[K", width, std::string(static_cast<std::size_t>(std::max(0, filled)), '#').c_str(),
                     static_cast<int>(fraction * 100 + 0.5), message.c_str());
        g_progressLineOpen = !(fraction >= 1.0 || always);
        if (!g_progressLineOpen) std::fputc('\n', stderr);
    } else if (always) {
        std::fprintf(stderr, "%3d%% %s\n", static_cast<int>(fraction * 100 + 0.5), message.c_str());
    }
    std::fflush(stderr);
}

namespace {
// Messages quote file names, file contents and command-line values; each
// control character among them is shown as an escape, so the report stays
// one line and cannot drive the terminal. 4,000 characters bound a message
// that quotes a whole file.
std::string reportText(const char* what) { return core::shortened(what, 4000); }
} // namespace

int runGuarded(const std::string& command, const std::function<int()>& body) {
    try {
        return body();
    } catch (const core::Error& e) {
        // One line: a new line only ends a progress bar still open on the terminal.
        std::cerr << (progressLineOpen() ? "\n" : "") << "exitscope-cli " << command << ": error: " << reportText(e.what())
                  << "\n";
        return 1;
    } catch (const core::Cancelled&) {
        std::cerr << (progressLineOpen() ? "\n" : "") << "exitscope-cli " << command << ": cancelled\n";
        return 130;
    } catch (const std::exception& e) {
        std::cerr << (progressLineOpen() ? "\n" : "") << "exitscope-cli " << command << ": internal error: " << reportText(e.what())
                  << "\n";
        return 3;
    }
}

} // namespace exitscope::app

