#include "core/common/error.h"
#include "core/policy/confidence.h"
#include "core/policy/decision.h"
#include "core/trace/trace.h"
#include "widgets/network/network_view.h"

#include <QDir>
#include <QImage>
#include <QSet>

#include <gtest/gtest.h>

using exitscope::core::Trace;
using exitscope::widgets::NetworkView;
using exitscope::widgets::SamplePath;

namespace {

// Paths come from the decision API only: a global max-softmax threshold, or one fixed exit.
SamplePath confidencePath(const Trace& t, int64_t row, float threshold) {
    exitscope::core::PolicyConfig policy;
    policy.confidence.thresholds = {threshold};
    return exitscope::widgets::samplePathFromDecision(
        exitscope::core::Decider(std::make_shared<const Trace>(t), policy), row);
}

SamplePath staticPath(const Trace& t, int64_t row, int64_t exit) {
    exitscope::core::PolicyConfig policy;
    policy.kind = exitscope::core::PolicyKind::Static;
    policy.staticExit = exit;
    return exitscope::widgets::samplePathFromDecision(
        exitscope::core::Decider(std::make_shared<const Trace>(t), policy), row);
}

// Four blocks, three exits (two of them after the last block), three classes.
Trace fourBlockTrace() {
    Trace t;
    t.numSamples = 2;
    t.numExits = 3;
    t.numClasses = 3;
    t.numBlocks = 4;
    t.probs = {
        0.6f, 0.3f, 0.1f,  0.2f, 0.7f, 0.1f,  0.1f, 0.1f, 0.8f,  // sample 0, label 2
        0.1f, 0.2f, 0.7f,  0.3f, 0.3f, 0.4f,  0.9f, 0.05f, 0.05f // sample 1, label 0
    };
    t.labels = {2, 0};
    t.sampleIndex = {40, 41};
    t.exitBlock = {1, 3, 3};
    t.blockMacs = {1'000'000, 2'000'000, 5'000'000, 2'000'000};
    t.blockParams = {1'000, 3'000, 6'000, 2'000};
    t.blockMs = {0.1f, 0.1f, 0.2f, 0.1f};
    t.blockOutBytes = {4096, 2048, 1024, 512};
    t.blockRelu = {1, 1, 0, 1};
    t.headMacs = {500'000, 750'000, 1'250'000};
    t.headParams = {1'000, 500, 345};
    t.headMs = {0.025f, 0.025f, 0.05f};
    t.exitMacs = {3'500'000, 10'750'000, 12'000'000};
    t.exitParams = {5'000, 12'500, 12'845};
    t.exitMs = {0.225f, 0.525f, 0.575f};
    t.metadata = {{"model", "toy"}, {"split", "test"}};
    return t;
}

QString assetsDir() {
    return qEnvironmentVariable("EXITSCOPE_ASSETS", QStringLiteral(EXITSCOPE_SOURCE_DIR "/assets"));
}

} // namespace

TEST(NetworkView, OneBoxPerBlockWidthFollowsMacsAndExitsHangUnderTheirBlock) {
    NetworkView view;
    view.resize(1000, 400);
    view.setModel(fourBlockTrace());
    ASSERT_EQ(view.numBlocks(), 4);
    ASSERT_EQ(view.numExits(), 3);
    for (int b = 0; b < 4; ++b) ASSERT_TRUE(view.blockRect(b).isValid()) << b;
    EXPECT_FALSE(view.blockRect(4).isValid());
    // Left to right without overlap; wider for more MACs (1 M < 2 M < 5 M, and 2 M twice alike).
    for (int b = 0; b + 1 < 4; ++b) EXPECT_LT(view.blockRect(b).right(), view.blockRect(b + 1).left());
    EXPECT_LT(view.blockRect(0).width(), view.blockRect(1).width());
    EXPECT_LT(view.blockRect(1).width(), view.blockRect(2).width());
    EXPECT_DOUBLE_EQ(view.blockRect(1).width(), view.blockRect(3).width());
    // Exit 0 under block 1; exits 1 and 2 side by side under block 3.
    const int expectedBlock[3] = {1, 3, 3};
    for (int k = 0; k < 3; ++k) {
        const QRectF e = view.exitRect(k), b = view.blockRect(expectedBlock[k]);
        EXPECT_GE(e.left(), b.left()) << k;
        EXPECT_LE(e.right(), b.right()) << k;
        EXPECT_GT(e.top(), b.bottom()) << k;
    }
    EXPECT_LT(view.exitRect(1).right(), view.exitRect(2).left());
    EXPECT_TRUE(view.scaleRects(0).empty());  // not an MSDNet
}

TEST(NetworkView, HoverGivesTheHandKnownCosts) {
    NetworkView view;
    view.resize(1000, 400);
    view.setModel(fourBlockTrace());
    const auto hit = view.hitTest(view.blockRect(2).center());
    EXPECT_EQ(hit.kind, NetworkView::Hit::Block);
    EXPECT_EQ(hit.index, 2);
    const QString block = view.toolTipAt(view.blockRect(2).center());
    EXPECT_TRUE(block.contains(QStringLiteral("MACs: 5,000,000"))) << block.toStdString();
    EXPECT_TRUE(block.contains(QStringLiteral("50.0% of the backbone"))) << block.toStdString();  // 5 of 10 M
    EXPECT_TRUE(block.contains(QStringLiteral("Parameters: 6,000"))) << block.toStdString();
    EXPECT_TRUE(block.contains(QStringLiteral("Output: 1,024 bytes"))) << block.toStdString();
    EXPECT_TRUE(block.contains(QStringLiteral("Not a split candidate"))) << block.toStdString();

    const auto exitHit = view.hitTest(view.exitRect(1).center());
    EXPECT_EQ(exitHit.kind, NetworkView::Hit::Exit);
    EXPECT_EQ(exitHit.index, 1);
    const QString exit = view.toolTipAt(view.exitRect(1).center());
    EXPECT_TRUE(exit.contains(QStringLiteral("Exit 1</b>, after block 3"))) << exit.toStdString();
    EXPECT_TRUE(exit.contains(QStringLiteral("750,000 MACs"))) << exit.toStdString();
    // Per-exit accuracy by hand: exit 1 argmax is 1 (label 2) and 2 (label 0): 0 of 2.
    EXPECT_TRUE(exit.contains(QStringLiteral("left here: 0.00%"))) << exit.toStdString();

    const QPointF between((view.blockRect(0).right() + view.blockRect(1).left()) / 2, view.blockRect(0).center().y());
    EXPECT_EQ(view.hitTest(between).kind, NetworkView::Hit::None);
    EXPECT_TRUE(view.toolTipAt(between).isEmpty());
}

TEST(NetworkView, PathFromATraceRowAndTheSplitSides) {
    const Trace t = fourBlockTrace();
    const SamplePath path = confidencePath(t, 0, 0.65f);  // 0.6 < 0.65, then 0.7 >= 0.65
    ASSERT_EQ(path.exitsEvaluated, (std::vector<int64_t>{0, 1}));
    ASSERT_EQ(path.confidences.size(), 2u);
    EXPECT_FLOAT_EQ(path.confidences[0], 0.6f);
    EXPECT_FLOAT_EQ(path.confidences[1], 0.7f);
    EXPECT_EQ(path.predicted, 1);
    EXPECT_EQ(path.label, 2);
    EXPECT_EQ(path.title, QStringLiteral("test sample 40"));
    const SamplePath direct = staticPath(t, 1, 2);
    EXPECT_EQ(direct.exitsEvaluated, (std::vector<int64_t>{2}));
    EXPECT_EQ(direct.predicted, 0);
    EXPECT_THROW(staticPath(t, 2, 0), exitscope::core::Error);
    EXPECT_THROW(staticPath(t, 0, 3), exitscope::core::Error);

    NetworkView view;
    view.resize(1000, 400);
    view.setModel(t);
    view.setPath(path);
    ASSERT_TRUE(view.path().isValid());
    // Exit 1 sits after block 3: every block ran.
    EXPECT_TRUE(view.toolTipAt(view.blockRect(3).center()).contains(QStringLiteral("Ran for the selected image")));
    EXPECT_TRUE(view.toolTipAt(view.exitRect(1).center()).contains(QStringLiteral("max softmax 0.700 \u2265 threshold 0.650: it left here and answered")))
        << view.toolTipAt(view.exitRect(1).center()).toStdString();
    // Where it went on, the tooltip says against what (a bare '<' once swallowed the rest as a tag).
    EXPECT_TRUE(view.toolTipAt(view.exitRect(0).center())
                    .contains(QStringLiteral("max softmax 0.600 &lt; threshold 0.650, so it went on")))
        << view.toolTipAt(view.exitRect(0).center()).toStdString();

    SamplePath early = confidencePath(t, 0, 0.5f);
    view.setPath(early);
    EXPECT_TRUE(view.toolTipAt(view.blockRect(2).center()).contains(QStringLiteral("Not run")));

    view.setSplit(2);
    EXPECT_EQ(view.effectiveSplit(), 2);
    EXPECT_TRUE(view.toolTipAt(view.blockRect(1).center()).contains(QStringLiteral("Runs on the device")));
    EXPECT_TRUE(view.toolTipAt(view.blockRect(2).center()).contains(QStringLiteral("Runs on the server")));
    early.blocksOnDevice = 1;  // a path's own split wins
    view.setPath(early);
    EXPECT_EQ(view.effectiveSplit(), 1);
    EXPECT_TRUE(view.toolTipAt(view.blockRect(1).center()).contains(QStringLiteral("Runs on the server")));
    view.clearPath();
    EXPECT_EQ(view.effectiveSplit(), 2);
    view.setSplit(-1);
    EXPECT_FALSE(view.toolTipAt(view.blockRect(1).center()).contains(QStringLiteral("Runs on")));
}

TEST(NetworkView, MsdnetScalesOfTheBundledTrace) {
    const Trace t = exitscope::core::readTrace((assetsDir() + QStringLiteral("/models/msdnet-fashion-mnist-test.safetensors")).toStdString());
    const auto scales = exitscope::widgets::msdnetScales(t);
    // By hand from the options (base 8, growth 4, 2 layers per block, 5 blocks) on 28x28 inputs:
    // the stem gives 8/16/32 channels at 28/14/7, every block adds 2 x 4<<s per active scale,
    // and the finest scale still computed is min(2, b*3/5): 0, 0, 1, 1, 2.
    ASSERT_EQ(scales.size(), 5u);
    ASSERT_EQ(scales[0].size(), 3u);
    EXPECT_EQ(scales[0][0].channels, 16);
    EXPECT_EQ(scales[0][0].height, 28);
    EXPECT_EQ(scales[0][1].channels, 32);
    EXPECT_EQ(scales[0][1].height, 14);
    EXPECT_EQ(scales[0][2].channels, 64);
    EXPECT_EQ(scales[0][2].width, 7);
    ASSERT_EQ(scales[2].size(), 2u);
    EXPECT_EQ(scales[2][0].scale, 1);
    EXPECT_EQ(scales[2][0].channels, 64);   // 48 after block 1, + 16
    EXPECT_EQ(scales[2][1].channels, 128);  // 96 + 32
    ASSERT_EQ(scales[4].size(), 1u);
    EXPECT_EQ(scales[4][0].channels, 192);  // 32 + 5 blocks x 2 layers x 16

    NetworkView view;
    view.resize(1100, 420);
    view.setModel(t);
    EXPECT_EQ(view.scaleRects(0).size(), 3u);
    EXPECT_TRUE(view.toolTipAt(view.blockRect(4).center()).contains(QStringLiteral("scale 2: 192\u00d77\u00d77")));

    // Shapes that disagree with the measured bytes turn the scales off.
    Trace wrong = t;
    wrong.blockOutBytes[3] += 4;
    EXPECT_TRUE(exitscope::widgets::msdnetScales(wrong).empty());
    EXPECT_TRUE(exitscope::widgets::msdnetScales(fourBlockTrace()).empty());

    // What a person sees: a drawn diagram (many colours), saved when asked for.
    const std::vector<float> thresholds{0.9f, 0.9f, 0.9f, 0.9f};
    const auto outcome = exitscope::core::applyConfidenceThresholds(t, thresholds);
    int64_t row = 0;
    while (outcome.exitTaken[static_cast<std::size_t>(row)] < 2) ++row;
    SamplePath path = confidencePath(t, row, 0.9f);
    ASSERT_EQ(path.exitTaken, outcome.exitTaken[static_cast<std::size_t>(row)]);
    EXPECT_EQ(path.thresholds, thresholds);
    path.blocksOnDevice = 2;
    path.live = true;
    view.setPath(path);
    const QImage shot = view.grab().toImage();
    QSet<QRgb> colours;
    for (int y = 0; y < shot.height(); y += 3)
        for (int x = 0; x < shot.width(); x += 3) colours.insert(shot.pixel(x, y));
    EXPECT_GT(colours.size(), 20);
    const QString dir = qEnvironmentVariable("EXITSCOPE_WIDGET_SHOTS");
    if (!dir.isEmpty()) shot.save(QDir(dir).filePath(QStringLiteral("network_view.png")));
}

TEST(NetworkView, ResnetSpinnExitsSitUnderTheBlocksTheTraceNames) {
    const Trace t =
        exitscope::core::readTrace((assetsDir() + QStringLiteral("/models/resnet-spinn-fashion-mnist-test.safetensors")).toStdString());
    NetworkView view;
    view.resize(1100, 420);
    view.setModel(t);
    ASSERT_EQ(view.numBlocks(), 13);
    ASSERT_EQ(view.numExits(), 7);
    EXPECT_TRUE(view.scaleRects(0).empty());
    // The bundled trace puts its seven exits after blocks 2, 3, 5, 7, 9, 11 and 12.
    const int blocks[7] = {2, 3, 5, 7, 9, 11, 12};
    for (int k = 0; k < 7; ++k) {
        const QPointF c = view.exitRect(k).center();
        EXPECT_GE(c.x(), view.blockRect(blocks[k]).left()) << k;
        EXPECT_LE(c.x(), view.blockRect(blocks[k]).right()) << k;
        EXPECT_EQ(view.hitTest(c).index, k);
    }
    view.setPath(staticPath(t, 0, 3));
    view.setSplit(6);
    const QString dir = qEnvironmentVariable("EXITSCOPE_WIDGET_SHOTS");
    if (!dir.isEmpty()) view.grab().save(QDir(dir).filePath(QStringLiteral("network_view_resnet.png")));
}

// The diagram is kept as a picture between paints and only the threshold
// marks are drawn anew: every state must look exactly as a view that drew
// it from scratch.
TEST(NetworkView, AKeptPictureLooksLikeAFreshDrawing) {
    const Trace t = fourBlockTrace();
    auto fresh = [&](const SamplePath& path, int64_t split) {
        NetworkView view;
        view.resize(1000, 400);
        view.setModel(t);
        view.setSplit(split);
        view.setPath(path);
        return view.grab().toImage();
    };
    NetworkView kept;
    kept.resize(1000, 400);
    kept.setModel(t);
    SamplePath path = confidencePath(t, 0, 0.65f);
    path.thresholds = {0.5f, 0.9f, 0.0f};
    kept.setPath(path);
    const QImage before = kept.grab().toImage();
    EXPECT_EQ(before, fresh(path, -1));

    path.thresholds = {0.8f, 0.3f, 0.0f};  // only the marks move
    kept.setPath(path);
    const QImage moved = kept.grab().toImage();
    EXPECT_NE(moved, before);
    EXPECT_EQ(moved, fresh(path, -1));

    SamplePath other = confidencePath(t, 1, 0.95f);  // another image, to the last exit
    other.thresholds = path.thresholds;
    kept.setPath(other);
    EXPECT_EQ(kept.grab().toImage(), fresh(other, -1));
    kept.setSplit(2);
    EXPECT_EQ(kept.grab().toImage(), fresh(other, 2));
    kept.resize(900, 380);
    NetworkView smaller;
    smaller.resize(900, 380);
    smaller.setModel(t);
    smaller.setSplit(2);
    smaller.setPath(other);
    EXPECT_EQ(kept.grab().toImage(), smaller.grab().toImage());
}
