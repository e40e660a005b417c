#include "core/policy/gates.h"
#include "explorer_fixture.h"
#include "widgets/explorer/class_table_model.h"
#include "widgets/explorer/explorer.h"
#include "widgets/gallery/gallery_model.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QUndoStack>

#include <gtest/gtest.h>

#include <cmath>

using exitscope::test::sharedTrace;
using exitscope::widgets::ClassTableModel;
using exitscope::widgets::Explorer;
using exitscope::widgets::GalleryModel;
using exitscope::widgets::PolicyChoice;

namespace {

std::vector<int> rowsOf(const GalleryModel& model) {
    std::vector<int> rows;
    for (int r = 0; r < model.rowCount(); ++r) rows.push_back(model.sampleAt(r));
    return rows;
}

std::vector<int64_t> exitsOf(const Explorer& e) {
    return e.outcome().exitTaken;
}

void loadHandTraces(Explorer& e) {
    e.setTraces(sharedTrace("val"), sharedTrace("test"), QStringLiteral("val"), QStringLiteral("test"));
}

} // namespace

TEST(Explorer, DefaultThresholdSendsEveryHandSampleToTheLastExit) {
    Explorer e;
    EXPECT_FALSE(e.hasData());
    loadHandTraces(e);
    ASSERT_TRUE(e.hasData());
    EXPECT_EQ(e.numExits(), 3);
    EXPECT_EQ(e.classNames(), QStringList({QStringLiteral("zero"), QStringLiteral("one"), QStringLiteral("two")}));
    // Threshold 0.9: no max softmax of exits 0 and 1 reaches it.
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{2, 2, 2, 2}));
    EXPECT_DOUBLE_EQ(e.metrics().accuracy, 1.0);
    EXPECT_EQ(e.selectedSample(), 0);
}

TEST(Explorer, OneOutcomeChangedPerControlChangeAndNoneForNoChange) {
    Explorer e;
    loadHandTraces(e);
    QSignalSpy outcome(&e, &Explorer::outcomeChanged);
    QSignalSpy policy(&e, &Explorer::policyChanged);
    e.setThreshold(0.55f);
    EXPECT_EQ(outcome.count(), 1);
    EXPECT_EQ(policy.count(), 1);
    // s0 0.6, s2 0.6, s3 0.7 leave at exit 0; s1 (0.5) leaves at exit 1 with 0.8.
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{0, 1, 0, 0}));
    EXPECT_DOUBLE_EQ(e.metrics().accuracy, 0.75);  // s3 answers 0 at exit 0, label 1
    EXPECT_DOUBLE_EQ(e.metrics().macs.mean, (3 * 1.5e6 + 4e6) / 4);
    e.setThreshold(0.55f);
    EXPECT_EQ(outcome.count(), 1);
    e.setThreshold(0.75f);
    EXPECT_EQ(outcome.count(), 2);
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{2, 1, 2, 2}));
}

TEST(Explorer, UndoAndRedoRestoreSettingsAndOutcome) {
    Explorer e;
    loadHandTraces(e);
    e.setThreshold(0.55f);
    e.setPolicy(PolicyChoice::Static);
    e.setStaticExit(1);
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_DOUBLE_EQ(e.metrics().accuracy, 0.75);  // exit 1 alone: s2 answers 1, label 2
    QSignalSpy outcome(&e, &Explorer::outcomeChanged);
    e.undoStack()->undo();  // static exit back to the default (last)
    EXPECT_EQ(outcome.count(), 1);
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{2, 2, 2, 2}));
    e.undoStack()->undo();  // policy back to confidence at 0.55
    EXPECT_EQ(e.settings().policy, PolicyChoice::Confidence);
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{0, 1, 0, 0}));
    e.undoStack()->undo();
    EXPECT_FLOAT_EQ(e.settings().threshold, 0.9f);
    EXPECT_FALSE(e.undoStack()->canUndo());
    e.undoStack()->redo();
    EXPECT_FLOAT_EQ(e.settings().threshold, 0.55f);
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{0, 1, 0, 0}));
    e.resetToDefaults();
    EXPECT_EQ(e.settings(), e.defaultSettings());
    e.undoStack()->undo();
    EXPECT_FLOAT_EQ(e.settings().threshold, 0.55f);
}

TEST(Explorer, BadValuesAreClampedIntoTheirRange) {
    Explorer e;
    loadHandTraces(e);
    e.setThreshold(1.7f);
    EXPECT_FLOAT_EQ(e.settings().threshold, 1.0f);
    e.setThreshold(std::nanf(""));
    EXPECT_FLOAT_EQ(e.settings().threshold, 0.9f);  // the default stands in for NaN
    e.setBudgetMacs(1e12);
    EXPECT_DOUBLE_EQ(e.settings().budgetMacs, 9.25e6);
    e.setBudgetMacs(-5);
    EXPECT_DOUBLE_EQ(e.settings().budgetMacs, 1.5e6);
    e.setStaticExit(7);
    EXPECT_EQ(e.settings().staticExit, 2);
    e.setExitThreshold(5, 0.1f);  // no such exit: ignored
    EXPECT_EQ(e.settings().exitThresholds, (std::vector<float>{0.9f, 0.9f}));
}

TEST(Explorer, PerExitThresholdsAndTheOracle) {
    Explorer e;
    loadHandTraces(e);
    e.setPerExit(true);
    e.setExitThreshold(0, 0.65f);  // only s3 (0.7) leaves at exit 0
    e.setExitThreshold(1, 0.75f);  // s1 (0.8) leaves at exit 1
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{2, 1, 2, 0}));
    EXPECT_EQ(e.displayedThresholds(), (std::vector<float>{0.65f, 0.75f}));
    e.setPolicy(PolicyChoice::Oracle);
    // Earliest correct exit: s0 at 0, s1 at 1, s2 at 0, s3 at 1.
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{0, 1, 0, 1}));
    EXPECT_DOUBLE_EQ(e.metrics().accuracy, 1.0);
    EXPECT_FALSE(e.policyConfig().has_value());
    EXPECT_TRUE(e.whyNotDeployable().contains(QStringLiteral("oracle")));
}

TEST(Explorer, AnytimeTakesTheDeepestExitWithinTheBudget) {
    Explorer e;
    loadHandTraces(e);
    e.setPolicy(PolicyChoice::Anytime);
    e.setAnytimeBudget(5e6);  // exit 1 (4 M) fits, exit 2 (9.25 M) does not
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{1, 1, 1, 1}));
    e.setAnytimeUnit(exitscope::core::BudgetUnit::Milliseconds);
    e.setAnytimeBudget(0.2);  // exit 0 (0.125 ms) only
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(Explorer, ExpectedAnytimeAccuracyUnderAnUnpredictableBudget) {
    Explorer e;
    loadHandTraces(e);
    // Exit accuracies 2/4, 3/4, 4/4 at 1.5, 4 and 9.25 M MACs; chance 1/3. A
    // budget uniform on [0, 10 M] has finished them with probability 0.85,
    // 0.6 and 0.075: 1/3 + (1/2 - 1/3) 0.85 + (3/4 - 1/2) 0.6 + (1 - 3/4) 0.075.
    const double expected = 1.0 / 3 + (0.5 - 1.0 / 3) * 0.85 + 0.25 * 0.6 + 0.25 * 0.075;
    EXPECT_NEAR(e.expectedAnytimeAccuracy(exitscope::core::BudgetDistribution::uniform(0.0, 10e6)), expected, 1e-12);
    // A fixed budget past the last exit is that exit's accuracy.
    EXPECT_DOUBLE_EQ(e.expectedAnytimeAccuracy(exitscope::core::BudgetDistribution::fixed(10e6)), 1.0);
}

TEST(Explorer, GatesFromAGridDecideByTheGateInputs) {
    Explorer e;
    loadHandTraces(e);
    exitscope::core::GateSet gates;
    gates.weights = {{1.0f}, {1.0f}};
    gates.bias = {0.0f, 0.0f};
    gates.featureMean = {{0.0f}, {0.0f}};
    gates.featureStd = {{1.0f}, {1.0f}};
    gates.alpha = 0.5;
    e.setGateGrid({gates});
    ASSERT_TRUE(e.gateGridReady());
    QSignalSpy outcome(&e, &Explorer::outcomeChanged);
    e.setPolicy(PolicyChoice::Gates);
    EXPECT_EQ(outcome.count(), 1);
    // s0 and s3 have +1 at exit 0; s1 has +1 at exit 1; s2 never.
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{0, 1, 2, 0}));
    EXPECT_DOUBLE_EQ(e.metrics().accuracy, 0.75);
    ASSERT_TRUE(e.policyConfig().has_value());
    EXPECT_EQ(e.policyConfig()->kind, exitscope::core::PolicyKind::Gates);
    EXPECT_EQ(e.curves().gates.size(), 1u);
}

TEST(Explorer, TrainsTheAlphaGridInTheBackground) {
    Explorer e;
    loadHandTraces(e);
    for (int i = 0; i < 400 && !e.gateGridReady(); ++i) {
        QSignalSpy spy(&e, &Explorer::gateGridChanged);
        spy.wait(50);
    }
    ASSERT_TRUE(e.gateGridReady());
    EXPECT_EQ(e.alphas().size(), 21u);
    EXPECT_EQ(e.curves().gates.size(), 21u);
    e.setPolicy(PolicyChoice::Gates);
    QSignalSpy outcome(&e, &Explorer::outcomeChanged);
    e.setAlphaIndex(0);
    EXPECT_EQ(outcome.count(), 1);
    // The shown outcome is core's answer for the chosen gates.
    const auto config = e.policyConfig();
    ASSERT_TRUE(config.has_value());
    EXPECT_DOUBLE_EQ(config->gates.alpha, 0.0);
    EXPECT_EQ(e.outcome().exitTaken, exitscope::core::applyGates(*e.testTrace(), config->gates).exitTaken);
}

TEST(Explorer, BadTraceFileLeavesTheStateUntouched) {
    Explorer e;
    loadHandTraces(e);
    e.setThreshold(0.55f);
    QTemporaryDir dir;
    const QString bad = dir.filePath(QStringLiteral("bad.safetensors"));
    {
        QFile f(bad);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write("not a trace");
    }
    QSignalSpy outcome(&e, &Explorer::outcomeChanged);
    EXPECT_FALSE(e.loadTrace(bad));
    EXPECT_TRUE(e.errorString().contains(bad)) << e.errorString().toStdString();
    EXPECT_FALSE(e.loadTrace(dir.filePath(QStringLiteral("missing.safetensors"))));
    EXPECT_EQ(outcome.count(), 0);
    EXPECT_EQ(e.numSamples(), 4);
    EXPECT_FLOAT_EQ(e.settings().threshold, 0.55f);
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{0, 1, 0, 0}));
}

TEST(Explorer, ValidationTraceOfAnotherModelIsDropped) {
    auto val = std::make_shared<exitscope::core::Trace>(exitscope::test::explorerTrace("val"));
    val->metadata["weights_hash"] = "1111111111111111";
    Explorer e;
    e.setTraces(val, sharedTrace("test"));
    EXPECT_EQ(e.valTrace(), nullptr);
    EXPECT_TRUE(e.fittedOnTest());
    EXPECT_TRUE(e.note().contains(QStringLiteral("1111111111111111")));
}

TEST(GalleryModel, GroupsByExitAndFilters) {
    Explorer e;
    loadHandTraces(e);
    GalleryModel model(&e);
    EXPECT_EQ(rowsOf(model), (std::vector<int>{0, 1, 2, 3}));  // all at exit 2
    e.setThreshold(0.55f);                                       // exits {0, 1, 0, 0}
    EXPECT_EQ(rowsOf(model), (std::vector<int>{0, 2, 3, 1}));
    EXPECT_EQ(model.groupSizes(), (std::vector<int>{3, 1, 0}));
    EXPECT_EQ(model.rowOfSample(1), 3);
    EXPECT_EQ(model.data(model.index(2), GalleryModel::ExitRole).toInt(), 0);
    EXPECT_FALSE(model.data(model.index(2), GalleryModel::CorrectRole).toBool());  // s3 answers 0, label 1
    EXPECT_EQ(model.data(model.index(2), GalleryModel::PredictionRole).toInt(), 0);
    EXPECT_NEAR(model.data(model.index(2), GalleryModel::ConfidenceRole).toDouble(), 0.7, 1e-6);

    EXPECT_EQ(model.correctCount(), 3);
    model.setCorrectness(GalleryModel::Correctness::Correct);
    EXPECT_EQ(rowsOf(model), (std::vector<int>{0, 2, 1}));
    model.setCorrectness(GalleryModel::Correctness::Wrong);
    EXPECT_EQ(rowsOf(model), (std::vector<int>{3}));
    EXPECT_EQ(model.groupSizes(), (std::vector<int>{1, 0, 0}));
    EXPECT_EQ(model.rowOfSample(0), -1);
    model.setCorrectness(GalleryModel::Correctness::All);
    model.setClassFilter(1);  // labels 1: s1, s3
    EXPECT_EQ(rowsOf(model), (std::vector<int>{3, 1}));
    model.setClassFilter(-1);
    model.setExitFilter(0);
    EXPECT_EQ(rowsOf(model), (std::vector<int>{0, 2, 3}));
    EXPECT_EQ(model.groupSizes(), (std::vector<int>{3, 1, 0}));
    model.setExitFilter(-1);
    model.setSort(GalleryModel::Sort::ConfidenceDescending);  // exit 0: s3 0.7, then s0 and s2 at 0.6
    EXPECT_EQ(rowsOf(model), (std::vector<int>{3, 0, 2, 1}));
    model.setSort(GalleryModel::Sort::ConfidenceAscending);
    EXPECT_EQ(rowsOf(model), (std::vector<int>{0, 2, 3, 1}));
    EXPECT_TRUE(model.data(model.index(0), Qt::ToolTipRole).toString().contains(QStringLiteral("zero")));
}

TEST(ClassTableModel, PerClassCountAccuracyAndMeanExit) {
    Explorer e;
    loadHandTraces(e);
    ClassTableModel model(&e);
    e.setThreshold(0.55f);  // exits {0, 1, 0, 0}, s3 wrong
    ASSERT_EQ(model.rowCount(), 3);
    auto value = [&](int row, int column) {
        return model.data(model.index(row, column), ClassTableModel::ValueRole).toDouble();
    };
    EXPECT_EQ(model.data(model.index(1, ClassTableModel::ClassColumn)).toString(), QStringLiteral("one"));
    EXPECT_EQ(value(1, ClassTableModel::CountColumn), 2);
    EXPECT_DOUBLE_EQ(value(1, ClassTableModel::AccuracyColumn), 0.5);
    EXPECT_DOUBLE_EQ(value(1, ClassTableModel::MeanExitColumn), 0.5);
    EXPECT_DOUBLE_EQ(value(0, ClassTableModel::AccuracyColumn), 1.0);
    EXPECT_DOUBLE_EQ(value(2, ClassTableModel::MeanExitColumn), 0.0);
    EXPECT_EQ(model.data(model.index(1, ClassTableModel::AccuracyColumn)).toString(), QStringLiteral("50.0"));
}

TEST(Explorer, ASliderDragIsOneUndoStep) {
    Explorer e;
    loadHandTraces(e);
    // Quick successive values of one slider merge; another control is a new step.
    e.setThreshold(0.5f);
    e.setThreshold(0.6f);
    e.setThreshold(0.7f);
    EXPECT_EQ(e.undoStack()->count(), 1);
    e.setCalibrated(true);
    EXPECT_EQ(e.undoStack()->count(), 2);
    e.undoStack()->undo();
    EXPECT_FALSE(e.settings().calibrated);
    EXPECT_FLOAT_EQ(e.settings().threshold, 0.7f);
    e.undoStack()->undo();
    EXPECT_FLOAT_EQ(e.settings().threshold, 0.9f);
}

TEST(Explorer, BudgetedPolicyFitsOnValidationAndBecomesAConfig) {
    Explorer e;
    loadHandTraces(e);
    e.setPolicy(PolicyChoice::Budgeted);
    e.setBudgetMacs(9.25e6);  // the whole network's cost: every image runs to the end
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{2, 2, 2, 2}));
    e.setBudgetMacs(1.5e6);  // the first exit's cost: every image leaves there
    EXPECT_EQ(exitsOf(e), (std::vector<int64_t>{0, 0, 0, 0}));
    ASSERT_TRUE(e.budgetedFit().has_value());
    EXPECT_DOUBLE_EQ(e.budgetedFit()->q, 1.0);
    const auto config = e.policyConfig();
    ASSERT_TRUE(config.has_value());
    EXPECT_EQ(config->kind, exitscope::core::PolicyKind::Budgeted);
    EXPECT_DOUBLE_EQ(config->budgeted.budgetPerSample, 1.5e6);
}
