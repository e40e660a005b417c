#pragma once

#include "core/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace exitscope::core {

/// The kinds of shifted data `profile --corrupt` makes (after Hendrycks and
/// Dietterich's ImageNet-C, scaled to small images), each at severities 1..5.
enum class CorruptionKind { GaussianNoise, Blur, Brightness, Contrast, Jpeg, Pixelate, Rotate };

/// One corruption at one severity; `seed` makes the random parts (noise,
/// the direction of a rotation) reproducible.
struct Corruption {
    CorruptionKind kind = CorruptionKind::GaussianNoise;
    int severity = 1;  ///< 1 (mild) .. 5 (strong)
    uint64_t seed = 0;
};

/// The names `--corrupt` takes: gaussian-noise, blur, brightness, contrast,
/// jpeg, pixelate, rotate.
const std::vector<std::string>& corruptionNames();
/// Parses "NAME:SEVERITY"; Error naming the text, the known names and the
/// range 1..5 otherwise.
Corruption parseCorruption(const std::string& text, uint64_t seed = 0);
/// "NAME:SEVERITY".
std::string toString(const Corruption& c);

/// What each severity means, for the help and the docs: the noise sigma, the
/// blur sigma, the brightness shift, the contrast factor, the JPEG quality,
/// the pixelation scale or the rotation angle in degrees.
double corruptionParameter(CorruptionKind kind, int severity);

/// Corrupts one image (channels x height x width bytes, the ImageSet layout)
/// in place. `sampleKey` (the image's index in its set) seeds the random
/// parts together with c.seed, so the same image always gets the same
/// corruption, in any order and any shard.
void corruptImage(uint8_t* pixels, int64_t channels, int64_t height, int64_t width, const Corruption& c,
                  int64_t sampleKey);

/// Corrupts the images `indices` of `images` in place (the others stay as
/// they are). Runs on the calling thread; about 10 us per 28x28 image.
void corruptImages(ImageSet& images, const std::vector<int64_t>& indices, const Corruption& c);

} // namespace exitscope::core
