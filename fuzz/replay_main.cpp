// A plain driver for the fuzz targets, so they also build without libFuzzer
// (gcc): feeds every file of the given files and directories (recursively,
// in sorted order) to LLVMFuzzerTestOneInput once. An input that crashes or
// lets an exception other than core::Error escape ends the program with a
// non-zero status. With EXITSCOPE_FUZZ_VERBOSE set, each file is printed
// before it runs, so a crashing input is named.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputsOf(const fs::path& arg) {
    std::vector<fs::path> out;
    if (fs::is_directory(arg)) {
        for (const auto& e : fs::recursive_directory_iterator(arg)) {
            if (e.is_regular_file()) out.push_back(e.path());
        }
    } else if (fs::is_regular_file(arg)) {
        out.push_back(arg);
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

int main(int argc, char** argv) {
    const bool verbose = std::getenv("EXITSCOPE_FUZZ_VERBOSE") != nullptr;
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    std::size_t count = 0;
    for (int a = 1; a < argc; ++a) {
        const auto inputs = inputsOf(argv[a]);
        if (inputs.empty()) {
            std::fprintf(stderr, "%s: no inputs in %s\n", argv[0], argv[a]);
            return 2;
        }
        for (const fs::path& p : inputs) {
            if (verbose) std::fprintf(stderr, "%s\n", p.c_str());
            std::ifstream in(p, std::ios::binary);
            const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            try {
                LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
            } catch (const std::exception& e) {
                std::fprintf(stderr, "%s: %s: uncaught exception: %s\n", argv[0], p.c_str(), e.what());
                return 1;
            }
            ++count;
        }
    }
    std::printf("%s: replayed %zu inputs, no finding\n", argv[0], count);
    return 0;
}
