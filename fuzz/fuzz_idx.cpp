// libFuzzer target: the IDX reader (raw or gzip images and labels). The input
// holds both files: a little-endian u16 L, then L bytes of the label file,
// then the image file (fuzz_make_seeds writes seeds in this form).
#include "core/common/error.h"
#include "core/data/idx_reader.h"
#include "fuzz/fuzz_input.h"

#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t labelBytes = std::min<std::size_t>(size - 2, data[0] | std::size_t{data[1]} << 8);
    const exitscope::fuzz::MemFile labels(data + 2, labelBytes);
    const exitscope::fuzz::MemFile images(data + 2 + labelBytes, size - 2 - labelBytes);
    try {
        const auto set = exitscope::core::readIdx(images.path(), labels.path(), {"a", "b", "c", "d"}, "fuzz");
        if (set.pixels.size() != set.labels.size() * static_cast<std::size_t>(set.height * set.width)) {
            __builtin_trap();
        }
    } catch (const exitscope::core::Error&) {
    }
    return 0;
}
