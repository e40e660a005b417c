// The app as one state: a live run under every policy the trace supports,
// the layout Reset Layout brings back, a session that restores the weights,
// the layout and the panels' settings, views that drop stale results, and a
// window that fits a laptop screen.
#include "app/gui/live_runner.h"

#include "app/gui/main_window.h"
#include "app/gui/panels.h"
#include "app/gui/session.h"
#include "core/data/registry.h"
#include "core/trace/trace.h"
#include "core/policy/decision.h"
#include "widgets/elastic/elastic_panel.h"
#include "widgets/split/event_timeline.h"
#include "widgets/explorer/exit_histogram.h"
#include "widgets/explorer/image_inspector.h"
#include "widgets/explorer/explorer.h"
#include "widgets/gallery/gallery_model.h"
#include "widgets/gallery/gallery_view.h"
#include "widgets/network/network_view.h"
#include "widgets/split/split_panel.h"

#include <QDockWidget>
#include <QImage>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <gtest/gtest.h>

#include <functional>
#include <random>

using exitscope::app::AnalysisPanels;
using exitscope::app::MainWindow;
using exitscope::app::SessionAutosave;

namespace {

const QString kAssets = QStringLiteral(EXITSCOPE_SOURCE_DIR "/assets/models/");

QDockWidget* dock(MainWindow& w, const char* name) { return w.findChild<QDockWidget*>(QLatin1String(name)); }

// A test image of the bundled data set written as a PNG, as a user would drop it.
QString writeTestImage(const QTemporaryDir& dir, int64_t index) {
    static const auto data = exitscope::core::loadDataset("fashion-mnist");
    const QImage image(data.testImages.image(static_cast<std::size_t>(index)), 28, 28, 28, QImage::Format_Grayscale8);
    const QString file = dir.filePath(QStringLiteral("image%1.png").arg(index));
    return image.save(file) ? file : QString();
}

void openBundled(MainWindow& w) {
    ASSERT_TRUE(w.openWeights(kAssets + QStringLiteral("msdnet-fashion-mnist.pt"))) << w.lastError().toStdString();
    ASSERT_TRUE(w.openTrace(kAssets + QStringLiteral("msdnet-fashion-mnist-val.safetensors")));
    ASSERT_TRUE(w.openTrace(kAssets + QStringLiteral("msdnet-fashion-mnist-test.safetensors")));
}

} // namespace

// Problem 3: an anytime budget in ms ran live only with exit times the app never handed over.
TEST(AppState, ALiveRunWithAnAnytimeBudgetInMsUsesTheTracesExitTimes) {
    MainWindow w;
    w.setErrorPopups(false);
    auto* panels = new AnalysisPanels(w);
    openBundled(w);
    auto* e = w.explorer();
    const auto* trace = e->testTrace();
    e->setPolicy(exitscope::widgets::PolicyChoice::Anytime);
    e->setAnytimeUnit(exitscope::core::BudgetUnit::Milliseconds);
    e->setAnytimeBudget(static_cast<double>(trace->exitMs[2]) * 1.001);
    ASSERT_EQ(e->decider()->fixedExit(), 2);
    QTemporaryDir dir;
    QSignalSpy ready(panels->liveRunner(), &exitscope::app::LiveRunner::pathReady);
    emit w.imageDropped(writeTestImage(dir, trace->sampleIndex[0]));
    ASSERT_TRUE(QTest::qWaitFor([&] { return ready.count() == 1; }, 20000)) << w.lastError().toStdString();
    const auto& path = panels->networkView()->path();
    EXPECT_TRUE(path.live);
    EXPECT_EQ(path.exitTaken, 2);
    EXPECT_EQ(path.exitsEvaluated, (std::vector<int64_t>{2}));  // a fixed exit runs only its own head
    // Problem 6: a dropped image showed in the network view only; the state holds it, the inspector shows it too.
    auto* inspector = w.findChild<exitscope::widgets::ImageInspector*>();
    ASSERT_TRUE(e->liveResult().has_value());
    EXPECT_TRUE(inspector->headerText().contains(QStringLiteral("LIVE"))) << inspector->headerText().toStdString();
    EXPECT_TRUE(inspector->cellText(2, 4).startsWith(QStringLiteral("leaves here"))) << inspector->cellText(2, 4).toStdString();
    EXPECT_EQ(inspector->cellText(0, 4), QStringLiteral("skipped"));
    // Problem 6: the live path answers for the policy it ran with; another policy shows the trace's path again.
    e->selectSample(0);
    emit w.imageDropped(writeTestImage(dir, trace->sampleIndex[0]));
    ASSERT_TRUE(QTest::qWaitFor([&] { return ready.count() == 2; }, 20000));
    ASSERT_TRUE(panels->networkView()->path().live);
    e->setPolicy(exitscope::widgets::PolicyChoice::Confidence);
    EXPECT_FALSE(e->liveResult().has_value());
    EXPECT_FALSE(panels->networkView()->path().live);
    EXPECT_FALSE(inspector->headerText().contains(QStringLiteral("LIVE")));
    EXPECT_EQ(panels->networkView()->path().exitTaken, e->outcome().exitTaken[0]);
}

// Problem 4: Reset Layout took its picture before the split and elastic docks existed.
TEST(AppState, ResetLayoutBringsBackEveryDockTabbed) {
    MainWindow w;
    w.setErrorPopups(false);
    new AnalysisPanels(w);
    w.resize(1280, 800);
    w.show();
    QDockWidget* network = dock(w, "NetworkDock");
    QDockWidget* split = dock(w, "SplitDock");
    QDockWidget* elastic = dock(w, "ElasticDock");
    ASSERT_TRUE(network && split && elastic);
    split->close();
    elastic->setFloating(true);
    dock(w, "GalleryDock")->close();
    w.resetLayout();
    for (QDockWidget* d : w.findChildren<QDockWidget*>()) {
        if (d->objectName() == QStringLiteral("BannerDock") || d->widget() == nullptr) continue;
        if (d->windowTitle().isEmpty()) continue;
        EXPECT_FALSE(d->isHidden()) << d->objectName().toStdString();
        EXPECT_FALSE(d->isFloating()) << d->objectName().toStdString();
    }
    const auto tabbed = w.tabifiedDockWidgets(network);
    EXPECT_TRUE(tabbed.contains(split));
    EXPECT_TRUE(tabbed.contains(elastic));
}

// Problem 5: the autosave kept "weights": "" (it started after they opened),
// no layout and no split or elastic settings; a live run failed after a restore.
TEST(AppState, ARestoredSessionBringsBackWeightsLayoutAndPanelsAndRunsLive) {
    QTemporaryDir dir;
    const QString session = dir.filePath(QStringLiteral("session.json"));
    {
        MainWindow w;
        w.setErrorPopups(false);
        auto* panels = new AnalysisPanels(w);
        openBundled(w);
        auto* autosave = new SessionAutosave(w, session);  // as main does: after the files
        panels->splitPanel()->setBandwidthMbps(3.5);
        panels->splitPanel()->setRttMs(42.0);
        ASSERT_TRUE(panels->elasticPanel()->setDeadlineSpec(QStringLiteral("uniform:0.3,0.7")));
        dock(w, "HistogramDock")->close();
        w.explorer()->setThreshold(0.77f);
        ASSERT_TRUE(autosave->saveNow());
    }
    MainWindow w;
    w.setErrorPopups(false);
    auto* panels = new AnalysisPanels(w);
    w.show();
    QString error;
    ASSERT_TRUE(SessionAutosave::restore(w, session, &error)) << error.toStdString();
    EXPECT_EQ(w.weightsPath(), kAssets + QStringLiteral("msdnet-fashion-mnist.pt"));
    EXPECT_DOUBLE_EQ(panels->splitPanel()->bandwidthMbps(), 3.5);
    EXPECT_DOUBLE_EQ(panels->splitPanel()->conditions().link.rttMs, 42.0);
    EXPECT_EQ(panels->elasticPanel()->settings().deadlineSpec, "uniform:0.3,0.7");
    EXPECT_TRUE(dock(w, "HistogramDock")->isHidden());
    EXPECT_FLOAT_EQ(w.explorer()->settings().threshold, 0.77f);
    QSignalSpy ready(panels->liveRunner(), &exitscope::app::LiveRunner::pathReady);
    QSignalSpy failed(panels->liveRunner(), &exitscope::app::LiveRunner::liveFailed);
    emit w.imageDropped(writeTestImage(dir, w.explorer()->testTrace()->sampleIndex[1]));
    ASSERT_TRUE(QTest::qWaitFor([&] { return ready.count() + failed.count() == 1; }, 20000));
    ASSERT_EQ(ready.count(), 1) << (failed.isEmpty() ? std::string() : failed.at(0).at(0).toString().toStdString());
    EXPECT_EQ(panels->networkView()->path().exitTaken, w.explorer()->outcome().exitTaken[1]);
}

// Problem 6: the gallery stayed on an exit that the new policy left empty;
// the event simulation kept showing a run of other settings without a word.
TEST(AppState, ViewsDropWhatANewPolicyOrNewSettingsMadeStale) {
    MainWindow w;
    w.setErrorPopups(false);
    auto* panels = new AnalysisPanels(w);
    openBundled(w);
    auto* e = w.explorer();
    auto* gallery = w.findChild<exitscope::widgets::GalleryView*>();
    ASSERT_NE(gallery, nullptr);
    e->setThreshold(0.5f);
    gallery->model()->setExitFilter(0);
    ASSERT_GT(gallery->model()->rowCount(), 0);
    e->selectSample(3);
    e->setPolicy(exitscope::widgets::PolicyChoice::Static);
    e->setStaticExit(e->numExits() - 1);  // nobody leaves at exit 0 now
    EXPECT_EQ(gallery->model()->exitFilter(), e->numExits() - 1);
    EXPECT_GT(gallery->model()->rowCount(), 0);

    auto* timeline = panels->timeline();
    timeline->setAutoRun(false);
    QSignalSpy done(timeline, &exitscope::widgets::EventTimeline::simulationFinished);
    timeline->run();
    ASSERT_TRUE(QTest::qWaitFor([&] { return done.count() == 1; }, 20000));
    EXPECT_FALSE(timeline->isStale());
    panels->splitPanel()->setBandwidthMbps(panels->splitPanel()->bandwidthMbps() * 2.0);
    EXPECT_TRUE(timeline->isStale());
}

// Problem 7: the window asked for 1048x1077, taller than a 1280x800 laptop screen.
TEST(AppState, TheWindowFitsALaptopScreen) {
    MainWindow w;
    w.setErrorPopups(false);
    new AnalysisPanels(w);
    openBundled(w);
    w.resize(1280, 800);
    w.show();
    QApplication::processEvents();
    const QSize min = w.minimumSizeHint().expandedTo(w.minimumSize());
    EXPECT_LE(min.width(), 1024) << min.width() << "x" << min.height();
    EXPECT_LE(min.height(), 700) << min.width() << "x" << min.height();
    w.setPresentationMode(true);
    QApplication::processEvents();
    const QSize presenting = w.minimumSizeHint().expandedTo(w.minimumSize());
    // Test image 0 is an ankle boot that leaves at exit 0: "an Ankle boot", not "a Ankle boot".
    w.explorer()->selectSample(0);
    auto* inspector = w.findChild<exitscope::widgets::ImageInspector*>();
    EXPECT_TRUE(inspector->caption().contains(QStringLiteral("it looks like an Ankle boot"))) << inspector->caption().toStdString();
    EXPECT_LE(presenting.height(), 800) << presenting.width() << "x" << presenting.height();
    EXPECT_LE(presenting.width(), 1280) << presenting.width() << "x" << presenting.height();
}

// ---------------------------------------------------------------------------
// Every view presents the decision API's exits, scores and boundaries.

namespace {

struct PolicyStep {
    std::string name;
    std::function<void(exitscope::widgets::Explorer&)> apply;
};

std::vector<PolicyStep> policyVariants(const exitscope::core::Trace& test) {
    using exitscope::core::BudgetUnit;
    using exitscope::core::ConfidenceCriterion;
    using exitscope::widgets::PolicyChoice;
    std::vector<PolicyStep> out;
    for (auto criterion : {ConfidenceCriterion::MaxSoftmax, ConfidenceCriterion::Entropy, ConfidenceCriterion::Margin})
        for (bool perExit : {false, true})
            for (bool calibrated : {false, true})
                out.push_back({"confidence " + exitscope::core::criterionName(criterion) + (perExit ? " per-exit" : "") +
                                   (calibrated ? " calibrated" : ""),
                               [=](exitscope::widgets::Explorer& e) {
                                   e.setPolicy(PolicyChoice::Confidence);
                                   e.setCriterion(criterion);
                                   e.setCalibrated(calibrated);
                                   e.setPerExit(perExit);
                                   if (perExit) {
                                       for (int k = 0; k + 1 < e.numExits(); ++k)
                                           e.setExitThreshold(k, 0.55f + 0.4f * static_cast<float>(k % 3) / 3.0f);
                                   } else {
                                       e.setThreshold(0.8f);
                                   }
                               }});
    out.push_back({"budgeted", [](exitscope::widgets::Explorer& e) {
                       e.setPolicy(PolicyChoice::Budgeted);
                       const auto [lo, hi] = e.budgetRange();
                       e.setBudgetMacs(lo + 0.3 * (hi - lo));
                   }});
    out.push_back({"gates", [](exitscope::widgets::Explorer& e) {
                       e.setPolicy(PolicyChoice::Gates);
                       e.setAlphaIndex(2);
                   }});
    out.push_back({"static", [](exitscope::widgets::Explorer& e) {
                       e.setPolicy(PolicyChoice::Static);
                       e.setStaticExit(e.numExits() / 2);
                   }});
    const double macs = static_cast<double>(test.exitMacs[1]) + 1.0;
    const double ms = static_cast<double>(test.exitMs[test.exitMs.size() - 2]) * 1.001;
    out.push_back({"anytime macs", [=](exitscope::widgets::Explorer& e) {
                       e.setPolicy(PolicyChoice::Anytime);
                       e.setAnytimeUnit(BudgetUnit::Macs);
                       e.setAnytimeBudget(macs);
                   }});
    out.push_back({"anytime ms", [=](exitscope::widgets::Explorer& e) {
                       e.setPolicy(PolicyChoice::Anytime);
                       e.setAnytimeUnit(BudgetUnit::Milliseconds);
                       e.setAnytimeBudget(ms);
                   }});
    out.push_back({"oracle", [](exitscope::widgets::Explorer& e) { e.setPolicy(PolicyChoice::Oracle); }});
    return out;
}

QString fixed(double v, int decimals) { return QString::number(v, 'f', decimals); }

void expectViewsAgree(const QString& model) {
    MainWindow w;
    w.setErrorPopups(false);
    auto* panels = new AnalysisPanels(w);
    ASSERT_TRUE(w.openTrace(kAssets + model + QStringLiteral("-fashion-mnist-val.safetensors")));
    ASSERT_TRUE(w.openTrace(kAssets + model + QStringLiteral("-fashion-mnist-test.safetensors")));
    auto* e = w.explorer();
    ASSERT_TRUE(QTest::qWaitFor([&] { return e->gateGridReady(); }, 60000)) << "the LEENet alpha grid did not train";
    auto test = std::make_shared<const exitscope::core::Trace>(*e->testTrace());
    const int64_t K = test->numExits;
    auto* inspector = w.findChild<exitscope::widgets::ImageInspector*>();
    auto* gallery = w.findChild<exitscope::widgets::GalleryView*>();
    auto* histogram = w.findChild<exitscope::widgets::ExitHistogram*>();
    ASSERT_TRUE(inspector && gallery && histogram);
    std::mt19937 rng(7);
    for (const PolicyStep& variant : policyVariants(*test)) {
        SCOPED_TRACE(variant.name);
        variant.apply(*e);
        ASSERT_TRUE(e->note().isEmpty() || !e->note().contains(QStringLiteral("outside"))) << e->note().toStdString();
        // The decision API, asked directly with the policy the controls describe.
        const auto policy = e->policyConfig();
        const bool oracle = e->settings().policy == exitscope::widgets::PolicyChoice::Oracle;
        ASSERT_EQ(policy.has_value(), !oracle);
        const exitscope::core::Decider d = oracle ? exitscope::core::Decider::oracle(test)
                                                  : exitscope::core::Decider(test, *policy);
        // The live runner is handed exactly this policy (AnalysisPanels passes policyConfig()).
        ASSERT_EQ(e->outcome().exitTaken, d.outcome().exitTaken);
        ASSERT_EQ(e->outcome().prediction, d.outcome().prediction);

        // Histogram bars and gallery groups count the decision API's exits.
        std::vector<int> count(static_cast<std::size_t>(K), 0), correct(static_cast<std::size_t>(K), 0);
        for (int64_t n = 0; n < test->numSamples; ++n) {
            const auto k = static_cast<std::size_t>(d.outcome().exitTaken[static_cast<std::size_t>(n)]);
            ++count[k];
            correct[k] += d.outcome().prediction[static_cast<std::size_t>(n)] == test->labels[static_cast<std::size_t>(n)];
        }
        ASSERT_EQ(histogram->correctBars().size(), K);
        for (int64_t k = 0; k < K; ++k) {
            const auto i = static_cast<std::size_t>(k);
            EXPECT_EQ(histogram->correctBars()[static_cast<int>(k)], correct[i]) << "exit " << k;
            EXPECT_EQ(histogram->wrongBars()[static_cast<int>(k)], count[i] - correct[i]) << "exit " << k;
            EXPECT_EQ(gallery->model()->groupSizes()[i], count[i]) << "exit " << k;
        }

        for (int i = 0; i < 200; ++i) {
            const int n = static_cast<int>(rng() % static_cast<unsigned>(test->numSamples));
            e->selectSample(n);
            const exitscope::core::SampleDecision s = d.decide(n);
            // Network view: its path and every exit's tooltip.
            const auto& path = panels->networkView()->path();
            ASSERT_EQ(path.exitTaken, s.exitTaken) << "sample " << n;
            ASSERT_EQ(path.exitsEvaluated.size(), s.steps.size()) << "sample " << n;
            EXPECT_EQ(path.thresholds, d.boundaries());
            EXPECT_EQ(path.scoreName.toStdString(), d.scoreName());
            for (std::size_t j = 0; j < s.steps.size(); ++j) {
                const auto& step = s.steps[j];
                EXPECT_EQ(path.exitsEvaluated[j], step.exit);
                EXPECT_EQ(path.confidences[j], step.score);
                const QString tip = panels->networkView()->toolTipAt(panels->networkView()->exitRect(step.exit).center());
                QString expected = QStringLiteral("%1 %2").arg(QString::fromStdString(d.scoreName()), fixed(step.score, 3));
                if (step.compared)
                    expected += QStringLiteral(" %1 %2 %3")
                                    .arg(step.leaves ? (d.comparison() == ">" ? QStringLiteral(">") : QStringLiteral("\u2265"))
                                                     : (d.comparison() == ">" ? QStringLiteral("\u2264") : QStringLiteral("&lt;")))
                                    .arg(QString::fromStdString(d.boundaryName()), fixed(step.boundary, 3));
                EXPECT_TRUE(tip.contains(expected.replace(QStringLiteral(">"), QStringLiteral("&gt;"))))
                    << "sample " << n << " exit " << step.exit << ": " << tip.toStdString() << " lacks "
                    << expected.toStdString();
            }
            // Inspector rows: the score at every exit and the decision where one was taken.
            for (int64_t k = 0; k < K; ++k) {
                EXPECT_EQ(inspector->cellText(static_cast<int>(k), 2), fixed(d.score(n, k), 3)) << "sample " << n << " exit " << k;
                const QString decision = inspector->cellText(static_cast<int>(k), 4);
                const auto* step = [&]() -> const exitscope::core::ExitStep* {
                    for (const auto& st : s.steps)
                        if (st.exit == k) return &st;
                    return nullptr;
                }();
                if (!step) {
                    EXPECT_TRUE(decision == QStringLiteral("not run") || decision == QStringLiteral("skipped"))
                        << decision.toStdString();
                } else {
                    EXPECT_TRUE(decision.startsWith(step->leaves ? QStringLiteral("leaves here") : QStringLiteral("continues")))
                        << "sample " << n << " exit " << k << ": " << decision.toStdString();
                    EXPECT_EQ(decision.contains(fixed(step->boundary, 3)), step->compared) << decision.toStdString();
                }
            }
        }
        // Presentation text, exit by exit, for a few images.
        w.setPresentationMode(true);
        for (int i = 0; i < 5; ++i) {
            const int n = static_cast<int>(rng() % static_cast<unsigned>(test->numSamples));
            e->selectSample(n);
            const exitscope::core::SampleDecision s = d.decide(n);
            for (int64_t k = 0; k < K; ++k) {
                const QString caption = inspector->caption();
                EXPECT_TRUE(caption.contains(QStringLiteral("%1 %2").arg(QString::fromStdString(d.scoreName()),
                                                                          fixed(d.score(n, k), 2))))
                    << caption.toStdString();
                for (const auto& st : s.steps)
                    if (st.exit == k && st.compared) {
                        EXPECT_TRUE(caption.contains(fixed(st.boundary, 2))) << caption.toStdString();
                    }
                if (k == s.exitTaken) {
                    EXPECT_TRUE(caption.contains(QStringLiteral("leaves here"))) << caption.toStdString();
                }
                inspector->nextStep();
            }
        }
        w.setPresentationMode(false);
    }
    // The split panel's chosen design leaves images where the decision API says that design does.
    const auto chosen = panels->splitPanel()->chosenExitHistogram();
    if (!chosen.empty()) {
        exitscope::core::PolicyConfig design;
        const double threshold = panels->splitPanel()->chosenThreshold();
        if (threshold < 0) {
            design.kind = exitscope::core::PolicyKind::Static;
            design.staticExit = K - 1;
        } else {
            design.confidence.thresholds = {static_cast<float>(threshold)};
        }
        const exitscope::core::Decider d(test, design);
        std::vector<int64_t> expected(static_cast<std::size_t>(K), 0);
        for (auto k : d.outcome().exitTaken) ++expected[static_cast<std::size_t>(k)];
        EXPECT_EQ(chosen, expected);
    }
}

} // namespace

TEST(AppState, EveryViewShowsTheDecisionApisExitsScoresAndBoundariesMsdnet) { expectViewsAgree(QStringLiteral("msdnet")); }

TEST(AppState, EveryViewShowsTheDecisionApisExitsScoresAndBoundariesVggFine) {
    expectViewsAgree(QStringLiteral("vgg-fine"));
}
