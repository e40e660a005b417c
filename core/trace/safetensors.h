#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace exitscope::core {

/// Element types of the safetensors format (little-endian; BOOL is one byte).
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

/// Bytes per element of `dtype`.
std::size_t dtypeSize(DType dtype);
/// The name used in safetensors headers: "F32", "I64", "BOOL", ...
const char* dtypeName(DType dtype);
/// Parses a header dtype name; returns false for unknown names.
bool parseDType(const std::string& name, DType& dtype);

/// One tensor's entry in a safetensors header, already checked against the
/// file: its bytes are [begin, end) of the data area and end - begin is
/// exactly numel * dtypeSize(dtype).
struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t numel = 0;
    uint64_t begin = 0;
    uint64_t end = 0;
};

/// A safetensors file held in memory, every header entry validated before
/// any of it is used: header length, JSON syntax and nesting, entry types,
/// dtypes, shapes (no negative dimension, no 64-bit overflow), offsets
/// (ordered, inside the data area, matching the shape, not overlapping) and
/// string-only metadata. Any problem throws Error naming the file.
class SafeTensorsFile {
public:
    /// Largest header accepted (the format allows no more than 100 MiB).
    static constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
    /// Default cap on the file size read into memory.
    static constexpr uint64_t kDefaultMaxFileBytes = 16ull << 30;

    /// Reads the whole file in one go and validates it.
    static SafeTensorsFile read(const std::string& path,
                                uint64_t maxFileBytes = kDefaultMaxFileBytes);
    /// Validates an in-memory image of a file; `where` names it in errors.
    static SafeTensorsFile fromBytes(std::vector<uint8_t> bytes, const std::string& where);

    const std::string& where() const { return m_where; }
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    /// Tensors by name.
    const std::map<std::string, TensorInfo>& tensors() const { return m_tensors; }

    bool contains(const std::string& name) const { return m_tensors.count(name) != 0; }
    /// The tensor `name`; throws Error naming the file when it is absent.
    const TensorInfo& tensor(const std::string& name) const;
    /// First byte of a tensor's data (not necessarily aligned for T; copy it).
    const uint8_t* data(const TensorInfo& info) const { return m_bytes.data() + m_dataStart + info.begin; }

    /// Copies a tensor's elements; throws Error when sizeof(T) differs from
    /// the tensor's element size.
    template <typename T>
    std::vector<T> values(const TensorInfo& info) const {
        checkElementSize(info, sizeof(T));
        std::vector<T> out(static_cast<std::size_t>(info.numel));
        if (!out.empty()) {
            std::memcpy(out.data(), data(info), static_cast<std::size_t>(info.end - info.begin));
        }
        return out;
    }

private:
    void parseHeader();
    void checkElementSize(const TensorInfo& info, std::size_t size) const;

    std::string m_where;
    std::vector<uint8_t> m_bytes;
    uint64_t m_dataStart = 0;
    std::map<std::string, TensorInfo> m_tensors;
    std::map<std::string, std::string> m_metadata;
};

/// Builds a safetensors file from tensors and string metadata and writes it
/// atomically. Tensors are laid out contiguously, widest dtype first and
/// then by name, so each one is aligned to its element size and the file is
/// also accepted by the Python `safetensors` package (which rejects gaps).
/// The tensor bytes are referenced, not copied: keep them alive until
/// write() returns.
class SafeTensorsWriter {
public:
    /// Adds a tensor; throws Error when the name is empty, "__metadata__" or
    /// already used, a dimension is negative, or `byteCount` is not
    /// numel * dtypeSize(dtype).
    void addTensor(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                   const void* bytes, std::size_t byteCount);

    void add(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& v) {
        addTensor(name, DType::F32, shape, v.data(), v.size() * sizeof(float));
    }
    void add(const std::string& name, const std::vector<int64_t>& shape, const std::vector<double>& v) {
        addTensor(name, DType::F64, shape, v.data(), v.size() * sizeof(double));
    }
    void add(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int64_t>& v) {
        addTensor(name, DType::I64, shape, v.data(), v.size() * sizeof(int64_t));
    }
    void add(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int32_t>& v) {
        addTensor(name, DType::I32, shape, v.data(), v.size() * sizeof(int32_t));
    }
    void add(const std::string& name, const std::vector<int64_t>& shape, const std::vector<uint8_t>& v) {
        addTensor(name, DType::U8, shape, v.data(), v.size());
    }

    void setMetadata(const std::string& key, const std::string& value) { m_metadata[key] = value; }

    /// The 8-byte length, the space-padded JSON header and the data.
    std::vector<uint8_t> toBytes() const;
    /// Writes the file through writeFileAtomically; throws Error naming `path`.
    void write(const std::string& path) const;

private:
    struct Entry {
        std::string name;
        DType dtype;
        std::vector<int64_t> shape;
        const void* bytes;
        std::size_t byteCount;
    };
    /// The length prefix and header, and the entries in file order.
    std::string headerBlock(std::vector<const Entry*>& order) const;

    std::vector<Entry> m_entries;
    std::map<std::string, std::string> m_metadata;
};

} // namespace exitscope::core
