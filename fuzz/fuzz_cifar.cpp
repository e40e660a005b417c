// libFuzzer target: the CIFAR-10 reader. The input is used twice: as a
// binary batch and as batches.meta.txt (the class-name file).
#include "core/common/error.h"
#include "core/data/cifar_reader.h"
#include "fuzz/fuzz_input.h"

#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    namespace core = exitscope::core;
    const auto& dir = exitscope::fuzz::scratchDir();
    exitscope::fuzz::writeBytes(dir / "batches.meta.txt", data, size);
    try {
        (void)core::readCifar10ClassNames(dir.string());
    } catch (const core::Error&) {
    }
    const exitscope::fuzz::MemFile batch(data, size);
    try {
        const auto set = core::readCifar10({batch.path()}, std::vector<std::string>(10, "class"), "fuzz");
        if (set.pixels.size() != set.labels.size() * 3 * 32 * 32) __builtin_trap();
    } catch (const core::Error&) {
    }
    return 0;
}
