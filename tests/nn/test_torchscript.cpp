// Imported TorchScript multi-exit models. The fixtures come from
// docs/examples/export_multi_exit.py run with Debian's python3-torch at test
// time (once per build directory, under a lock); the tests skip, saying so,
// only where python3-torch is not installed.
#include "core/common/error.h"
#include "core/data/dataset.h"
#include "core/model/layers.h"
#include "core/model/model_loader.h"
#include "core/model/multi_exit_net.h"
#include "core/model/op_mac_counter.h"
#include "core/model/zoo.h"
#include "core/profile/profiler.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace es = exitscope::core;
namespace fs = std::filesystem;

namespace {

const char* kPython = "/usr/bin/python3";

/// The fixture folder, made on first use; empty with `why` set when
/// python3-torch is missing (`missing` true) or the script failed.
fs::path fixtures(std::string& why, bool& missing) {
    static bool noTorch = false;
    static std::string reason;
    static fs::path dir;
    static bool done = false;
    if (done) {
        why = reason;
        missing = noTorch;
        return reason.empty() ? dir : fs::path();
    }
    done = true;
    if (std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) != 0) {
        reason = "python3-torch is not installed (scripts/install-deps installs it); imported-model tests skipped";
        why = reason;
        missing = noTorch = true;
        return {};
    }
    const fs::path work = EXITSCOPE_TEST_WORK;
    const fs::path script = fs::path(EXITSCOPE_SOURCE_DIR) / "docs/examples/export_multi_exit.py";
    dir = work / "torchscript-fixtures";
    fs::create_directories(work);
    // ctest runs tests in parallel processes: one makes the fixtures, the others wait.
    const int lock = ::open((work / "torchscript-fixtures.lock").c_str(), O_CREAT | O_RDWR, 0644);
    ::flock(lock, LOCK_EX);
    std::error_code ec;
    const bool fresh = fs::exists(dir / "stamp") && fs::last_write_time(dir / "stamp", ec) >= fs::last_write_time(script, ec);
    if (!fresh) {
        const fs::path tmp = work / ("torchscript-fixtures.tmp" + std::to_string(::getpid()));
        fs::remove_all(tmp, ec);
        const std::string cmd = std::string(kPython) + " " + script.string() + " --fixture " + tmp.string();
        if (std::system(cmd.c_str()) != 0) reason = "the fixture script failed: " + cmd;
        fs::remove_all(dir, ec);
        fs::rename(tmp, dir, ec);
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
    why = reason;
    return reason.empty() ? dir : fs::path();
}

// Skips only when python3-torch is missing; a failing script is a failure.
#define NEED_FIXTURES(dir)                                     \
    std::string why_;                                          \
    bool missing_ = false;                                     \
    const fs::path dir = fixtures(why_, missing_);             \
    if (dir.empty() && missing_) GTEST_SKIP() << why_;         \
    if (dir.empty()) GTEST_FAIL() << why_;

std::vector<char> readBytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string errorOf(const std::string& path) {
    try {
        es::loadModel(path);
    } catch (const es::Error& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST(TorchScriptImport, ProfiledProbabilitiesMatchWhatPyTorchComputed) {
    NEED_FIXTURES(dir);
    auto net = es::loadModel((dir / "resnet_exits.pt").string());
    ASSERT_EQ(net->numBlocks(), 4);
    ASSERT_EQ(net->numExits(), 3);
    EXPECT_EQ(net->exitBlock(0), 1);
    EXPECT_EQ(net->exitBlock(2), 3);
    EXPECT_EQ(net->spec().classNames.size(), 10u);

    // The six images the script used, as the test split of a data set.
    const auto pixels = readBytes(dir / "images.u8");
    ASSERT_EQ(pixels.size(), 6u * 28 * 28);
    es::Dataset data;
    data.name = "fixture";
    data.testImages.name = "fixture/test";
    data.testImages.channels = 1;
    data.testImages.height = data.testImages.width = 28;
    data.testImages.pixels.assign(pixels.begin(), pixels.end());
    data.testImages.labels = {0, 1, 2, 3, 4, 5};
    data.testImages.classNames = net->spec().classNames;
    data.testIndices = {0, 1, 2, 3, 4, 5};
    data.trainImages = data.testImages;
    es::ProfileOptions options;
    options.timingSamples = 2;
    options.warmupSamples = 1;
    const auto trace = es::profileModel(*net, data, options);

    const auto raw = readBytes(dir / "probs.f32");
    ASSERT_EQ(raw.size(), 6u * 3 * 10 * sizeof(float));
    const auto* expected = reinterpret_cast<const float*>(raw.data());
    ASSERT_EQ(trace.probs.size(), 6u * 3 * 10);
    double worst = 0;
    for (std::size_t i = 0; i < trace.probs.size(); ++i) worst = std::max(worst, std::abs(double(trace.probs[i]) - expected[i]));
    EXPECT_LE(worst, 1e-5);
}

TEST(TorchScriptImport, CostsAreCountedFromTheOperatorsThatRan) {
    NEED_FIXTURES(dir);
    auto net = es::loadModel((dir / "resnet_exits.pt").string());
    const auto costs = net->measureCosts();
    // Block 0 is the stem: a 3x3 conv 1 -> 8 on 28x28 (8*28*28*9 MACs) and
    // batch norm (one per output element, 8*28*28); 8*9 + 2*8 parameters.
    EXPECT_EQ(costs.blocks[0].macs, 8 * 28 * 28 * 9 + 8 * 28 * 28);
    EXPECT_EQ(costs.blocks[0].params, 8 * 9 + 2 * 8);
    EXPECT_EQ(costs.blocks[0].outBytes, 8 * 28 * 28 * 4);
    // Exit 0 pools 8 channels into a linear 8 -> 10: 80 MACs, 90 parameters.
    EXPECT_EQ(costs.exits[0].macs, 80);
    EXPECT_EQ(costs.exits[0].params, 90);
    // Block 2 (layer2: 8 -> 16, stride 2, to 14x14): conv1 3x3 8->16, conv2
    // 3x3 16->16, a 1x1 downsample 8->16, three batch norms of 16x14x14.
    const int64_t out = 16 * 14 * 14;
    EXPECT_EQ(costs.blocks[2].macs, out * 8 * 9 + out * 16 * 9 + out * 8 + 3 * out);
}

TEST(TorchScriptImport, AModelsOwnMacsAndSplitCandidatesAreUsed) {
    NEED_FIXTURES(dir);
    auto net = es::loadModel((dir / "own_macs.pt").string());
    const auto costs = net->measureCosts();
    ASSERT_EQ(costs.blocks.size(), 4u);
    EXPECT_EQ(costs.blocks[1].macs, 2000);
    EXPECT_EQ(costs.blocks[3].macs, 4000);
    EXPECT_FALSE(costs.blocks[1].relu);
    EXPECT_TRUE(costs.blocks[2].relu);
}

TEST(TorchScriptImport, BrokenFilesGiveTheDocumentedErrors) {
    NEED_FIXTURES(dir);
    EXPECT_NE(errorOf((dir / "missing_attribute.pt").string()).find("has no attribute 'exit_blocks'"), std::string::npos)
        << errorOf((dir / "missing_attribute.pt").string());
    EXPECT_NE(errorOf((dir / "missing_forward.pt").string()).find("exits[0] has no forward method"), std::string::npos);
    EXPECT_NE(errorOf((dir / "wrong_shape.pt").string()).find("exit 0 returns shape [1, 11], expected [n, 10]"),
              std::string::npos);
    // A failure inside the script (TorchScript rethrows it as std::runtime_error) is one
    // line: the block, its input, the script's own message and where it raised it.
    const auto inScript = errorOf((dir / "wrong_input_shape.pt").string());
    EXPECT_NE(inScript.find("wrong_input_shape.pt: blocks[0] on input [1, 3, 28, 28]: Given groups=1, weight of size "
                            "[8, 1, 3, 3], expected input[1, 3, 28, 28] to have 1 channels"),
              std::string::npos)
        << inScript;
    EXPECT_NE(inScript.find("export_multi_exit.py\", line "), std::string::npos) << inScript;
    EXPECT_EQ(inScript.find('\n'), std::string::npos) << inScript;

    const auto good = readBytes(dir / "resnet_exits.pt");
    const fs::path truncated = dir.parent_path() / ("truncated_" + std::to_string(::getpid()) + ".pt");
    const fs::path random = dir.parent_path() / ("random_" + std::to_string(::getpid()) + ".pt");
    std::ofstream(truncated, std::ios::binary).write(good.data(), static_cast<std::streamsize>(good.size() / 2));
    std::mt19937 rng(7);
    std::vector<char> noise(20000);
    for (auto& c : noise) c = static_cast<char>(rng());
    std::ofstream(random, std::ios::binary).write(noise.data(), static_cast<std::streamsize>(noise.size()));
    for (const auto& p : {truncated, random}) {
        const auto e = errorOf(p.string());
        EXPECT_NE(e.find(p.string() + ": not a model file"), std::string::npos) << e;
        fs::remove(p);
    }
    EXPECT_NE(errorOf("/nonexistent/model.pt").find("/nonexistent/model.pt: file not found"), std::string::npos);
}

// The bad-input matrix for model files: empty, cut at several points, one
// bit flipped at several places. Each either loads (a flip inside a weight
// changes a number, not the structure) or is an Error naming the file;
// none may crash or hang the loader.
TEST(TorchScriptImport, CorruptedFilesLoadOrNameTheFile) {
    NEED_FIXTURES(dir);
    const auto good = readBytes(dir / "resnet_exits.pt");
    ASSERT_GT(good.size(), 1000u);
    std::vector<std::pair<std::string, std::vector<char>>> variants{{"empty", {}}};
    for (std::size_t cut : {std::size_t{1}, std::size_t{64}, good.size() / 4, good.size() * 3 / 4, good.size() - 1})
        variants.emplace_back("cut at " + std::to_string(cut), std::vector<char>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)));
    for (int i = 1; i <= 8; ++i) {
        std::vector<char> flipped = good;
        const std::size_t at = good.size() * static_cast<std::size_t>(i) / 9;
        flipped[at] = static_cast<char>(flipped[at] ^ (1 << (i % 8)));
        variants.emplace_back("bit " + std::to_string(i % 8) + " of byte " + std::to_string(at), flipped);
    }
    int errors = 0;
    for (const auto& [what, bytes] : variants) {
        const fs::path file = dir.parent_path() / ("corrupt_" + std::to_string(::getpid()) + ".pt");
        std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        const std::string e = errorOf(file.string());
        if (e != "(no error)") {
            ++errors;
            EXPECT_NE(e.find(file.string()), std::string::npos) << what << ": " << e;
        }
        fs::remove(file);
    }
    // Every cut file is incomplete: at least those six are errors.
    EXPECT_GE(errors, 6);
}

TEST(OpMacCounter, AgreesWithTheZoosLayerShapeCounts) {
    // Two independent counts: the zoo's layers add MACs from their own
    // shapes; the operator observer sees only what LibTorch ran.
    for (const std::string name : {"msdnet", "resnet-spinn", "vgg-fine"}) {
        es::ModelSpec spec;
        spec.name = name;
        spec.classNames = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
        spec.normalisation.mean = {0.5f};
        spec.normalisation.std = {0.25f};
        auto net = es::buildModel(spec);
        net->eval();
        torch::NoGradGuard noGrad;
        es::State state{torch::zeros({1, 1, 28, 28})};
        int64_t k = 0;
        for (int64_t b = 0; b < net->numBlocks(); ++b) {
            es::MacCounter layers;
            es::OpMacCounter ops;
            state = net->runBlock(b, state);
            EXPECT_EQ(ops.macs(), layers.macs()) << name << " block " << b;
            for (; k < net->numExits() && net->exitBlock(k) == b; ++k) {
                es::MacCounter headLayers;
                es::OpMacCounter headOps;
                net->runExit(k, state);
                EXPECT_EQ(headOps.macs(), headLayers.macs()) << name << " exit " << k;
            }
        }
    }
}
