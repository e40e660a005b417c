#include "core/common/atomic_file.h"

#include "core/common/error.h"
#include "core/common/format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>
#include <random>
#include <sstream>
#include <streambuf>

namespace exitscope::core {
namespace {

std::string errnoText(int error) { return std::strerror(error); }

// Paths come from users and files: a 5,000-character one or one holding
// control characters must still give a one-line message that names it.
std::string cannotOpen(const std::string& path, int error, const char* what) {
    const std::string p = shortened(path);
    if (error == ENOENT) return p + ": file not found";
    if (error == ENAMETOOLONG)
        return p + ": the path (" + std::to_string(path.size()) +
               " bytes) or one of its names is longer than the file system allows";
    return p + ": cannot " + what + ": " + errnoText(error);
}

const char* fileKind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a plain file";
}

// A streambuf straight onto a POSIX descriptor: std::ofstream cannot give us
// the descriptor to fsync, and reopening the file by name to fsync it would
// not be guaranteed to flush the same inode's data on every filesystem.
class FdStreamBuf : public std::streambuf {
public:
    explicit FdStreamBuf(int fd) : m_fd(fd), m_buffer(1 << 16) { resetPut(); }

    int error() const { return m_errno; }

protected:
    int_type overflow(int_type ch) override {
        if (!flushBuffer()) {
            return traits_type::eof();
        }
        if (!traits_type::eq_int_type(ch, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(ch);
            pbump(1);
        }
        return traits_type::not_eof(ch);
    }

    int sync() override { return flushBuffer() ? 0 : -1; }

    std::streamsize xsputn(const char* data, std::streamsize count) override {
        // Tensor payloads are megabytes; copying them through the 64 KiB
        // buffer would only cost time.
        if (count < static_cast<std::streamsize>(m_buffer.size())) {
            return std::streambuf::xsputn(data, count);
        }
        if (!flushBuffer() || !writeAll(data, static_cast<std::size_t>(count))) {
            return 0;
        }
        return count;
    }

private:
    void resetPut() { setp(m_buffer.data(), m_buffer.data() + m_buffer.size()); }

    bool writeAll(const char* data, std::size_t size) {
        if (m_errno != 0) {
            return false;
        }
        while (size > 0) {
            const ssize_t written = ::write(m_fd, data, size);
            if (written < 0) {
                if (errno == EINTR) {
                    continue;
                }
                m_errno = errno;
                return false;
            }
            data += written;
            size -= static_cast<std::size_t>(written);
        }
        return true;
    }

    bool flushBuffer() {
        const auto pending = static_cast<std::size_t>(pptr() - pbase());
        const bool ok = pending == 0 || writeAll(pbase(), pending);
        resetPut();
        return ok;
    }

    int m_fd;
    int m_errno = 0;
    std::vector<char> m_buffer;
};

// Owns the temporary file until it has been renamed into place, so every
// early exit (exception included) closes and deletes it.
struct TemporaryFile {
    int fd = -1;
    std::string path;
    bool committed = false;

    ~TemporaryFile() {
        if (fd >= 0) {
            ::close(fd);
        }
        if (!committed && !path.empty()) {
            ::unlink(path.c_str());
        }
    }
};

std::string randomSuffix() {
    static std::mt19937_64 generator{std::random_device{}() ^
                                     static_cast<uint64_t>(::getpid())};
    std::ostringstream suffix;
    suffix << ::getpid() << '-' << std::hex << (generator() & 0xffffffffu);
    return suffix.str();
}

void createTemporary(const std::string& path, TemporaryFile& tmp) {
    // O_EXCL makes a clash with another writer's temporary file impossible
    // rather than merely unlikely; a few retries cover the unlikely case.
    for (int attempt = 0; attempt < 16; ++attempt) {
        const std::string candidate = path + ".tmp-" + randomSuffix();
        const int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            tmp.fd = fd;
            tmp.path = candidate;
            return;
        }
        if (errno != EEXIST) {
            throw Error("cannot write " + path + ": cannot create a temporary file next to it: " +
                        errnoText(errno));
        }
    }
    throw Error("cannot write " + path + ": no free temporary file name next to it");
}

void syncDirectoryOf(const std::string& path) {
    // The rename is only durable once the directory entry reaches the disk;
    // failing here would not make the already renamed file wrong, so this
    // is best effort.
    const std::size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

} // namespace

void writeFileAtomically(const std::string& path,
                         const std::function<void(std::ostream&)>& writer) {
    if (path.empty()) {
        throw Error("cannot write a file with an empty path");
    }
    TemporaryFile tmp;
    createTemporary(path, tmp);

    struct stat existing {};
    if (::stat(path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode)) {
        ::fchmod(tmp.fd, existing.st_mode & 07777);
    }

    FdStreamBuf buffer(tmp.fd);
    std::ostream out(&buffer);
    try {
        writer(out);
    } catch (const std::exception& e) {
        throw Error("cannot write " + path + ": " + e.what());
    }
    out.flush();
    if (!out) {
        throw Error("cannot write " + path + ": " +
                    (buffer.error() != 0 ? errnoText(buffer.error())
                                         : std::string("the output stream failed")));
    }
    if (::fsync(tmp.fd) != 0) {
        throw Error("cannot write " + path + ": fsync failed: " + errnoText(errno));
    }
    const int fd = tmp.fd;
    tmp.fd = -1;
    if (::close(fd) != 0) {
        throw Error("cannot write " + path + ": close failed: " + errnoText(errno));
    }
    if (::rename(tmp.path.c_str(), path.c_str()) != 0) {
        throw Error("cannot write " + path + ": cannot rename the temporary file over it: " +
                    errnoText(errno));
    }
    tmp.committed = true;
    syncDirectoryOf(path);
}

void requireRegularFile(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) throw Error(cannotOpen(path, errno, "examine"));
    if (!S_ISREG(info.st_mode))
        throw Error(shortened(path) + " is not a regular file (it is " + fileKind(info.st_mode) + ")");
}

std::vector<uint8_t> readFileBytes(const std::string& path, uint64_t maxBytes) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer forever; the descriptor is checked to be a regular file before
    // anything is read, and reads of regular files ignore the flag.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw Error(cannotOpen(path, errno, "open"));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};

    struct stat info {};
    if (::fstat(fd, &info) != 0) throw Error(cannotOpen(path, errno, "examine"));
    if (!S_ISREG(info.st_mode)) {
        throw Error(shortened(path) + " is not a regular file (it is " + fileKind(info.st_mode) + ")");
    }
    const auto size = static_cast<uint64_t>(info.st_size);
    if (size > maxBytes) {
        throw Error(path + ": file is " + std::to_string(size) + " bytes, more than the limit of " +
                    std::to_string(maxBytes));
    }
    std::vector<uint8_t> bytes(static_cast<std::size_t>(size));
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw Error(path + ": read failed: " + errnoText(errno));
        }
        if (got == 0) {
            throw Error(path + ": file shrank while it was being read");
        }
        done += static_cast<std::size_t>(got);
    }
    return bytes;
}

uint64_t fileSize(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) throw Error(cannotOpen(path, errno, "examine"));
    return static_cast<uint64_t>(info.st_size);
}

} // namespace exitscope::core
