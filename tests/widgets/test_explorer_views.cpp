#include "core/config/tuned_config.h"
#include "core/policy/gates.h"
#include "core/trace/trace.h"
#include "explorer_fixture.h"
#include "widgets/explorer/controls_panel.h"
#include "widgets/gallery/dataset_images.h"
#include "widgets/explorer/exit_histogram.h"
#include "widgets/explorer/explorer.h"
#include "widgets/explorer/explorer_export.h"
#include "widgets/gallery/gallery_grid.h"
#include "widgets/gallery/gallery_model.h"
#include "widgets/gallery/gallery_view.h"
#include "widgets/explorer/image_inspector.h"
#include "widgets/common/slider_spin.h"
#include "widgets/explorer/tradeoff_plot.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QSlider>
#include <QTest>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QUndoStack>

#include <gtest/gtest.h>

#include <array>
#include <cmath>

using exitscope::test::sharedTrace;
using namespace exitscope::widgets;

namespace {

void loadHandTraces(Explorer& e) {
    e.setTraces(sharedTrace("val"), sharedTrace("test"), QStringLiteral("val"), QStringLiteral("test"));
}

QString readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

} // namespace

TEST(ControlsPanel, ANumberTypedIntoTheBoxIsOneUpdateAndEveryViewShowsIt) {
    Explorer e;
    DatasetImages images;
    ControlsPanel controls(&e);
    ExitHistogram histogram(&e);
    TradeoffPlot tradeoff(&e);
    ImageInspector inspector(&e, &images);
    loadHandTraces(e);
    EXPECT_TRUE(controls.resultText().contains(QStringLiteral("Accuracy 100.00 %")));

    QSignalSpy outcome(&e, &Explorer::outcomeChanged);
    controls.thresholdEditor()->spinBox()->setValue(0.55);
    EXPECT_EQ(outcome.count(), 1);
    EXPECT_FLOAT_EQ(e.settings().threshold, 0.55f);
    EXPECT_TRUE(controls.resultText().contains(QStringLiteral("Accuracy 75.00 %"))) << controls.resultText().toStdString();
    EXPECT_TRUE(controls.resultText().contains(QStringLiteral("2.125 M MACs")));
    // Exit 0 takes s0, s2 (right) and s3 (wrong); exit 1 takes s1 (right).
    EXPECT_EQ(histogram.correctBars(), (QVector<double>{2, 1, 0}));
    EXPECT_EQ(histogram.wrongBars(), (QVector<double>{1, 0, 0}));
    EXPECT_DOUBLE_EQ(tradeoff.currentPoint().x(), 2.125);
    EXPECT_DOUBLE_EQ(tradeoff.currentPoint().y(), 75.0);
    EXPECT_EQ(tradeoff.curvePointCount(QStringLiteral("static")), 3);
    EXPECT_EQ(tradeoff.curvePointCount(QStringLiteral("confidence")), 101);

    // The slider's position follows the typed value, and undo moves the box back.
    EXPECT_EQ(controls.thresholdEditor()->slider()->value(), 550);
    e.undoStack()->undo();
    EXPECT_DOUBLE_EQ(controls.thresholdEditor()->value(), 0.9);
    EXPECT_EQ(outcome.count(), 2);
    tradeoff.setCostUnit(TradeoffPlot::CostUnit::ParamFraction);
    EXPECT_DOUBLE_EQ(tradeoff.currentPoint().x(), 1.0);  // everything at the last exit
}

TEST(ControlsPanel, TheSpinBoxRangeRejectsOutOfRangeNumbers) {
    Explorer e;
    ControlsPanel controls(&e);
    loadHandTraces(e);
    controls.thresholdEditor()->spinBox()->setValue(3.0);
    EXPECT_FLOAT_EQ(e.settings().threshold, 1.0f);
    controls.policyBox()->setCurrentIndex(1);  // budgeted
    EXPECT_EQ(e.settings().policy, PolicyChoice::Budgeted);
    EXPECT_DOUBLE_EQ(controls.budgetEditor()->minimum(), 1.5);
    EXPECT_DOUBLE_EQ(controls.budgetEditor()->maximum(), 9.25);
    controls.budgetEditor()->spinBox()->setValue(1.5);
    EXPECT_DOUBLE_EQ(e.settings().budgetMacs, 1.5e6);
    // The cheapest budget sends every image out at exit 0.
    EXPECT_EQ(e.outcome().exitTaken, (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(ImageInspector, ShowsEachExitOfTheSelectedImage) {
    Explorer e;
    DatasetImages images;
    ImageInspector inspector(&e, &images);
    loadHandTraces(e);
    e.setThreshold(0.55f);
    e.selectSample(3);
    EXPECT_TRUE(inspector.headerText().contains(QStringLiteral("wrong")));
    EXPECT_EQ(inspector.cellText(0, 1), QStringLiteral("zero"));
    EXPECT_EQ(inspector.cellText(0, 2), QStringLiteral("0.700"));
    EXPECT_EQ(inspector.cellText(0, 4), QStringLiteral("leaves here (>= threshold 0.550)"));
    EXPECT_EQ(inspector.cellText(1, 4), QStringLiteral("not run"));
    EXPECT_EQ(inspector.cellText(0, 3), QStringLiteral("zero 0.70, one 0.20, two 0.10"));
    e.selectSample(1);
    EXPECT_EQ(inspector.cellText(0, 4), QStringLiteral("continues (< threshold 0.550)"));
    EXPECT_TRUE(inspector.cellText(1, 4).startsWith(QStringLiteral("leaves here"))) << inspector.cellText(1, 4).toStdString();

    inspector.setPresentationMode(true);
    EXPECT_EQ(inspector.step(), 0);
    EXPECT_TRUE(inspector.caption().contains(QStringLiteral("next exit"))) << inspector.caption().toStdString();
    EXPECT_TRUE(inspector.cellText(1, 1).isEmpty());  // not revealed yet
    inspector.nextStep();
    EXPECT_TRUE(inspector.caption().contains(QStringLiteral("leaves here, correctly")));
    EXPECT_EQ(inspector.cellText(1, 1), QStringLiteral("one"));
    inspector.nextStep();
    inspector.nextStep();  // stays at the last exit
    EXPECT_EQ(inspector.step(), 2);
}

TEST(ImageInspector, UnderGatesShowsTheGateProbabilities) {
    Explorer e;
    DatasetImages images;
    ImageInspector inspector(&e, &images);
    loadHandTraces(e);
    exitscope::core::GateSet gates;
    gates.weights = {{1.0f}, {1.0f}};
    gates.bias = {0.0f, 0.0f};
    gates.featureMean = {{0.0f}, {0.0f}};
    gates.featureStd = {{1.0f}, {1.0f}};
    e.setGateGrid({gates});
    e.setPolicy(PolicyChoice::Gates);
    e.selectSample(1);  // gate inputs -1 then +1: sigmoid(-1) = 0.269, sigmoid(1) = 0.731
    EXPECT_EQ(inspector.cellText(0, 2), QStringLiteral("0.269"));
    EXPECT_EQ(inspector.cellText(0, 4), QStringLiteral("continues (\u2264 gate boundary 0.500)"));
    EXPECT_EQ(inspector.cellText(1, 2), QStringLiteral("0.731"));
    EXPECT_EQ(inspector.cellText(1, 4), QStringLiteral("leaves here (> gate boundary 0.500)"));
    EXPECT_EQ(e.displayedThresholds(), (std::vector<float>{0.5f, 0.5f}));
    EXPECT_EQ(e.decision(1).steps.size(), 2u);
}

TEST(GalleryView, ClickingAThumbnailSelectsTheImageEverywhere) {
    Explorer e;
    DatasetImages images;
    GalleryView gallery(&e, &images);
    loadHandTraces(e);
    e.setThreshold(0.55f);
    EXPECT_TRUE(gallery.summaryText().contains(QStringLiteral("4 images")));
    QSignalSpy selection(&e, &Explorer::selectionChanged);
    gallery.resize(600, 400);
    gallery.show();
    QCoreApplication::processEvents();
    const QRect cell = gallery.grid()->visualRect(gallery.model()->index(3));  // row 3 shows s1
    ASSERT_TRUE(cell.isValid());
    QTest::mouseClick(gallery.grid()->viewport(), Qt::LeftButton, {}, cell.center());
    ASSERT_EQ(selection.count(), 1);
    EXPECT_EQ(e.selectedSample(), 1);
    // The arrow keys walk the thumbnails: row 2 shows s3.
    QTest::keyClick(gallery.grid(), Qt::Key_Left);
    EXPECT_EQ(e.selectedSample(), 3);
    // A control change keeps the selection.
    e.setThreshold(0.75f);
    EXPECT_EQ(e.selectedSample(), 3);
}

TEST(DatasetImages, AMissingDataSetIsANoteNotACrash) {
    DatasetImages images;
    QSignalSpy changed(&images, &DatasetImages::changed);
    images.request(QStringLiteral("/no/such/dataset/dir"), exitscope::core::SplitKind::Test);
    EXPECT_EQ(images.state(), DatasetImages::State::Loading);
    for (int i = 0; i < 100 && images.state() == DatasetImages::State::Loading; ++i) changed.wait(50);
    EXPECT_EQ(images.state(), DatasetImages::State::Failed);
    EXPECT_TRUE(images.message().contains(QStringLiteral("/no/such/dataset/dir")));
    EXPECT_TRUE(images.image(0).isNull());
    EXPECT_EQ(images.thumbnail(0, 32).size(), QSize(32, 32));  // the placeholder
}

// An image folder is shown at the input shape of the model the trace was
// profiled with: colour at 12 x 12 for a 3 x 12 x 12 model, gray 28 x 28 by default.
TEST(DatasetImages, AnImageFolderComesInTheShapeAsked) {
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    for (const QString& split : {QStringLiteral("train"), QStringLiteral("test")}) {
        for (const QString& cls : {QStringLiteral("blue"), QStringLiteral("red")}) {
            ASSERT_TRUE(QDir(dir.path()).mkpath(QStringLiteral("%1/%2").arg(split, cls)));
            QImage picture(20, 20, QImage::Format_RGB888);
            picture.fill(cls == QLatin1String("red") ? QColor(255, 0, 0) : QColor(0, 0, 255));
            ASSERT_TRUE(picture.save(QStringLiteral("%1/%2/%3/0.png").arg(dir.path(), split, cls)));
        }
    }
    auto load = [&](DatasetImages& images, std::array<int64_t, 3> shape) {
        QSignalSpy changed(&images, &DatasetImages::changed);
        images.request(dir.path(), exitscope::core::SplitKind::Test, 0, shape);
        for (int i = 0; i < 200 && images.state() == DatasetImages::State::Loading; ++i) changed.wait(50);
        ASSERT_EQ(images.state(), DatasetImages::State::Ready) << images.message().toStdString();
    };
    DatasetImages colour;
    load(colour, {3, 12, 12});
    const QImage red = colour.image(1);  // classes in byte order: blue, red
    ASSERT_EQ(red.size(), QSize(12, 12));
    EXPECT_EQ(red.pixelColor(6, 6), QColor(255, 0, 0));
    EXPECT_EQ(colour.image(0).pixelColor(6, 6), QColor(0, 0, 255));
    DatasetImages gray;
    load(gray, {0, 0, 0});
    const QImage grayRed = gray.image(1);
    ASSERT_EQ(grayRed.size(), QSize(28, 28));
    EXPECT_TRUE(grayRed.isGrayscale());
}

TEST(DatasetImages, ImagesSetDirectlyBecomeThumbnails) {
    exitscope::core::ImageSet set;
    set.channels = 1;
    set.height = 2;
    set.width = 2;
    set.pixels = {0, 255, 255, 0};
    set.labels = {0};
    set.classNames = {"a"};
    DatasetImages images;
    images.setImages(set, QStringLiteral("hand"));
    const QImage image = images.image(0);
    ASSERT_FALSE(image.isNull());
    EXPECT_EQ(qGray(image.pixel(0, 0)), 0);
    EXPECT_EQ(qGray(image.pixel(1, 0)), 255);
    EXPECT_TRUE(images.image(1).isNull());
}

namespace {

void writeIdx(const QString& path, quint32 magic, const QList<quint32>& dims, const QByteArray& data) {
    QFile f(path);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    QByteArray header;
    for (quint32 v : QList<quint32>{magic} + dims) {
        for (int shift = 24; shift >= 0; shift -= 8) header.append(static_cast<char>((v >> shift) & 0xff));
    }
    f.write(header + data);
}

} // namespace

TEST(DatasetImages, LoadsAnIdxFolderOffTheGuiThreadAndSwitchesSplitWithoutReloading) {
    QTemporaryDir dir;
    // Two 2x2 train images (labels 3, 4) and one test image (label 5).
    writeIdx(dir.filePath(QStringLiteral("train-images-idx3-ubyte")), 0x803, {2, 2, 2},
             QByteArray("\x00\x10\x20\x30\x40\x50\x60\x70", 8));
    writeIdx(dir.filePath(QStringLiteral("train-labels-idx1-ubyte")), 0x801, {2}, QByteArray("\x03\x04", 2));
    writeIdx(dir.filePath(QStringLiteral("t10k-images-idx3-ubyte")), 0x803, {1, 2, 2},
             QByteArray("\xff\xee\xdd\xcc", 4));
    writeIdx(dir.filePath(QStringLiteral("t10k-labels-idx1-ubyte")), 0x801, {1}, QByteArray("\x05", 1));

    DatasetImages images;
    QSignalSpy changed(&images, &DatasetImages::changed);
    images.setExpectedLabels({{0, 5}});
    images.request(dir.path(), exitscope::core::SplitKind::Test);
    for (int i = 0; i < 100 && images.state() == DatasetImages::State::Loading; ++i) changed.wait(50);
    ASSERT_EQ(images.state(), DatasetImages::State::Ready) << images.message().toStdString();
    EXPECT_EQ(qGray(images.image(0).pixel(0, 0)), 0xff);
    EXPECT_EQ(qGray(images.image(0).pixel(1, 1)), 0xcc);

    // The train split of the same folder: no new load, and the labels are checked again.
    images.setExpectedLabels({{1, 4}});
    images.request(dir.path(), exitscope::core::SplitKind::Train);
    EXPECT_EQ(images.state(), DatasetImages::State::Ready);
    EXPECT_EQ(qGray(images.image(1).pixel(0, 0)), 0x40);
    images.setExpectedLabels({{1, 9}});
    images.request(dir.path(), exitscope::core::SplitKind::Train);
    EXPECT_EQ(images.state(), DatasetImages::State::Failed);
    EXPECT_TRUE(images.message().contains(QStringLiteral("do not match")));
    EXPECT_TRUE(images.image(1).isNull());
}

TEST(Export, TunedConfigIsAcceptedByCoreAndTheCli) {
    Explorer e;
    loadHandTraces(e);
    e.setThreshold(0.55f);
    QTemporaryDir dir;
    const QString config = dir.filePath(QStringLiteral("tuned.json"));
    QString error;
    ASSERT_TRUE(exportTunedConfig(e, config, &error)) << error.toStdString();
    const auto loaded = exitscope::core::loadConfig(config.toStdString());
    EXPECT_EQ(loaded.policy.kind, exitscope::core::PolicyKind::Confidence);
    EXPECT_EQ(loaded.policy.confidence.thresholds, (std::vector<float>{0.55f}));
    EXPECT_EQ(loaded.weightsHash, "00ff00ff00ff00ff");
    ASSERT_TRUE(loaded.test.has_value());
    EXPECT_DOUBLE_EQ(loaded.test->accuracy, 0.75);

    // The CLI evaluates the exported config on the same trace and agrees.
    const QString trace = dir.filePath(QStringLiteral("test.safetensors"));
    exitscope::core::writeTrace(exitscope::test::explorerTrace("test"), trace.toStdString());
    QProcess cli;
    cli.start(QStringLiteral(EXITSCOPE_CLI_PATH),
              {QStringLiteral("eval"), QStringLiteral("--trace"), trace, QStringLiteral("--config"), config});
    ASSERT_TRUE(cli.waitForFinished(60000));
    const QString output = QString::fromUtf8(cli.readAllStandardOutput() + cli.readAllStandardError());
    EXPECT_EQ(cli.exitCode(), 0) << output.toStdString();
    EXPECT_TRUE(output.contains(QStringLiteral("accuracy 75.00%"))) << output.toStdString();

    // Loading it back into another explorer reproduces the setting.
    Explorer other;
    loadHandTraces(other);
    ASSERT_TRUE(other.loadTunedConfig(config)) << other.errorString().toStdString();
    EXPECT_FLOAT_EQ(other.settings().threshold, 0.55f);
    EXPECT_EQ(other.outcome().exitTaken, e.outcome().exitTaken);
}

TEST(Export, ConfigOfAnotherModelOrGarbageIsRefusedAndChangesNothing) {
    Explorer e;
    loadHandTraces(e);
    e.setThreshold(0.55f);
    QTemporaryDir dir;
    const QString config = dir.filePath(QStringLiteral("tuned.json"));
    QString error;
    ASSERT_TRUE(exportTunedConfig(e, config, &error));
    auto foreign = exitscope::core::loadConfig(config.toStdString());
    foreign.weightsHash = "abcdefabcdefabcd";
    foreign.policy.confidence.thresholds = {0.75f};
    const QString foreignPath = dir.filePath(QStringLiteral("foreign.json"));
    exitscope::core::saveConfig(foreign, foreignPath.toStdString());
    const QString garbage = dir.filePath(QStringLiteral("garbage.json"));
    {
        QFile f(garbage);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write("{ not json");
    }
    const int steps = e.undoStack()->count();
    QSignalSpy outcome(&e, &Explorer::outcomeChanged);
    EXPECT_FALSE(e.loadTunedConfig(foreignPath));
    EXPECT_TRUE(e.errorString().contains(QStringLiteral("abcdefabcdefabcd"))) << e.errorString().toStdString();
    EXPECT_FALSE(e.loadTunedConfig(garbage));
    EXPECT_TRUE(e.errorString().contains(garbage)) << e.errorString().toStdString();
    EXPECT_EQ(outcome.count(), 0);
    EXPECT_EQ(e.undoStack()->count(), steps);
    EXPECT_FLOAT_EQ(e.settings().threshold, 0.55f);

    // The oracle cannot be exported; the older file stays as it was.
    const QString before = readAll(config);
    e.setPolicy(PolicyChoice::Oracle);
    EXPECT_FALSE(exportTunedConfig(e, config, &error));
    EXPECT_TRUE(error.contains(QStringLiteral("oracle")));
    EXPECT_EQ(readAll(config), before);
}

TEST(Export, OutcomesCsvPlotsAndReport) {
    Explorer e;
    TradeoffPlot tradeoff(&e);
    ExitHistogram histogram(&e);
    loadHandTraces(e);
    e.setThreshold(0.55f);
    QTemporaryDir dir;
    QString error;
    const QString csv = dir.filePath(QStringLiteral("outcomes.csv"));
    ASSERT_TRUE(exportOutcomesCsv(e, csv, &error)) << error.toStdString();
    const QStringList lines = readAll(csv).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    ASSERT_EQ(lines.size(), 5);
    EXPECT_EQ(lines[0], QStringLiteral("row,sample_index,label,label_name,exit,prediction,prediction_name,confidence,correct"));
    EXPECT_EQ(lines[4], QStringLiteral("3,13,1,\"one\",0,0,\"zero\",0.7,0"));

    for (const QString& name : {QStringLiteral("tradeoff.png"), QStringLiteral("tradeoff.pdf")}) {
        ASSERT_TRUE(tradeoff.savePlot(dir.filePath(name), &error)) << error.toStdString();
    }
    EXPECT_FALSE(QImage(dir.filePath(QStringLiteral("tradeoff.png"))).isNull());
    EXPECT_TRUE(readAll(dir.filePath(QStringLiteral("tradeoff.pdf"))).startsWith(QStringLiteral("%PDF")));
    EXPECT_FALSE(histogram.savePlot(dir.filePath(QStringLiteral("plot.gif")), &error));
    EXPECT_TRUE(error.contains(QStringLiteral(".png or .pdf")));

    const QString report = dir.filePath(QStringLiteral("report.png"));
    ASSERT_TRUE(exportSummaryReport(e, {{QStringLiteral("Trade-off"), tradeoff.plotWidget()}}, report, &error))
        << error.toStdString();
    EXPECT_EQ(QImage(report).size(), QSize(1600, 900));
}

// A trace of corrupted images shows them as they were profiled: the asked
// images corrupted (brightness +0.2 of the range: +51 each, clipped at 255),
// the others and a clean trace untouched.
TEST(DatasetImages, ShowsACorruptedTracesImagesCorrupted) {
    QTemporaryDir dir;
    ASSERT_TRUE(dir.isValid());
    ASSERT_TRUE(QDir(dir.path()).mkpath(QStringLiteral("train/a")));
    ASSERT_TRUE(QDir(dir.path()).mkpath(QStringLiteral("test/a")));
    for (const QString& split : {QStringLiteral("train"), QStringLiteral("test")})
        for (int i = 0; i < 2; ++i) {
            QImage picture(28, 28, QImage::Format_Grayscale8);
            picture.fill(QColor(100 + 100 * i, 100 + 100 * i, 100 + 100 * i));
            ASSERT_TRUE(picture.save(QStringLiteral("%1/%2/a/%3.png").arg(dir.path(), split).arg(i)));
        }
    DatasetImages images;
    images.setCorruption(QStringLiteral("brightness:2"), 0, {0, 1});
    QSignalSpy changed(&images, &DatasetImages::changed);
    images.request(dir.path(), exitscope::core::SplitKind::Test);
    for (int i = 0; i < 200 && images.state() == DatasetImages::State::Loading; ++i) changed.wait(50);
    ASSERT_EQ(images.state(), DatasetImages::State::Ready) << images.message().toStdString();
    EXPECT_EQ(qGray(images.image(0).pixel(5, 5)), 151);
    EXPECT_EQ(qGray(images.image(1).pixel(5, 5)), 251);
    ASSERT_TRUE(images.imageSet());
    EXPECT_EQ(images.imageSet()->image(1)[0], 251);  // what a live run or Grad-CAM gets
    EXPECT_TRUE(images.message().contains(QStringLiteral("brightness:2")));
    images.setCorruption(QStringLiteral("brightness:2"), 0, {1});
    EXPECT_EQ(qGray(images.image(0).pixel(5, 5)), 100);
    EXPECT_EQ(images.message().count(QStringLiteral("brightness:2")), 1) << images.message().toStdString();
    images.setCorruption(QString(), 0, {});
    EXPECT_EQ(qGray(images.image(1).pixel(5, 5)), 200);
    images.setCorruption(QStringLiteral("fog:2"), 0, {0});
    EXPECT_TRUE(images.message().contains(QStringLiteral("fog"))) << images.message().toStdString();
    EXPECT_EQ(qGray(images.image(0).pixel(5, 5)), 100);
}
