// The bundled msdnet profiled on an image folder whose class folders are
// named after its classes: folders sort by name ("Ankle boot", "Bag", ...),
// the model lists them as Fashion-MNIST does, so without the mapping by
// name every label would mean another class. Each image keeps its original
// test index in its file name, so every profiled sample is checked against
// the bundled trace of the same image.
#include "core/common/error.h"
#include "core/data/class_match.h"
#include "core/data/registry.h"
#include "core/model/checkpoint.h"
#include "core/model/multi_exit_net.h"
#include "core/policy/confidence.h"
#include "core/profile/profiler.h"
#include "core/trace/trace.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace es = exitscope::core;
namespace fs = std::filesystem;

namespace {

std::string assetsDir() {
    const char* env = std::getenv("EXITSCOPE_ASSETS");
    return env ? env : std::string(EXITSCOPE_SOURCE_DIR) + "/assets";
}

std::string folderName(std::string className) {
    std::replace(className.begin(), className.end(), '/', '_');
    return className;
}

void writePgm(const fs::path& path, const uint8_t* pixels, int side) {
    std::ofstream out(path, std::ios::binary);
    out << "P5\n" << side << " " << side << "\n255\n";
    out.write(reinterpret_cast<const char*>(pixels), side * side);
}

} // namespace

TEST(ClassFolders, NamedAfterTheClassesTheyProfileAsTheBundledTraceDoes) {
    const std::string weights = assetsDir() + "/models/msdnet-fashion-mnist.pt";
    const std::string tracePath = assetsDir() + "/models/msdnet-fashion-mnist-test.safetensors";
    if (!fs::exists(weights) || !fs::exists(tracePath)) GTEST_SKIP() << "bundled assets missing: " << weights;
    es::Dataset fashion;
    try {
        fashion = es::loadDataset("fashion-mnist");
    } catch (const es::Error& e) {
        GTEST_SKIP() << "Fashion-MNIST not installed: " << e.what();
    }
    auto net = es::loadCheckpoint(weights, "msdnet");
    const auto bundled = es::readTrace(tracePath);

    // The first 200 images of the bundled trace, as train/ and test/ folders named after their classes.
    constexpr int64_t kImages = 200;
    const fs::path root = fs::temp_directory_path() / ("exitscope-class-folders-" + std::to_string(::getpid()));
    fs::remove_all(root);
    const auto& classes = fashion.testImages.classNames;
    for (int64_t n = 0; n < kImages; ++n) {
        const auto index = static_cast<std::size_t>(bundled.sampleIndex[static_cast<std::size_t>(n)]);
        const auto label = static_cast<std::size_t>(fashion.testImages.labels[index]);
        for (const char* part : {"train", "test"}) {
            const fs::path dir = root / part / folderName(classes[label]);
            fs::create_directories(dir);
            char file[32];
            std::snprintf(file, sizeof file, "%05lld.pgm", static_cast<long long>(n));
            writePgm(dir / file, fashion.testImages.image(index), 28);
        }
    }
    es::DatasetOptions options;
    options.channels = 1;
    options.height = options.width = 28;
    es::Dataset folder = es::loadDataset(root.string(), options);
    ASSERT_NE(folder.testImages.classNames, net->spec().classNames);  // name order is not the model's order

    std::string note;
    ASSERT_EQ(es::matchClassesToModel(folder, net->spec().classNames, false, note), es::ClassMatch::ByName);
    EXPECT_NE(note.find("labels mapped by name"), std::string::npos) << note;

    es::ProfileOptions popts;
    popts.timingSamples = 1;
    popts.warmupSamples = 0;
    const auto trace = es::profileModel(*net, folder, popts);
    ASSERT_EQ(trace.numSamples, kImages);
    // The folder lists images by class folder, then file name: find each one's place in the bundled trace.
    const int64_t last = trace.numExits - 1;
    int64_t correct = 0, bundledCorrect = 0;
    for (int64_t i = 0; i < kImages; ++i) {
        const auto idx = static_cast<std::size_t>(trace.sampleIndex[static_cast<std::size_t>(i)]);
        const uint8_t* image = folder.testImages.image(idx);
        int64_t n = 0;
        while (n < kImages &&
               !std::equal(image, image + 28 * 28,
                           fashion.testImages.image(static_cast<std::size_t>(bundled.sampleIndex[static_cast<std::size_t>(n)]))))
            ++n;
        ASSERT_LT(n, kImages) << "profiled image " << i << " is none of the folder's images";
        EXPECT_EQ(trace.labels[static_cast<std::size_t>(i)], bundled.labels[static_cast<std::size_t>(n)]) << i;
        const int64_t ours = es::argmaxOf(trace.probsOf(i, last), trace.numClasses);
        const int64_t theirs = es::argmaxOf(bundled.probsOf(n, last), bundled.numClasses);
        EXPECT_EQ(ours, theirs) << i;
        correct += ours == trace.labels[static_cast<std::size_t>(i)];
        bundledCorrect += theirs == bundled.labels[static_cast<std::size_t>(n)];
    }
    EXPECT_EQ(correct, bundledCorrect);
    EXPECT_GT(correct, kImages * 8 / 10);  // the bundled msdnet's accuracy, not one class in ten
    fs::remove_all(root);
}
