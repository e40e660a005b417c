#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace exitscope::core {

/// What `profile-splits` measured at every split candidate, kept per sample
/// where a figure is a statistic over samples, so that shards measured on
/// several machines merge into exactly the file one process writes.
struct SplitsMeasurement {
    std::vector<int64_t> splitBlock;     ///< split_block [S]
    std::vector<int64_t> rawBytes;       ///< raw_bytes [S], fp32 bytes of the state
    int64_t numSamples = 0;              ///< n
    std::vector<int64_t> encodedBytes;   ///< encoded_bytes [S, n], the codec's payload per sample
    std::vector<int64_t> correctAfter;   ///< correct_after_transfer [S], final exit right after decoding
    std::vector<int64_t> agreeing;       ///< agreeing_predictions [S], final prediction unchanged by transfer
    int64_t correctWithout = 0;          ///< correct_without_transfer
    std::vector<double> encodeMsSum;     ///< encode_ms_sum [S], timing: summed over the samples
    std::vector<double> decodeMsSum;     ///< decode_ms_sum [S]
    std::map<std::string, std::string> metadata;
};

/// The figures the split scheduler reads, computed from a measurement.
struct SplitsSummary {
    std::vector<double> meanBytes, p95Bytes, encodeMs, decodeMs, accuracyAfter, agreement;
    double accuracyWithout = 0;
};
SplitsSummary summarise(const SplitsMeasurement& m);

/// Writes the split profile (format "exitscope-splits"): the summary
/// (encoded_bytes_mean, encoded_bytes_p95, encode_ms, decode_ms,
/// final_accuracy_after_transfer, final_prediction_agreement,
/// final_accuracy_without_transfer) and the measurement it came from.
void writeSplitsFile(const SplitsMeasurement& m, const std::string& path);

/// Reads a split profile with its per-sample measurement; Error naming the
/// file when it is not one, or was written before the measurement was kept.
SplitsMeasurement readSplitsFile(const std::string& path);

} // namespace exitscope::core
