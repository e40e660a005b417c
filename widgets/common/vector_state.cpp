#include "widgets/common/vector_state.h"

namespace exitscope::widgets {

void clearUpperVectorState() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    // vzeroupper is an illegal instruction without AVX, hence the check.
    static const bool hasAvx = __builtin_cpu_supports("avx");
    if (hasAvx) asm volatile("vzeroupper" ::: "memory");
#endif
}

} // namespace exitscope::widgets
