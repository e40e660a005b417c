// libFuzzer target: the trace reader (safetensors header and data, then the
// trace's own shape and value checks). Every input must either load or throw
// core::Error; anything else (a crash, a sanitizer report, another exception)
// is a finding.
#include "core/common/error.h"
#include "core/trace/trace.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const exitscope::fuzz::MemFile file(data, size);
    try {
        const exitscope::core::Trace trace = exitscope::core::readTrace(file.path());
        // A loaded trace must be consistent: touching its last probability
        // finds a size the validation let through.
        if (!trace.probs.empty()) {
            volatile float last = trace.prob(trace.numSamples - 1, trace.numExits - 1, trace.numClasses - 1);
            (void)last;
        }
    } catch (const exitscope::core::Error&) {
    }
    return 0;
}
