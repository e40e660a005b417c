#include "app/cli/cli_commands.h"
#include "core/common/error.h"
namespace exitscope::app {
int runProfile(const std::vector<std::string>&) { throw core::Error("profile: TODO"); }
int runExecute(const std::vector<std::string>&) { throw core::Error("run: TODO"); }
}
