#include "core/model/model_info.h"
#include "core/trace/trace.h"
#include "widgets/common/exit_summary_model.h"
#include "widgets/common/model_summary.h"
#include "widgets/common/trace_overview.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <cmath>

using exitscope::core::Trace;
using exitscope::widgets::ExitSummaryModel;
using exitscope::widgets::TraceOverview;

namespace {

// Four samples, three exits, three classes. Per-exit accuracy by hand:
//   exit 0: s0 argmax 0 = label 0 (ok), s1 argmax 0 != 1, s2 argmax 2 = 2 (ok), s3 argmax 0 != 1 -> 2/4
//   exit 1: s0 tie 0/1 -> 0 = label (ok), s1 1 (ok), s2 1 != 2, s3 1 (ok)                         -> 3/4
//   exit 2: every argmax is the label                                                             -> 4/4
Trace handBuiltTrace() {
    Trace t;
    t.numSamples = 4;
    t.numExits = 3;
    t.numClasses = 3;
    t.numBlocks = 3;
    t.probs = {
        0.6f, 0.3f, 0.1f,   0.4f, 0.4f, 0.2f,   0.9f, 0.05f, 0.05f,  // sample 0, label 0
        0.5f, 0.4f, 0.1f,   0.1f, 0.8f, 0.1f,   0.05f, 0.9f, 0.05f,  // sample 1, label 1
        0.2f, 0.2f, 0.6f,   0.3f, 0.5f, 0.2f,   0.1f, 0.1f, 0.8f,    // sample 2, label 2
        0.7f, 0.2f, 0.1f,   0.2f, 0.7f, 0.1f,   0.1f, 0.8f, 0.1f,    // sample 3, label 1
    };
    t.labels = {0, 1, 2, 1};
    t.sampleIndex = {10, 11, 12, 13};
    t.exitMacs = {1'500'000, 4'000'000, 9'250'000};
    t.exitParams = {2'000, 5'500, 12'345};
    t.exitMs = {0.125f, 0.25f, 0.5f};
    t.exitBlock = {0, 1, 2};
    t.blockMacs = {1'000'000, 2'000'000, 5'000'000};
    t.blockParams = {1'000, 3'000, 6'000};
    t.blockMs = {0.1f, 0.1f, 0.2f};
    t.blockOutBytes = {4096, 2048, 1024};
    t.blockRelu = {1, 1, 0};
    t.headMacs = {500'000, 500'000, 1'250'000};
    t.headParams = {1'000, 500, 345};
    t.headMs = {0.025f, 0.025f, 0.05f};
    t.metadata = {{"model", "msdnet"},     {"weights_hash", "00ff00ff00ff00ff"}, {"dataset", "fashion-mnist"},
                  {"split", "val"},        {"device", "cpu"},                    {"exitscope_version", "0.1.0"},
                  {"note", "hand built"}};
    return t;
}

QString display(const ExitSummaryModel& model, int row, int column) {
    return model.data(model.index(row, column)).toString();
}

double value(const ExitSummaryModel& model, int row, int column) {
    return model.data(model.index(row, column), ExitSummaryModel::ValueRole).toDouble();
}

} // namespace

TEST(ExitSummaryModel, OneRowPerExitWithHandComputedFigures) {
    ExitSummaryModel model;
    EXPECT_EQ(model.rowCount(), 0);
    model.setTrace(handBuiltTrace());
    ASSERT_EQ(model.rowCount(), 3);
    ASSERT_EQ(model.columnCount(), ExitSummaryModel::ColumnCount);

    EXPECT_EQ(display(model, 0, ExitSummaryModel::AccuracyColumn), QStringLiteral("50.00"));
    EXPECT_EQ(display(model, 1, ExitSummaryModel::AccuracyColumn), QStringLiteral("75.00"));
    EXPECT_EQ(display(model, 2, ExitSummaryModel::AccuracyColumn), QStringLiteral("100.00"));
    EXPECT_DOUBLE_EQ(value(model, 1, ExitSummaryModel::AccuracyColumn), 0.75);

    EXPECT_EQ(display(model, 2, ExitSummaryModel::ExitColumn), QStringLiteral("2"));
    EXPECT_EQ(display(model, 1, ExitSummaryModel::BlockColumn), QStringLiteral("1"));
    EXPECT_EQ(display(model, 2, ExitSummaryModel::MacsColumn), QStringLiteral("9.250"));
    EXPECT_EQ(value(model, 2, ExitSummaryModel::MacsColumn), 9'250'000.0);
    EXPECT_EQ(display(model, 1, ExitSummaryModel::ParamsColumn), QStringLiteral("5.5"));
    EXPECT_EQ(display(model, 0, ExitSummaryModel::MsColumn), QStringLiteral("0.1250"));
    EXPECT_EQ(model.headerData(ExitSummaryModel::AccuracyColumn, Qt::Horizontal).toString(),
              QStringLiteral("Accuracy (%)"));

    model.clear();
    EXPECT_EQ(model.rowCount(), 0);
}

TEST(ExitSummaryModel, EmptyTraceShowsADashNotZero) {
    Trace t = handBuiltTrace();
    t.numSamples = 0;
    t.probs.clear();
    t.labels.clear();
    t.sampleIndex.clear();
    ExitSummaryModel model;
    model.setTrace(t);
    ASSERT_EQ(model.rowCount(), 3);
    EXPECT_EQ(display(model, 0, ExitSummaryModel::AccuracyColumn), QStringLiteral("\u2013"));
}

TEST(TraceOverview, LoadsATraceFileWrittenByCore) {
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("hand-val.safetensors"));
    exitscope::core::writeTrace(handBuiltTrace(), path.toStdString());

    TraceOverview overview;
    EXPECT_FALSE(overview.hasTrace());
    ASSERT_TRUE(overview.loadFile(path)) << overview.errorString().toStdString();
    EXPECT_TRUE(overview.hasTrace());
    EXPECT_TRUE(overview.errorString().isEmpty());

    EXPECT_EQ(overview.summaryValue(QStringLiteral("samples")), QStringLiteral("4"));
    EXPECT_EQ(overview.summaryValue(QStringLiteral("exits")), QStringLiteral("3"));
    EXPECT_EQ(overview.summaryValue(QStringLiteral("classes")), QStringLiteral("3"));
    EXPECT_EQ(overview.summaryValue(QStringLiteral("gate_dim")), QStringLiteral("none"));
    EXPECT_EQ(overview.summaryValue(QStringLiteral("split")), QStringLiteral("val"));
    EXPECT_EQ(overview.summaryValue(QStringLiteral("dataset")), QStringLiteral("fashion-mnist"));
    EXPECT_EQ(overview.summaryValue(QStringLiteral("weights_hash")), QStringLiteral("00ff00ff00ff00ff"));
    EXPECT_EQ(overview.summaryValue(QStringLiteral("note")), QStringLiteral("hand built"));
    EXPECT_TRUE(overview.summaryValue(QStringLiteral("no_such_key")).isNull());

    ASSERT_EQ(overview.exitModel()->rowCount(), 3);
    EXPECT_DOUBLE_EQ(overview.exitModel()->rows()[1].accuracy, 0.75);

    const QVector<QPointF> points = overview.plotPoints();
    ASSERT_EQ(points.size(), 3);
    EXPECT_DOUBLE_EQ(points[0].x(), 1.5);
    EXPECT_DOUBLE_EQ(points[0].y(), 50.0);
    EXPECT_DOUBLE_EQ(points[1].x(), 4.0);
    EXPECT_DOUBLE_EQ(points[1].y(), 75.0);
    EXPECT_DOUBLE_EQ(points[2].x(), 9.25);
    EXPECT_DOUBLE_EQ(points[2].y(), 100.0);
}

TEST(TraceOverview, CorruptOrMissingTraceGivesAnErrorAndKeepsThePreviousContent) {
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    const QString good = dir.filePath(QStringLiteral("good.safetensors"));
    exitscope::core::writeTrace(handBuiltTrace(), good.toStdString());

    // The good file cut in half: a valid header whose offsets run past the end.
    const QString truncated = dir.filePath(QStringLiteral("truncated.safetensors"));
    {
        QFile in(good);
        ASSERT_TRUE(in.open(QIODevice::ReadOnly));
        const QByteArray bytes = in.readAll();
        QFile out(truncated);
        ASSERT_TRUE(out.open(QIODevice::WriteOnly));
        out.write(bytes.left(bytes.size() / 2));
    }
    const QString garbage = dir.filePath(QStringLiteral("garbage.safetensors"));
    {
        QFile out(garbage);
        ASSERT_TRUE(out.open(QIODevice::WriteOnly));
        out.write("this is not a trace at all");
    }
    const QString missing = dir.filePath(QStringLiteral("missing.safetensors"));

    TraceOverview overview;
    ASSERT_TRUE(overview.loadFile(good)) << overview.errorString().toStdString();
    for (const QString& bad : {truncated, garbage, missing}) {
        EXPECT_FALSE(overview.loadFile(bad)) << bad.toStdString();
        EXPECT_TRUE(overview.errorString().contains(bad)) << overview.errorString().toStdString();
        EXPECT_TRUE(overview.hasTrace());
        EXPECT_EQ(overview.source(), QFileInfo(good).absoluteFilePath());
        EXPECT_EQ(overview.summaryValue(QStringLiteral("samples")), QStringLiteral("4"));
        EXPECT_EQ(overview.exitModel()->rowCount(), 3);
        EXPECT_EQ(overview.plotPoints().size(), 3);
    }
}

TEST(TraceOverview, WarnsWhenTheTraceWasMadeWithOtherWeights) {
    TraceOverview overview;
    overview.setTrace(handBuiltTrace(), QStringLiteral("in memory"));
    EXPECT_FALSE(overview.showsWeightsMismatch());
    overview.setReferenceWeightsHash(QStringLiteral("00ff00ff00ff00ff"));
    EXPECT_FALSE(overview.showsWeightsMismatch());
    overview.setReferenceWeightsHash(QStringLiteral("1234567890abcdef"));
    EXPECT_TRUE(overview.showsWeightsMismatch());
    overview.setReferenceWeightsHash(QString());
    EXPECT_FALSE(overview.showsWeightsMismatch());
}

TEST(TraceOverview, SaysWhenTimingsWereMergedFromDifferentDeviceTypes) {
    TraceOverview overview;
    Trace t = handBuiltTrace();
    t.metadata["shards"] = R"([{"shard":"0/2","host":"a"},{"shard":"1/2","host":"b"}])";
    t.metadata["device_type"] = "cpu: A";
    overview.setTrace(t, QStringLiteral("merged, one device type"));
    EXPECT_FALSE(overview.showsMixedDevices());
    EXPECT_EQ(overview.summaryValue(QStringLiteral("shards")), QStringLiteral("2 merged (exitscope-cli info lists them)"));
    t.metadata["mixed_devices"] = "true";
    t.metadata["device_type"] = "mixed: cpu: A; cuda:0";
    overview.setTrace(t, QStringLiteral("merged, mixed"));
    EXPECT_TRUE(overview.showsMixedDevices());
    EXPECT_FALSE(overview.showsWeightsMismatch());
    overview.setTrace(handBuiltTrace(), QStringLiteral("plain"));
    EXPECT_FALSE(overview.showsMixedDevices());
}

TEST(ModelSummary, ShowsTheSpecOfTheLoadedWeights) {
    exitscope::core::ModelSpec spec;
    spec.name = "msdnet";
    spec.dataset = "fashion-mnist";
    spec.channels = 1;
    spec.height = 28;
    spec.width = 28;
    spec.classNames = {"T-shirt", "Trouser", "Pullover"};
    spec.weightsHash = "0123456789abcdef";

    exitscope::widgets::ModelSummary summary;
    EXPECT_FALSE(summary.hasSpec());
    summary.setSpec(spec, QStringLiteral("/tmp/model.pt"));
    EXPECT_TRUE(summary.hasSpec());
    EXPECT_EQ(summary.value(QStringLiteral("model")), QStringLiteral("msdnet"));
    EXPECT_EQ(summary.value(QStringLiteral("classes")), QStringLiteral("3: T-shirt, Trouser, Pullover"));
    EXPECT_TRUE(summary.value(QStringLiteral("input")).startsWith(QStringLiteral("1 \u00d7 28 \u00d7 28")));
    EXPECT_EQ(summary.weightsHash(), QStringLiteral("0123456789abcdef"));
    summary.showMessage(QStringLiteral("gone"));
    EXPECT_FALSE(summary.hasSpec());
    EXPECT_TRUE(summary.weightsHash().isNull());
}
