#include "core/data/gzip.h"

#include "core/common/error.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <system_error>

namespace exitscope::core {

namespace {

namespace fs = std::filesystem;

// zlib counts in uInt (32 bits); larger buffers are fed and drained in pieces.
constexpr std::size_t kMaxZlibChunk = std::size_t{1} << 30;
// Deflate cannot expand data by more than about 1032:1, which bounds how far
// we trust the size a gzip trailer claims before any data is inflated.
constexpr uint64_t kMaxDeflateRatio = 1032;

struct InflateGuard {
    z_stream* zs;
    ~InflateGuard() { inflateEnd(zs); }
};

} // namespace

std::vector<uint8_t> readRawFile(const std::string& path, uint64_t maxBytes) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw Error(path + ": is a directory, expected a file");
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                          &std::fclose);
    if (!file) throw Error(path + ": cannot open file (" + std::strerror(errno) + ")");
    const uintmax_t size = fs::file_size(path, ec);
    if (ec) throw Error(path + ": cannot determine file size (" + ec.message() + ")");
    if (size > maxBytes) {
        throw Error(path + ": file is " + std::to_string(size) + " bytes, over the limit of " +
                    std::to_string(maxBytes) + " bytes");
    }
    std::vector<uint8_t> bytes(static_cast<std::size_t>(size));
    const std::size_t got = std::fread(bytes.data(), 1, bytes.size(), file.get());
    if (got != bytes.size()) {
        const bool failed = std::ferror(file.get()) != 0;
        throw Error(path + ": " +
                    (failed ? std::string("read error (") + std::strerror(errno) + ")"
                            : "file shrank while being read") +
                    " after " + std::to_string(got) + " of " + std::to_string(size) + " bytes");
    }
    return bytes;
}

bool hasGzipMagic(const uint8_t* data, std::size_t size) {
    return size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

std::vector<uint8_t> gunzip(const uint8_t* data, std::size_t size, uint64_t maxBytes,
                            const std::string& path) {
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        throw Error(path + ": cannot initialise zlib inflate");
    }
    InflateGuard guard{&zs};

    // Start from the trailer's size hint (mod 2^32, possibly a lie), bounded by
    // what the compressed size could produce, so a forged trailer cannot make
    // us allocate up front; the buffer otherwise grows as data really arrives.
    uint64_t hint = std::max<uint64_t>(size * 4, 1 << 16);
    if (size >= 18) {
        const uint8_t* t = data + size - 4;
        const uint64_t isize = uint64_t{t[0]} | uint64_t{t[1]} << 8 | uint64_t{t[2]} << 16 |
                               uint64_t{t[3]} << 24;
        hint = isize + 1;  // room to see the end of the stream without growing
    }
    // One byte more than allowed is how "over the limit" shows up.
    const uint64_t limit =
        maxBytes == std::numeric_limits<uint64_t>::max() ? maxBytes : maxBytes + 1;
    hint = std::min({hint, limit, static_cast<uint64_t>(size) * kMaxDeflateRatio + 1024});
    std::vector<uint8_t> out(static_cast<std::size_t>(hint));

    std::size_t inPos = 0;
    std::size_t outPos = 0;
    auto overLimit = [&] {
        return Error(path + ": inflated data exceeds the limit of " + std::to_string(maxBytes) +
                     " bytes (gzip bomb or wrong file?)");
    };
    for (;;) {
        if (zs.avail_in == 0 && inPos < size) {
            const std::size_t n = std::min(size - inPos, kMaxZlibChunk);
            zs.next_in = const_cast<Bytef*>(data + inPos);
            zs.avail_in = static_cast<uInt>(n);
            inPos += n;
        }
        if (outPos == out.size()) {
            if (out.size() >= limit) throw overLimit();
            out.resize(static_cast<std::size_t>(std::min<uint64_t>(limit, out.size() * 2)));
        }
        const std::size_t room = std::min(out.size() - outPos, kMaxZlibChunk);
        zs.next_out = out.data() + outPos;
        zs.avail_out = static_cast<uInt>(room);
        const int rc = inflate(&zs, Z_NO_FLUSH);
        outPos += room - zs.avail_out;
        if (outPos > maxBytes) throw overLimit();

        if (rc == Z_STREAM_END) {
            // A gzip file may hold several members back to back (as `cat a.gz
            // b.gz` makes); zero padding after the last one is harmless.
            const std::size_t rest = zs.avail_in + (size - inPos);
            const uint8_t* next = data + (size - rest);
            if (hasGzipMagic(next, rest)) {
                inflateReset(&zs);
                continue;
            }
            if (std::all_of(next, next + rest, [](uint8_t b) { return b == 0; })) break;
            throw Error(path + ": " + std::to_string(rest) +
                        " bytes of trailing garbage after the gzip stream");
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR) {
            if (zs.avail_in == 0 && inPos == size) {
                throw Error(path + ": truncated gzip stream (input ended after " +
                            std::to_string(size) + " compressed bytes, " +
                            std::to_string(outPos) + " bytes inflated)");
            }
            continue;  // only out of output room; the loop grows the buffer
        }
        if (rc == Z_DATA_ERROR) {
            throw Error(path + ": corrupt gzip data (" +
                        std::string(zs.msg ? zs.msg : "invalid deflate stream") + ")");
        }
        if (rc == Z_MEM_ERROR) throw Error(path + ": out of memory while inflating");
        throw Error(path + ": zlib inflate failed with code " + std::to_string(rc));
    }
    out.resize(outPos);
    if (out.capacity() - outPos > outPos / 4) out.shrink_to_fit();
    return out;
}

std::vector<uint8_t> readMaybeGzipped(const std::string& path, uint64_t maxBytes) {
    // A compressed file is never much larger than its content; allow a little
    // slack for headers and incompressible data.
    const uint64_t maxCompressed =
        maxBytes > std::numeric_limits<uint64_t>::max() / 2 ? maxBytes
                                                            : maxBytes + maxBytes / 64 + 4096;
    std::vector<uint8_t> bytes = readRawFile(path, maxCompressed);
    if (!hasGzipMagic(bytes.data(), bytes.size())) {
        if (bytes.size() > maxBytes) {
            throw Error(path + ": file is " + std::to_string(bytes.size()) +
                        " bytes, over the limit of " + std::to_string(maxBytes) + " bytes");
        }
        return bytes;
    }
    return gunzip(bytes.data(), bytes.size(), maxBytes, path);
}

} // namespace exitscope::core
