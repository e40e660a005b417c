#pragma once

#include "core/trace/trace.h"

#include <memory>
#include <string>

namespace exitscope::test {

// Four samples, three exits, three classes, one gate feature per exit.
// Max softmax (prediction) per sample and exit, worked out by hand:
//   s0 (label 0): 0.6 (0)  0.4 (0, tie 0/1)  0.9 (0)
//   s1 (label 1): 0.5 (0)  0.8 (1)           0.9 (1)
//   s2 (label 2): 0.6 (2)  0.5 (1)           0.8 (2)
//   s3 (label 1): 0.7 (0)  0.7 (1)           0.8 (1)
// Gate inputs: positive means "leave" for gates with weight 1, bias 0:
//   s0 +1 at exit 0; s1 -1, +1; s2 -1, -1; s3 +1 at exit 0.
inline core::Trace explorerTrace(const std::string& split) {
    core::Trace t;
    t.numSamples = 4;
    t.numExits = 3;
    t.numClasses = 3;
    t.numBlocks = 3;
    t.gateDim = 1;
    t.probs = {
        0.6f, 0.3f, 0.1f,   0.4f, 0.4f, 0.2f,   0.9f, 0.05f, 0.05f,
        0.5f, 0.4f, 0.1f,   0.1f, 0.8f, 0.1f,   0.05f, 0.9f, 0.05f,
        0.2f, 0.2f, 0.6f,   0.3f, 0.5f, 0.2f,   0.1f, 0.1f, 0.8f,
        0.7f, 0.2f, 0.1f,   0.2f, 0.7f, 0.1f,   0.1f, 0.8f, 0.1f,
    };
    t.labels = {0, 1, 2, 1};
    t.sampleIndex = {10, 11, 12, 13};
    t.exitMacs = {1'500'000, 4'000'000, 9'250'000};
    t.exitParams = {2'000, 5'500, 12'000};
    t.exitMs = {0.125f, 0.25f, 0.5f};
    t.exitBlock = {0, 1, 2};
    t.blockMacs = {1'000'000, 2'000'000, 5'000'000};
    t.blockParams = {1'000, 3'000, 6'000};
    t.blockMs = {0.1f, 0.1f, 0.2f};
    t.blockOutBytes = {4096, 2048, 1024};
    t.blockRelu = {1, 1, 0};
    t.headMacs = {500'000, 500'000, 1'250'000};
    t.headParams = {1'000, 500, 1'000};
    t.headMs = {0.025f, 0.025f, 0.05f};
    t.gateInputs = {1, 0, 0,   -1, 1, 0,   -1, -1, 0,   1, 0, 0};
    t.gateDims = {1, 1, 1};
    t.metadata = {{"model", "msdnet"},
                  {"weights_hash", "00ff00ff00ff00ff"},
                  {"dataset", "no-such-dataset-for-tests"},
                  {"split", split},
                  {"class_names", "[\"zero\",\"one\",\"two\"]"}};
    return t;
}

inline std::shared_ptr<const core::Trace> sharedTrace(const std::string& split) {
    return std::make_shared<const core::Trace>(explorerTrace(split));
}

} // namespace exitscope::test
