#include "core/common/zip_check.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/format.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <vector>

namespace exitscope::core {

namespace {

uint64_t le(const uint8_t* p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

class ZipFile {
public:
    explicit ZipFile(const std::string& path) : m_path(path), m_in(path, std::ios::binary) {
        if (!m_in) throw Error(shortened(path) + ": cannot open the file");
        m_in.seekg(0, std::ios::end);
        m_size = static_cast<uint64_t>(m_in.tellg());
    }

    uint64_t size() const { return m_size; }

    std::vector<uint8_t> read(uint64_t offset, uint64_t bytes, const char* what) {
        if (offset > m_size || bytes > m_size - offset) fail(std::string(what) + " lies beyond the end of the file");
        std::vector<uint8_t> out(static_cast<std::size_t>(bytes));
        m_in.seekg(static_cast<std::streamoff>(offset));
        m_in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(bytes));
        if (!m_in) fail(std::string("cannot read ") + what);
        return out;
    }

    uint32_t crcOf(uint64_t offset, uint64_t bytes) {
        uLong crc = crc32(0L, Z_NULL, 0);
        std::vector<char> buf(1 << 20);
        m_in.seekg(static_cast<std::streamoff>(offset));
        while (bytes > 0) {
            const auto n = static_cast<std::size_t>(std::min<uint64_t>(bytes, buf.size()));
            m_in.read(buf.data(), static_cast<std::streamsize>(n));
            if (!m_in) fail("cannot read an entry's data");
            crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(n));
            bytes -= n;
        }
        return static_cast<uint32_t>(crc);
    }

    [[noreturn]] void fail(const std::string& why) const {
        throw Error(shortened(m_path) + ": damaged or not a zip archive: " + why);
    }

private:
    std::string m_path;
    std::ifstream m_in;
    uint64_t m_size = 0;
};

} // namespace

void checkZipIntegrity(const std::string& path) {
    requireRegularFile(path);
    ZipFile zip(path);
    // The end-of-central-directory record: 22 bytes plus a comment of up to 65,535.
    const uint64_t tail = std::min<uint64_t>(zip.size(), 22 + 65535);
    if (tail < 22) zip.fail("too short to hold a zip directory");
    const auto end = zip.read(zip.size() - tail, tail, "the directory");
    std::size_t eocd = std::string::npos;
    for (std::size_t i = end.size() - 22 + 1; i-- > 0;)
        if (le(&end[i], 4) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == std::string::npos) zip.fail("no end-of-central-directory record");
    uint64_t entries = le(&end[eocd + 10], 2);
    uint64_t dirSize = le(&end[eocd + 12], 4);
    uint64_t dirOffset = le(&end[eocd + 16], 4);
    if (entries == 0xFFFF || dirSize == 0xFFFFFFFF || dirOffset == 0xFFFFFFFF) {
        // zip64: a locator just before the record points at the zip64 record.
        const uint64_t eocdAt = zip.size() - tail + eocd;
        if (eocdAt < 20) zip.fail("no zip64 locator");
        const auto loc = zip.read(eocdAt - 20, 20, "the zip64 locator");
        if (le(loc.data(), 4) != 0x07064b50) zip.fail("no zip64 locator");
        const auto rec = zip.read(le(&loc[8], 8), 56, "the zip64 directory record");
        if (le(rec.data(), 4) != 0x06064b50) zip.fail("bad zip64 directory record");
        entries = le(&rec[32], 8);
        dirSize = le(&rec[40], 8);
        dirOffset = le(&rec[48], 8);
    }
    const auto dir = zip.read(dirOffset, dirSize, "the central directory");
    if (entries > dir.size() / 46) zip.fail("the directory counts more entries than it holds");
    std::size_t at = 0;
    for (uint64_t e = 0; e < entries; ++e) {
        if (at + 46 > dir.size() || le(&dir[at], 4) != 0x02014b50) zip.fail("directory entry " + std::to_string(e) + " is damaged");
        const uint64_t method = le(&dir[at + 10], 2);
        const auto crc = static_cast<uint32_t>(le(&dir[at + 16], 4));
        uint64_t compressed = le(&dir[at + 20], 4);
        uint64_t uncompressed = le(&dir[at + 24], 4);
        const uint64_t nameLen = le(&dir[at + 28], 2), extraLen = le(&dir[at + 30], 2), commentLen = le(&dir[at + 32], 2);
        uint64_t local = le(&dir[at + 42], 4);
        if (at + 46 + nameLen + extraLen + commentLen > dir.size()) zip.fail("directory entry " + std::to_string(e) + " is cut");
        const std::string name(reinterpret_cast<const char*>(&dir[at + 46]), static_cast<std::size_t>(nameLen));
        // zip64 sizes and offset, in this order, for the fields that are 0xFFFFFFFF.
        for (std::size_t x = at + 46 + nameLen; x + 4 <= at + 46 + nameLen + extraLen;) {
            const uint64_t id = le(&dir[x], 2), len = le(&dir[x + 2], 2);
            if (x + 4 + len > at + 46 + nameLen + extraLen) break;
            if (id == 0x0001) {
                std::size_t f = x + 4;
                auto next = [&](uint64_t& v) {
                    if (v != 0xFFFFFFFF) return;
                    if (f + 8 > x + 4 + len) zip.fail("entry '" + printable(name) + "' has a short zip64 field");
                    v = le(&dir[f], 8);
                    f += 8;
                };
                next(uncompressed);
                next(compressed);
                next(local);
            }
            x += 4 + len;
        }
        const auto header = zip.read(local, 30, "an entry's local header");
        if (le(header.data(), 4) != 0x04034b50) zip.fail("entry '" + printable(name) + "' has no local header");
        const uint64_t data = local + 30 + le(&header[26], 2) + le(&header[28], 2);
        if (data > zip.size() || compressed > zip.size() - data)
            zip.fail("entry '" + printable(name) + "' lies beyond the end of the file");
        if (method == 0) {
            if (compressed != uncompressed) zip.fail("stored entry '" + printable(name) + "' has two sizes");
            if (zip.crcOf(data, compressed) != crc) zip.fail("entry '" + printable(name) + "' fails its CRC-32 check");
        }
        at += 46 + nameLen + extraLen + commentLen;
    }
}

} // namespace exitscope::core
