#include "core/trace/safetensors.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <ostream>
#include <set>

// Tensor bytes are copied to and from memory as they are; the format is
// little-endian, so a big-endian host would need byte swapping first.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors I/O assumes a little-endian host");

namespace exitscope::core {
namespace {

using Json = nlohmann::json;

struct DTypeRow {
    DType dtype;
    const char* name;
    std::size_t size;
};

constexpr DTypeRow kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2}, {DType::I8, "I8", 1}, {DType::U64, "U64", 8},
    {DType::U32, "U32", 4}, {DType::U16, "U16", 2}, {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeRow& rowOf(DType dtype) {
    for (const DTypeRow& row : kDTypes) {
        if (row.dtype == dtype) {
            return row;
        }
    }
    throw Error("unknown safetensors dtype");
}

// The real header is three levels deep; anything much deeper is hostile or
// broken, and refusing it early bounds the parser's work.
constexpr int kMaxHeaderDepth = 16;

std::string shapeText(const std::vector<int64_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        text += (i ? ", " : "") + std::to_string(shape[i]);
    }
    return text + "]";
}

// Returns false on overflow so callers can name the offending tensor.
bool checkedByteCount(const std::vector<int64_t>& shape, std::size_t elementSize,
                      uint64_t& numel, uint64_t& bytes) {
    numel = 1;
    for (int64_t dim : shape) {
        if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dim), &numel)) {
            return false;
        }
    }
    return !__builtin_mul_overflow(numel, static_cast<uint64_t>(elementSize), &bytes);
}

} // namespace

std::size_t dtypeSize(DType dtype) { return rowOf(dtype).size; }

const char* dtypeName(DType dtype) { return rowOf(dtype).name; }

bool parseDType(const std::string& name, DType& dtype) {
    for (const DTypeRow& row : kDTypes) {
        if (name == row.name) {
            dtype = row.dtype;
            return true;
        }
    }
    return false;
}

SafeTensorsFile SafeTensorsFile::read(const std::string& path, uint64_t maxFileBytes) {
    return fromBytes(readFileBytes(path, maxFileBytes), path);
}

SafeTensorsFile SafeTensorsFile::fromBytes(std::vector<uint8_t> bytes, const std::string& where) {
    SafeTensorsFile file;
    file.m_where = where;
    file.m_bytes = std::move(bytes);
    file.parseHeader();
    return file;
}

const TensorInfo& SafeTensorsFile::tensor(const std::string& name) const {
    const auto it = m_tensors.find(name);
    if (it == m_tensors.end()) {
        throw Error(m_where + ": has no tensor '" + name + "'");
    }
    return it->second;
}

void SafeTensorsFile::checkElementSize(const TensorInfo& info, std::size_t size) const {
    if (dtypeSize(info.dtype) != size) {
        throw Error(m_where + ": tensor '" + info.name + "' has " + dtypeName(info.dtype) +
                    " elements, not " + std::to_string(size) + "-byte ones");
    }
}

void SafeTensorsFile::parseHeader() {
    const std::string& w = m_where;
    const uint64_t fileBytes = m_bytes.size();
    if (fileBytes < 8) {
        throw Error(w + ": file is " + std::to_string(fileBytes) +
                    " bytes, too short for a safetensors header length");
    }
    uint64_t headerBytes = 0;
    for (int i = 7; i >= 0; --i) {
        headerBytes = (headerBytes << 8) | m_bytes[static_cast<std::size_t>(i)];
    }
    if (headerBytes > kMaxHeaderBytes) {
        throw Error(w + ": header length " + std::to_string(headerBytes) +
                    " is larger than the 100 MiB limit");
    }
    if (headerBytes > fileBytes - 8) {
        throw Error(w + ": header length " + std::to_string(headerBytes) + " is larger than the " +
                    std::to_string(fileBytes - 8) + " bytes that follow it (truncated file?)");
    }
    m_dataStart = 8 + headerBytes;
    const uint64_t dataBytes = fileBytes - m_dataStart;

    const char* text = reinterpret_cast<const char*>(m_bytes.data() + 8);
    std::set<std::string> seenNames;
    const Json::parser_callback_t guard = [&](int depth, Json::parse_event_t event, Json& parsed) {
        if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
            depth >= kMaxHeaderDepth) {
            throw Error(w + ": header JSON is nested more than " + std::to_string(kMaxHeaderDepth) +
                        " levels deep");
        }
        // nlohmann keeps the last of duplicate keys silently; two entries for
        // one tensor name mean the file is ambiguous, so refuse it.
        if (event == Json::parse_event_t::key && depth == 1 &&
            !seenNames.insert(parsed.get<std::string>()).second) {
            throw Error(w + ": header names '" + parsed.get<std::string>() + "' twice");
        }
        return true;
    };
    Json header;
    try {
        header = Json::parse(text, text + headerBytes, guard);
    } catch (const Json::exception& e) {
        throw Error(w + ": header is not valid JSON: " + e.what());
    }
    if (!header.is_object()) {
        throw Error(w + ": header is not a JSON object");
    }

    struct Span {
        uint64_t begin, end;
        const std::string* name;
    };
    std::vector<Span> spans;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const Json& entry = it.value();
        if (name == "__metadata__") {
            if (!entry.is_object()) {
                throw Error(w + ": __metadata__ is not a JSON object");
            }
            for (auto m = entry.begin(); m != entry.end(); ++m) {
                if (!m.value().is_string()) {
                    throw Error(w + ": metadata value of '" + m.key() + "' is not a string");
                }
                m_metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string t = w + ": tensor '" + name + "'";
        if (!entry.is_object()) {
            throw Error(t + ": entry is not a JSON object");
        }
        const auto dtypeIt = entry.find("dtype");
        const auto shapeIt = entry.find("shape");
        const auto offsetsIt = entry.find("data_offsets");
        if (dtypeIt == entry.end() || shapeIt == entry.end() || offsetsIt == entry.end()) {
            throw Error(t + ": entry lacks " +
                        std::string(dtypeIt == entry.end() ? "dtype"
                                    : shapeIt == entry.end() ? "shape" : "data_offsets"));
        }
        TensorInfo info;
        info.name = name;
        if (!dtypeIt->is_string()) {
            throw Error(t + ": dtype is not a string");
        }
        if (!parseDType(dtypeIt->get<std::string>(), info.dtype)) {
            throw Error(t + ": unknown dtype '" + dtypeIt->get<std::string>() + "'");
        }
        if (!shapeIt->is_array()) {
            throw Error(t + ": shape is not an array");
        }
        for (const Json& dim : *shapeIt) {
            if (!dim.is_number_integer()) {
                throw Error(t + ": shape holds " + dim.dump() + ", not an integer");
            }
            if (dim.is_number_unsigned() ? dim.get<uint64_t>() > uint64_t(INT64_MAX)
                                         : dim.get<int64_t>() < 0) {
                throw Error(t + ": shape holds the invalid dimension " + dim.dump());
            }
            info.shape.push_back(dim.get<int64_t>());
        }
        uint64_t byteCount = 0;
        if (!checkedByteCount(info.shape, dtypeSize(info.dtype), info.numel, byteCount)) {
            throw Error(t + ": shape " + shapeText(info.shape) + " overflows 64 bits");
        }
        if (!offsetsIt->is_array() || offsetsIt->size() != 2) {
            throw Error(t + ": data_offsets is not an array of two integers");
        }
        for (const Json& offset : *offsetsIt) {
            if (!offset.is_number_unsigned()) {
                throw Error(t + ": data_offsets holds " + offset.dump() +
                            ", not a non-negative integer");
            }
        }
        info.begin = (*offsetsIt)[0].get<uint64_t>();
        info.end = (*offsetsIt)[1].get<uint64_t>();
        if (info.end < info.begin) {
            throw Error(t + ": data_offsets end " + std::to_string(info.end) + " is before begin " +
                        std::to_string(info.begin));
        }
        if (info.end > dataBytes) {
            throw Error(t + ": data_offsets end " + std::to_string(info.end) +
                        " is beyond the data area of " + std::to_string(dataBytes) + " bytes");
        }
        if (info.end - info.begin != byteCount) {
            throw Error(t + ": data_offsets span " + std::to_string(info.end - info.begin) +
                        " bytes but " + dtypeName(info.dtype) + " shape " + shapeText(info.shape) +
                        " needs " + std::to_string(byteCount));
        }
        auto& stored = m_tensors.emplace(name, std::move(info)).first->second;
        if (stored.end > stored.begin) {
            spans.push_back({stored.begin, stored.end, &stored.name});
        }
    }
    std::sort(spans.begin(), spans.end(),
              [](const Span& a, const Span& b) { return a.begin < b.begin; });
    for (std::size_t i = 1; i < spans.size(); ++i) {
        if (spans[i].begin < spans[i - 1].end) {
            throw Error(w + ": tensors '" + *spans[i - 1].name + "' and '" + *spans[i].name +
                        "' overlap in the data area");
        }
    }
}

void SafeTensorsWriter::addTensor(const std::string& name, DType dtype,
                                  const std::vector<int64_t>& shape, const void* bytes,
                                  std::size_t byteCount) {
    const std::string t = "safetensors tensor '" + name + "'";
    if (name.empty() || name == "__metadata__") {
        throw Error("safetensors tensor name '" + name + "' is not allowed");
    }
    for (const Entry& entry : m_entries) {
        if (entry.name == name) {
            throw Error(t + " is added twice");
        }
    }
    for (int64_t dim : shape) {
        if (dim < 0) {
            throw Error(t + " has a negative dimension in " + shapeText(shape));
        }
    }
    uint64_t numel = 0;
    uint64_t expected = 0;
    if (!checkedByteCount(shape, dtypeSize(dtype), numel, expected)) {
        throw Error(t + ": shape " + shapeText(shape) + " overflows 64 bits");
    }
    if (expected != byteCount) {
        throw Error(t + ": " + std::to_string(byteCount) + " bytes given but " + dtypeName(dtype) +
                    " shape " + shapeText(shape) + " needs " + std::to_string(expected));
    }
    if (bytes == nullptr && byteCount > 0) {
        throw Error(t + ": no data given");
    }
    m_entries.push_back({name, dtype, shape, bytes, byteCount});
}

std::string SafeTensorsWriter::headerBlock(std::vector<const Entry*>& order) const {
    order.clear();
    for (const Entry& entry : m_entries) {
        order.push_back(&entry);
    }
    // Widest elements first keeps every tensor aligned to its element size
    // without padding between tensors, which readers such as the Python
    // safetensors package would reject.
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        const std::size_t sa = dtypeSize(a->dtype);
        const std::size_t sb = dtypeSize(b->dtype);
        return sa != sb ? sa > sb : a->name < b->name;
    });
    Json header = Json::object();
    uint64_t offset = 0;
    for (const Entry* entry : order) {
        header[entry->name] = {{"dtype", dtypeName(entry->dtype)},
                               {"shape", entry->shape},
                               {"data_offsets", {offset, offset + entry->byteCount}}};
        offset += entry->byteCount;
    }
    if (!m_metadata.empty()) {
        header["__metadata__"] = m_metadata;
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const Json::exception& e) {
        throw Error(std::string("safetensors header cannot be encoded: ") + e.what());
    }
    // Padding to a multiple of 8 makes the data area start 8-byte aligned.
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string block(8, '\0');
    for (int i = 0; i < 8; ++i) {
        block[static_cast<std::size_t>(i)] = static_cast<char>((uint64_t(text.size()) >> (8 * i)) & 0xff);
    }
    return block + text;
}

std::vector<uint8_t> SafeTensorsWriter::toBytes() const {
    std::vector<const Entry*> order;
    const std::string header = headerBlock(order);
    std::vector<uint8_t> bytes(header.begin(), header.end());
    for (const Entry* entry : order) {
        const auto* data = static_cast<const uint8_t*>(entry->bytes);
        bytes.insert(bytes.end(), data, data + entry->byteCount);
    }
    return bytes;
}

void SafeTensorsWriter::write(const std::string& path) const {
    std::vector<const Entry*> order;
    const std::string header = headerBlock(order);
    writeFileAtomically(path, [&](std::ostream& out) {
        out.write(header.data(), static_cast<std::streamsize>(header.size()));
        for (const Entry* entry : order) {
            out.write(static_cast<const char*>(entry->bytes),
                      static_cast<std::streamsize>(entry->byteCount));
        }
    });
}

} // namespace exitscope::core
