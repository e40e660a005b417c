#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace exitscope::fuzz {

/// The fuzz input as an anonymous in-memory file (memfd), so the readers run
/// exactly as they do on a user's file: open by path, fstat, read. path()
/// is /proc/self/fd/N; the file disappears when the object does.
class MemFile {
public:
    MemFile(const uint8_t* data, std::size_t size) : m_fd(::memfd_create("exitscope-fuzz", MFD_CLOEXEC)) {
        if (m_fd < 0) throw std::runtime_error("memfd_create failed");
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::write(m_fd, data + done, size - done);
            if (n <= 0) throw std::runtime_error("memfd write failed");
            done += static_cast<std::size_t>(n);
        }
    }
    ~MemFile() { ::close(m_fd); }
    MemFile(const MemFile&) = delete;
    MemFile& operator=(const MemFile&) = delete;
    std::string path() const { return "/proc/self/fd/" + std::to_string(m_fd); }

private:
    int m_fd;
};

/// A private scratch folder for readers that need a directory tree (image
/// folders, CIFAR's batches.meta.txt), made once per process in /dev/shm
/// when it exists so the many small writes stay in memory.
inline const std::filesystem::path& scratchDir() {
    static const std::filesystem::path dir = [] {
        namespace fs = std::filesystem;
        const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        fs::path d = base / ("exitscope-fuzz-" + std::to_string(::getpid()));
        fs::create_directories(d);
        std::atexit([] { std::error_code ec; std::filesystem::remove_all(scratchDir(), ec); });
        return d;
    }();
    return dir;
}

/// Writes bytes to `path`, replacing it.
inline void writeBytes(const std::filesystem::path& path, const uint8_t* data, std::size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

} // namespace exitscope::fuzz
