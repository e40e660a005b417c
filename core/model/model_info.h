#pragma once

#include "core/data/dataset.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// Everything needed to rebuild a model and feed it: the zoo name, its
/// construction options, the input shape, class names and normalisation.
/// Saved inside every checkpoint and echoed into every trace.
struct ModelSpec {
    std::string name;                  ///< zoo name: "msdnet", "resnet-spinn", "vgg-fine"
    nlohmann::json options = nlohmann::json::object();  ///< construction options (widths, depth, ...)
    int64_t channels = 1;
    int64_t height = 28;
    int64_t width = 28;
    std::vector<std::string> classNames;
    Normalisation normalisation;
    std::string dataset;               ///< data set the weights were trained on
    std::string weightsHash;           ///< fnv1a64 of all parameters and buffers, hex

    int64_t numClasses() const { return static_cast<int64_t>(classNames.size()); }

    nlohmann::json toJson() const;
    /// Throws Error naming `where` when a field is missing or has a bad value.
    static ModelSpec fromJson(const nlohmann::json& j, const std::string& where);
};

/// Cost of one backbone block, counted from layer shapes on a dry run.
struct BlockCost {
    std::string name;
    int64_t macs = 0;      ///< multiply-accumulates per sample
    int64_t params = 0;
    int64_t outBytes = 0;  ///< fp32 bytes of the state leaving the block, per sample
    bool relu = false;     ///< boundary follows a ReLU: a split candidate
};

/// Cost of one exit head (classifier branch) and where it sits.
struct ExitCost {
    std::string name;
    int64_t afterBlock = 0;  ///< the head reads the state leaving this block
    int64_t macs = 0;
    int64_t params = 0;
};

/// Per-block and per-exit costs of a multi-exit model, with the cumulative
/// figures the policies use (reaching exit k runs blocks 0..afterBlock and
/// every head up to and including k).
struct ModelCosts {
    std::vector<BlockCost> blocks;
    std::vector<ExitCost> exits;

    int64_t backboneMacs() const;
    int64_t cumulativeExitMacs(std::size_t k) const;
    int64_t cumulativeExitParams(std::size_t k) const;
    /// Fraction of the backbone's MACs spent before exit k's head.
    double backboneFractionAtExit(std::size_t k) const;
};

} // namespace exitscope::core
