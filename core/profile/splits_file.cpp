#include "core/profile/splits_file.h"

#include "core/common/error.h"
#include "core/trace/safetensors.h"

#include <algorithm>
#include <cmath>

namespace exitscope::core {

namespace {

constexpr const char* kSplitsFormat = "exitscope-splits";

void checkSizes(const SplitsMeasurement& m, const std::string& where) {
    const std::size_t S = m.splitBlock.size(), n = static_cast<std::size_t>(m.numSamples);
    if (S == 0) throw Error(where + ": no split candidate");
    if (m.numSamples < 1) throw Error(where + ": no sample measured");
    if (m.rawBytes.size() != S || m.correctAfter.size() != S || m.agreeing.size() != S || m.encodeMsSum.size() != S ||
        m.decodeMsSum.size() != S || m.encodedBytes.size() != S * n)
        throw Error(where + ": the per-split figures differ in length from split_block (" + std::to_string(S) + ")");
    for (std::size_t c = 0; c < S; ++c)
        if (m.correctAfter[c] < 0 || m.correctAfter[c] > m.numSamples || m.agreeing[c] < 0 || m.agreeing[c] > m.numSamples)
            throw Error(where + ": a count is outside 0.." + std::to_string(m.numSamples));
    if (m.correctWithout < 0 || m.correctWithout > m.numSamples)
        throw Error(where + ": correct_without_transfer is outside 0.." + std::to_string(m.numSamples));
    for (auto b : m.encodedBytes)
        if (b < 0) throw Error(where + ": encoded_bytes holds a negative size");
}

std::vector<int64_t> ints(const SafeTensorsFile& file, const std::string& name) {
    const auto& t = file.tensor(name);
    if (t.dtype != DType::I64) throw Error(file.where() + ": " + name + " is " + dtypeName(t.dtype) + ", not I64");
    return file.values<int64_t>(t);
}

std::vector<double> doubles(const SafeTensorsFile& file, const std::string& name) {
    const auto& t = file.tensor(name);
    if (t.dtype != DType::F64) throw Error(file.where() + ": " + name + " is " + dtypeName(t.dtype) + ", not F64");
    return file.values<double>(t);
}

} // namespace

SplitsSummary summarise(const SplitsMeasurement& m) {
    checkSizes(m, "split profile");
    SplitsSummary s;
    const auto S = m.splitBlock.size();
    const auto n = static_cast<std::size_t>(m.numSamples);
    const double N = static_cast<double>(m.numSamples);
    for (std::size_t c = 0; c < S; ++c) {
        std::vector<int64_t> sizes(m.encodedBytes.begin() + static_cast<std::ptrdiff_t>(c * n),
                                   m.encodedBytes.begin() + static_cast<std::ptrdiff_t>((c + 1) * n));
        std::sort(sizes.begin(), sizes.end());
        double sum = 0;
        for (auto v : sizes) sum += static_cast<double>(v);
        const auto rank = static_cast<std::size_t>(std::ceil(0.95 * N)) - 1;
        s.meanBytes.push_back(sum / N);
        s.p95Bytes.push_back(static_cast<double>(sizes[rank]));
        s.encodeMs.push_back(m.encodeMsSum[c] / N);
        s.decodeMs.push_back(m.decodeMsSum[c] / N);
        s.accuracyAfter.push_back(static_cast<double>(m.correctAfter[c]) / N);
        s.agreement.push_back(static_cast<double>(m.agreeing[c]) / N);
    }
    s.accuracyWithout = static_cast<double>(m.correctWithout) / N;
    return s;
}

void writeSplitsFile(const SplitsMeasurement& m, const std::string& path) {
    const auto s = summarise(m);
    const std::vector<int64_t> shape{static_cast<int64_t>(m.splitBlock.size())};
    const std::vector<double> without{s.accuracyWithout};
    const std::vector<int64_t> correctWithout{m.correctWithout};
    SafeTensorsWriter writer;
    writer.add("split_block", shape, m.splitBlock);
    writer.add("raw_bytes", shape, m.rawBytes);
    writer.add("encoded_bytes_mean", shape, s.meanBytes);
    writer.add("encoded_bytes_p95", shape, s.p95Bytes);
    writer.add("encode_ms", shape, s.encodeMs);
    writer.add("decode_ms", shape, s.decodeMs);
    writer.add("final_accuracy_after_transfer", shape, s.accuracyAfter);
    writer.add("final_prediction_agreement", shape, s.agreement);
    writer.add("final_accuracy_without_transfer", {1}, without);
    writer.add("encoded_bytes", {shape[0], m.numSamples}, m.encodedBytes);
    writer.add("correct_after_transfer", shape, m.correctAfter);
    writer.add("agreeing_predictions", shape, m.agreeing);
    writer.add("correct_without_transfer", {1}, correctWithout);
    writer.add("encode_ms_sum", shape, m.encodeMsSum);
    writer.add("decode_ms_sum", shape, m.decodeMsSum);
    for (const auto& [k, v] : m.metadata) writer.setMetadata(k, v);
    writer.setMetadata("format", kSplitsFormat);
    writer.setMetadata("samples", std::to_string(m.numSamples));
    writer.write(path);
}

SplitsMeasurement readSplitsFile(const std::string& path) {
    const auto file = SafeTensorsFile::read(path);
    const auto& meta = file.metadata();
    const auto format = meta.find("format");
    if (format == meta.end() || format->second != kSplitsFormat)
        throw Error(path + ": not a split profile (metadata format is not '" + std::string(kSplitsFormat) + "')");
    if (!file.contains("encoded_bytes"))
        throw Error(path + ": a split profile without its per-sample measurement (written before it was kept); "
                           "measure it again with profile-splits");
    SplitsMeasurement m;
    m.metadata = meta;
    m.splitBlock = ints(file, "split_block");
    m.rawBytes = ints(file, "raw_bytes");
    const auto& enc = file.tensor("encoded_bytes");
    if (enc.shape.size() != 2 || enc.shape[0] != static_cast<int64_t>(m.splitBlock.size()))
        throw Error(path + ": encoded_bytes is not [split candidates, samples]");
    m.numSamples = enc.shape[1];
    m.encodedBytes = ints(file, "encoded_bytes");
    m.correctAfter = ints(file, "correct_after_transfer");
    m.agreeing = ints(file, "agreeing_predictions");
    const auto without = ints(file, "correct_without_transfer");
    if (without.size() != 1) throw Error(path + ": correct_without_transfer is not one number");
    m.correctWithout = without[0];
    m.encodeMsSum = doubles(file, "encode_ms_sum");
    m.decodeMsSum = doubles(file, "decode_ms_sum");
    checkSizes(m, path);
    return m;
}

} // namespace exitscope::core
