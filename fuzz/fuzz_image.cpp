// libFuzzer target: image decoding as the image-folder reader does it
// (OpenCV imread of any depth and channel count, conversion to 8-bit gray
// or RGB, resizing). The input is one image file in a one-class folder; its
// size's parity picks gray or RGB output.
#include "core/common/error.h"
#include "core/data/image_folder.h"
#include "fuzz/fuzz_input.h"

#include <filesystem>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    namespace fs = std::filesystem;
    static const fs::path root = [] {
        const fs::path r = exitscope::fuzz::scratchDir() / "images";
        fs::create_directories(r / "cls");
        return r;
    }();
    // The extension only has to be one the reader lists; OpenCV picks the
    // decoder from the file's signature.
    exitscope::fuzz::writeBytes(root / "cls" / "input.png", data, size);
    const int64_t channels = size % 2 ? 1 : 3;
    try {
        const auto set = exitscope::core::readImageFolder(root.string(), channels, 12, 10, "fuzz");
        if (set.pixels.size() != static_cast<std::size_t>(channels * 12 * 10)) __builtin_trap();
    } catch (const exitscope::core::Error&) {
    }
    return 0;
}
