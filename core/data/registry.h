#pragma once

#include "core/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// How loadDataset splits a data set and shapes image-folder images.
struct DatasetOptions {
    /// Train images set aside for validation; kAutoValidation: 5,000 when
    /// there are at least 50,000 train images, else 10% of them (see autoValidationSize).
    int64_t numVal = kAutoValidation;
    static constexpr int64_t kAutoValidation = -1;
    uint64_t seed = 0;      ///< chooses the validation (and image-folder test) images
    /// Image folders only: the shape images are converted to; 0 = 1 x 28 x 28.
    int64_t channels = 0, height = 0, width = 0;
};

/// The validation size kAutoValidation stands for with `numTrain` train images.
int64_t autoValidationSize(int64_t numTrain);

/// Loads a data set by name or directory, then carves its validation split.
///  - "fashion-mnist": the IDX files of Debian's dataset-fashion-mnist in
///    /usr/share/datasets/fashion-mnist (or $EXITSCOPE_FASHION_MNIST_DIR).
///  - a directory with train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte,
///    t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (classes "0".."9");
///  - a directory (or its cifar-10-batches-bin/) with CIFAR-10 binary
///    batches data_batch_1..5.bin and test_batch.bin;
///  - an image folder: train/ and test/ class-folder trees, or one
///    class-folder tree split 80/20 into train/test by the seed.
/// Throws Error, prefixed with nameOrPath, for unknown names, unrecognised
/// directories (listing what was looked for) and bad files.
Dataset loadDataset(const std::string& nameOrPath, const DatasetOptions& opts = {});

/// What a trace records to find `nameOrPath` again from anywhere: a
/// built-in name as it is, a directory as its absolute path (a relative one
/// only worked from the folder the profile ran in). Anything else unchanged.
std::string datasetReference(const std::string& nameOrPath);

/// The ten Fashion-MNIST class names, in label order.
std::vector<std::string> fashionMnistClassNames();

} // namespace exitscope::core
