// The operator MAC counter on scripted models, against hand counts. The
// models come from tests/nn/op_mac_fixtures.py (and the worked example
// docs/examples/export_residual_se.py) run with Debian's python3-torch at
// test time; the tests skip, saying so, only where python3-torch is missing.
// Every expected figure is worked out in its comment from the layer shapes.
#include "core/common/error.h"
#include "core/model/model_loader.h"
#include "core/model/multi_exit_net.h"
#include "core/model/op_mac_counter.h"

#include <ATen/record_function.h>
#include <gtest/gtest.h>
#include <torch/script.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace es = exitscope::core;
namespace fs = std::filesystem;

namespace {

const char* kPython = "/usr/bin/python3";

struct Made {
    fs::path path;
    std::string why;  // empty when made
    bool noTorch = false;
};

/// Runs `script ARG` once per build directory (under a lock, as ctest runs
/// tests in parallel processes) unless its output is newer than the script.
/// `arg` is "DIR" (a folder the script fills, with a stamp file) or "--out FILE".
Made made(const std::string& script, const std::string& name, bool folder) {
    Made m;
    if (std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) != 0) {
        m.why = "python3-torch is not installed (scripts/install-deps installs it); op MAC tests skipped";
        m.noTorch = true;
        return m;
    }
    const fs::path work = EXITSCOPE_TEST_WORK;
    const fs::path source = fs::path(EXITSCOPE_SOURCE_DIR) / script;
    m.path = work / name;
    const fs::path stamp = folder ? m.path / "stamp" : m.path;
    fs::create_directories(work);
    const int lock = ::open((work / (name + ".lock")).c_str(), O_CREAT | O_RDWR, 0644);
    ::flock(lock, LOCK_EX);
    std::error_code ec;
    if (!(fs::exists(stamp) && fs::last_write_time(stamp, ec) >= fs::last_write_time(source, ec))) {
        const fs::path tmp = work / (name + ".tmp" + std::to_string(::getpid()));
        fs::remove_all(tmp, ec);
        const std::string cmd =
            std::string(kPython) + " " + source.string() + (folder ? " " : " --out ") + tmp.string() + " >/dev/null";
        if (std::system(cmd.c_str()) != 0) m.why = "the fixture script failed: " + cmd;
        fs::remove_all(m.path, ec);
        fs::rename(tmp, m.path, ec);
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
    return m;
}

#define NEED(var, script, name, folder)                           \
    const Made var = made(script, name, folder);                  \
    if (!var.why.empty() && var.noTorch) GTEST_SKIP() << var.why; \
    if (!var.why.empty()) GTEST_FAIL() << var.why;

#define NEED_FIXTURES(dir) \
    NEED(dir##_, "tests/nn/op_mac_fixtures.py", "op-mac-fixtures", true) const fs::path dir = dir##_.path;

struct Count {
    std::vector<int64_t> macs;  // per run
    int64_t skipped = 0;
};

/// MACs of three forwards of the scripted module `name` on zeros of
/// `shape`: the first runs the graph as scripted, the later ones the
/// graph LibTorch optimised after profiling the first, with other stacks.
Count countOf(const fs::path& dir, const std::string& name, std::vector<int64_t> shape) {
    auto module = torch::jit::load((dir / (name + ".pt")).string());
    module.eval();
    torch::NoGradGuard noGrad;
    Count c;
    for (int run = 0; run < 3; ++run) {
        es::OpMacCounter counter;
        module.forward({torch::zeros(shape)});
        c.macs.push_back(counter.macs());
        c.skipped += counter.skipped();
    }
    return c;
}

std::vector<int64_t> thrice(int64_t macs) { return {macs, macs, macs}; }

}  // namespace

TEST(OpMacCounterScripted, ResidualAddWrittenInline) {
    NEED_FIXTURES(dir);
    // return x + self.conv(x), conv 3x3 8 -> 8 on [1, 8, 16, 16]:
    // 8*16*16 outputs x 8*3*3 = 2048 x 72 = 147,456; the add is no MAC.
    const auto c = countOf(dir, "residual_inline", {1, 8, 16, 16});
    EXPECT_EQ(c.macs, thrice(147456));
    EXPECT_EQ(c.skipped, 0);
}

TEST(OpMacCounterScripted, SqueezeExcitation) {
    NEED_FIXTURES(dir);
    // On [1, 32, 8, 8]: pool (0), linear 32 -> 8 (8 x 32 = 256), relu (0),
    // linear 8 -> 32 (32 x 8 = 256), sigmoid (0), multiply (0): 512.
    const auto c = countOf(dir, "squeeze_excitation", {1, 32, 8, 8});
    EXPECT_EQ(c.macs, thrice(512));
    EXPECT_EQ(c.skipped, 0);
}

TEST(OpMacCounterScripted, DepthwiseConvolution) {
    NEED_FIXTURES(dir);
    // x + conv3x3(x), 16 -> 16, groups 16 (weight [16, 1, 3, 3]) on [1, 16, 10, 10]
    // (ConvNeXt's depthwise residual): 16*10*10 outputs x 1*3*3 = 1600 x 9 = 14,400.
    EXPECT_EQ(countOf(dir, "depthwise_conv", {1, 16, 10, 10}).macs, thrice(14400));
}

TEST(OpMacCounterScripted, GroupedConvolution) {
    NEED_FIXTURES(dir);
    // Conv 3x3, 8 -> 12, groups 2 (weight [12, 4, 3, 3]) on [1, 8, 6, 6]:
    // 12*6*6 outputs x 4*3*3 = 432 x 36 = 15,552 (the bias is no MAC).
    EXPECT_EQ(countOf(dir, "grouped_conv", {1, 8, 6, 6}).macs, thrice(15552));
}

TEST(OpMacCounterScripted, TransposedConvolution) {
    NEED_FIXTURES(dir);
    // ConvTranspose 3x3 stride 2, 4 -> 6 (weight [4, 6, 3, 3]) on [1, 4, 5, 5]
    // (output [1, 6, 10, 10]): every input element times out/groups x k x k
    // weights, 4*5*5 x 6*3*3 = 100 x 54 = 5,400.
    EXPECT_EQ(countOf(dir, "transposed_conv", {1, 4, 5, 5}).macs, thrice(5400));
}

TEST(OpMacCounterScripted, LinearInsideAnExpression) {
    NEED_FIXTURES(dir);
    // torch.relu(self.fc(x)) * 2 + 1, linear 20 -> 7 on [3, 20]:
    // 3*7 outputs x 20 = 420; relu, * and + are no MACs.
    EXPECT_EQ(countOf(dir, "linear_in_expression", {3, 20}).macs, thrice(420));
}

TEST(OpMacCounterScripted, MatrixProducts) {
    NEED_FIXTURES(dir);
    // x [4, 5]. mm(x, w[5, 6]) + 1: 4*6 outputs x 5 = 120. addmm(b, x, w[5, 6]) * 3:
    // 120 (adding b is no MAC). x @ w[5, 3] - x.sum(): 4*3 x 5 = 60.
    // bmm(x.view(2, 2, 5), w[2, 5, 7]) + x.mean(): 2*2*7 x 5 = 140.
    EXPECT_EQ(countOf(dir, "mm", {4, 5}).macs, thrice(120));
    EXPECT_EQ(countOf(dir, "addmm", {4, 5}).macs, thrice(120));
    EXPECT_EQ(countOf(dir, "matmul", {4, 5}).macs, thrice(60));
    EXPECT_EQ(countOf(dir, "bmm", {4, 5}).macs, thrice(140));
}

TEST(OpMacCounterScripted, PoolingCountsNothing) {
    NEED_FIXTURES(dir);
    // Max, average and adaptive pooling are 0 MACs (op_mac_counter.h), as in
    // the built-in models' own counts. conv1x1(max_pool2d(x, 2)) + avg_pool2d(x, 2)
    // on [1, 4, 8, 8]: only the 1x1 conv 4 -> 4 on 4x4, 4*4*4 x 4 = 256.
    EXPECT_EQ(countOf(dir, "pooling_only", {1, 4, 8, 8}).macs, thrice(0));
    EXPECT_EQ(countOf(dir, "pooling", {1, 4, 8, 8}).macs, thrice(256));
}

TEST(OpMacCounterScripted, BatchNorm) {
    NEED_FIXTURES(dir);
    // x + bn(x) on [1, 6, 5, 5]: one per output element, 6*5*5 = 150.
    EXPECT_EQ(countOf(dir, "batch_norm", {1, 6, 5, 5}).macs, thrice(150));
}

TEST(OpMacCounterScripted, TheBatchIsCountedWhole) {
    NEED_FIXTURES(dir);
    // Linear 20 -> 7 on [3, 20] is 420 (above); three times the batch, three times the MACs.
    EXPECT_EQ(countOf(dir, "linear_in_expression", {9, 20}).macs, thrice(3 * 420));
}

TEST(OpMacCounterScripted, AnOperatorWithoutASchemaIsSkippedAndSaidSo) {
    // A RecordFunction with only a name (no FunctionSchema) cannot say which
    // entries are its arguments: nothing is counted and skipped() says so.
    es::OpMacCounter counter;
    {
        std::vector<c10::IValue> inputs{torch::zeros({1, 4, 5, 5}), torch::zeros({4, 4, 3, 3})};
        RECORD_FUNCTION("aten::conv2d", inputs);
    }
    EXPECT_EQ(counter.macs(), 0);
    EXPECT_EQ(counter.skipped(), 1);
}

TEST(OpMacCounterScripted, AMobileNetStyleMultiExitModelMatchesItsHandCount) {
    NEED_FIXTURES(dir);
    auto net = es::loadModel((dir / "mobilenet_exits.pt").string());
    // The loader's dry run was the first run; these are the optimised graph's.
    for (int run = 1; run <= 2; ++run) {
        SCOPED_TRACE("run " + std::to_string(run + 1));
        const auto costs = net->measureCosts();
        ASSERT_EQ(costs.blocks.size(), 3u);
        ASSERT_EQ(costs.exits.size(), 2u);
        // Input [1, 3, 32, 32]. Block 0: conv 3x3 stride 2, 3 -> 8 to 16x16,
        // 8*16*16 = 2048 outputs x 27 = 55,296; batch norm 2048. 57,344.
        EXPECT_EQ(costs.blocks[0].macs, 57344);
        // Block 1 (inverted residual 8 -> 16 -> 8 at 16x16, identity added):
        // expand 1x1 16*256 x 8 = 32,768, bn 4096; depthwise 3x3 4096 x 9 = 36,864,
        // bn 4096; project 1x1 8*256 x 16 = 32,768, bn 2048; add 0. 112,640.
        EXPECT_EQ(costs.blocks[1].macs, 112640);
        // Block 2 (8 -> 32 -> 16, stride 2, squeeze-excitation): expand 32*256 x 8
        // = 65,536, bn 8192; depthwise stride 2 to 8x8, 2048 x 9 = 18,432, bn 2048;
        // SE pool 0, 1x1 conv 32 -> 8 on 1x1 256, 1x1 conv 8 -> 32 256, hardsigmoid
        // and multiply 0; project 16*64 x 32 = 32,768, bn 1024. 128,512.
        EXPECT_EQ(costs.blocks[2].macs, 128512);
        // Exits: pool and linear 8 -> 10 (80), 16 -> 10 (160).
        EXPECT_EQ(costs.exits[0].macs, 80);
        EXPECT_EQ(costs.exits[1].macs, 160);
    }
}

TEST(OpMacCounterScripted, TheDocumentedResidualSeExampleMatchesItsHandCount) {
    NEED(model, "docs/examples/export_residual_se.py", "residual_se.pt", false);
    auto net = es::loadModel(model.path.string());
    // The loader's dry run was the first run; these are the optimised graph's.
    for (int run = 1; run <= 2; ++run) {
        SCOPED_TRACE("run " + std::to_string(run + 1));
        const auto costs = net->measureCosts();
        ASSERT_EQ(costs.blocks.size(), 3u);
        ASSERT_EQ(costs.exits.size(), 2u);
        // The hand count of docs/torchscript.md ("A worked example"), input [1, 3, 32, 32].
        // Block 0: conv 3x3 stride 2, 3 -> 16 to 16x16: 4096 x 27 = 110,592; bn 4096.
        EXPECT_EQ(costs.blocks[0].macs, 114688);
        // Block 1: relu(x + bn(conv3x3 16 -> 16 (x))): 4096 x 144 = 589,824; bn 4096.
        EXPECT_EQ(costs.blocks[1].macs, 593920);
        // Block 2: conv 3x3 stride 2, 16 -> 32 to 8x8: 2048 x 144 = 294,912; bn 2048;
        // SE: linear 32 -> 8 (256), linear 8 -> 32 (256).
        EXPECT_EQ(costs.blocks[2].macs, 297472);
        // Exits: pool and linear 16 -> 10 (160), 32 -> 10 (320).
        EXPECT_EQ(costs.exits[0].macs, 160);
        EXPECT_EQ(costs.exits[1].macs, 320);
    }
}
