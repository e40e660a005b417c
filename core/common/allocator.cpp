#include "core/common/allocator.h"

#include <cstdlib>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace exitscope::core {

void keepFreedMemoryForReuse() {
#if defined(__GLIBC__)
    const char* defaults = std::getenv("EXITSCOPE_MALLOC_DEFAULTS");
    if (defaults && std::string(defaults) == "1") return;
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);  // the largest round figure an int holds
#endif
}

} // namespace exitscope::core
