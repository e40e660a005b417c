#include "core/common/error.h"
#include "widgets/common/job_runner.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>
#include <QThread>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

using exitscope::widgets::JobProgressWidget;
using exitscope::widgets::JobRunner;

namespace {

// Reports progress every few milliseconds until it is cancelled; remembers
// the thread it ran on.
struct EndlessJob {
    std::shared_ptr<std::atomic<const void*>> thread = std::make_shared<std::atomic<const void*>>(nullptr);
    std::shared_ptr<std::atomic<bool>> sawCancel = std::make_shared<std::atomic<bool>>(false);

    exitscope::widgets::Job job() const {
        auto thread = this->thread;
        auto sawCancel = this->sawCancel;
        return [thread, sawCancel](const exitscope::core::ProgressFn& progress, const exitscope::core::CancelFlag& cancel) {
            thread->store(QThread::currentThread());
            for (int i = 0;; ++i) {
                progress({(i % 100) / 100.0, "step " + std::to_string(i)});
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                if (cancel.load()) sawCancel->store(true);
                exitscope::core::throwIfCancelled(&cancel);
            }
            return QVariant();
        };
    }
};

} // namespace

TEST(JobRunner, ProgressArrivesOnTheGuiThreadAndCancelStopsWithinTwoSeconds) {
    JobRunner runner;
    EndlessJob endless;
    int progressOnGui = 0, progressElsewhere = 0;
    QObject::connect(&runner, &JobRunner::progress, [&](double fraction, const QString& message) {
        (QThread::currentThread() == qApp->thread() ? progressOnGui : progressElsewhere) += 1;
        EXPECT_GE(fraction, 0.0);
        EXPECT_LE(fraction, 1.0);
        EXPECT_TRUE(message.startsWith(QStringLiteral("step ")));
    });
    QSignalSpy cancelled(&runner, &JobRunner::cancelled);
    QSignalSpy finished(&runner, &JobRunner::finished);
    QSignalSpy busy(&runner, &JobRunner::busyChanged);
    runner.start(endless.job(), QStringLiteral("endless"));
    EXPECT_TRUE(runner.isBusy());
    EXPECT_EQ(runner.currentLabel(), QStringLiteral("endless"));
    ASSERT_TRUE(QTest::qWaitFor([&]() { return progressOnGui >= 3; }, 5000));
    EXPECT_EQ(progressElsewhere, 0);
    EXPECT_EQ(endless.thread->load(), static_cast<const void*>(runner.workerThread()));
    EXPECT_NE(endless.thread->load(), static_cast<const void*>(qApp->thread()));

    QElapsedTimer clock;
    clock.start();
    runner.cancel();
    ASSERT_TRUE(cancelled.wait(2000));
    EXPECT_LT(clock.elapsed(), 2000);
    EXPECT_TRUE(endless.sawCancel->load());
    EXPECT_FALSE(runner.isBusy());
    EXPECT_TRUE(finished.isEmpty());
    ASSERT_EQ(busy.size(), 2);
    EXPECT_TRUE(busy[0][0].toBool());
    EXPECT_FALSE(busy[1][0].toBool());
}

TEST(JobRunner, ResultAndErrorReachTheGuiThread) {
    JobRunner runner;
    QSignalSpy finished(&runner, &JobRunner::finished);
    QSignalSpy failed(&runner, &JobRunner::failed);
    runner.start([](const exitscope::core::ProgressFn&, const exitscope::core::CancelFlag&) { return QVariant(42); });
    ASSERT_TRUE(finished.wait(5000));
    EXPECT_EQ(finished[0][0].toInt(), 42);
    EXPECT_FALSE(runner.isBusy());

    runner.start([](const exitscope::core::ProgressFn&, const exitscope::core::CancelFlag&) -> QVariant {
        throw exitscope::core::Error("weights.pt: not a checkpoint");
    });
    ASSERT_TRUE(failed.wait(5000));
    EXPECT_EQ(failed[0][0].toString(), QStringLiteral("weights.pt: not a checkpoint"));
    EXPECT_EQ(finished.size(), 1);
}

TEST(JobRunner, TheNewestRequestReplacesTheOneRunning) {
    JobRunner runner;
    EndlessJob endless;
    QSignalSpy finished(&runner, &JobRunner::finished);
    QSignalSpy cancelled(&runner, &JobRunner::cancelled);
    QSignalSpy started(&runner, &JobRunner::started);
    runner.start(endless.job(), QStringLiteral("old"));
    ASSERT_TRUE(QTest::qWaitFor([&]() { return endless.thread->load() != nullptr; }, 5000));
    // Two newer requests while the old one runs: only the newest runs.
    runner.start([](const exitscope::core::ProgressFn&, const exitscope::core::CancelFlag&) { return QVariant(1); },
                 QStringLiteral("middle"));
    runner.start([](const exitscope::core::ProgressFn&, const exitscope::core::CancelFlag&) { return QVariant(2); },
                 QStringLiteral("newest"));
    ASSERT_TRUE(finished.wait(5000));
    EXPECT_EQ(finished.size(), 1);
    EXPECT_EQ(finished[0][0].toInt(), 2);
    EXPECT_TRUE(cancelled.isEmpty());
    EXPECT_TRUE(endless.sawCancel->load());
    ASSERT_EQ(started.size(), 2);
    EXPECT_EQ(started[1][0].toString(), QStringLiteral("newest"));
}

TEST(JobProgressWidget, ShowsWhileBusyAndItsCancelButtonStopsTheJob) {
    QWidget window;
    auto* widget = new JobProgressWidget(&window);
    JobRunner runner;
    widget->setRunner(&runner);
    window.show();
    EXPECT_FALSE(widget->isVisible());
    EndlessJob endless;
    QSignalSpy cancelled(&runner, &JobRunner::cancelled);
    runner.start(endless.job(), QStringLiteral("profiling"));
    EXPECT_TRUE(widget->isVisible());
    EXPECT_TRUE(widget->cancelButton()->isEnabled());
    ASSERT_TRUE(QTest::qWaitFor([&]() { return widget->message().startsWith(QStringLiteral("step ")); }, 5000));
    QElapsedTimer clock;
    clock.start();
    QTest::mouseClick(widget->cancelButton(), Qt::LeftButton);
    ASSERT_TRUE(cancelled.wait(2000));
    EXPECT_LT(clock.elapsed(), 2000);
    EXPECT_FALSE(widget->isVisible());
    EXPECT_EQ(widget->message(), QStringLiteral("Cancelled"));
}

TEST(JobRunner, DestroyingTheRunnerCancelsAndWaits) {
    EndlessJob endless;
    {
        JobRunner runner;
        runner.start(endless.job());
        ASSERT_TRUE(QTest::qWaitFor([&]() { return endless.thread->load() != nullptr; }, 5000));
    }
    EXPECT_TRUE(endless.sawCancel->load());
}
