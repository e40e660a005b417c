#pragma once

#include "core/common/progress.h"

#include <QObject>
#include <QString>
#include <QVariant>
#include <QWidget>

#include <atomic>
#include <functional>
#include <memory>

class QLabel;
class QProgressBar;
class QPushButton;
class QThread;

namespace exitscope::widgets {

/// A long job in the project's convention (core/common/progress.h): it
/// reports through `progress` and polls `cancel`, throwing core::Cancelled
/// once it is set (core::throwIfCancelled). Its return value travels to the
/// GUI thread in JobRunner::finished. A job must not touch any widget: it
/// runs on the runner's worker thread.
using Job = std::function<QVariant(const core::ProgressFn& progress, const core::CancelFlag& cancel)>;

/// Runs long jobs one at a time on an owned QThread and turns their
/// progress, result, error or cancellation into signals delivered on the
/// thread that owns the runner (the GUI thread), so the GUI never freezes
/// and never sees a half-made result.
///
/// The newest request replaces an older one: start() while a job runs sets
/// that job's cancel flag and queues the new one (replacing any job still
/// queued); the superseded job's outcome is dropped without a signal.
/// Progress is throttled to about 25 updates per second.
class JobRunner : public QObject {
    Q_OBJECT

public:
    explicit JobRunner(QObject* parent = nullptr);
    /// Cancels the running job and waits for it to return (a job that never
    /// polls its flag keeps the destructor waiting).
    ~JobRunner() override;

    /// Queues `job`; returns its id (increasing from 1). `label` names it in
    /// started() and the progress widget.
    quint64 start(Job job, const QString& label = {});
    /// Cancels the running job and drops the queued one; cancelled() follows
    /// once the running job has returned.
    void cancel();

    bool isBusy() const { return m_runningId != 0; }
    QString currentLabel() const { return m_runningLabel; }
    /// The worker thread (tests check that jobs run there and signals do not).
    const QThread* workerThread() const { return m_thread; }

signals:
    /// A job began running (after any job it replaced had returned).
    void started(const QString& label);
    /// Fraction in [0, 1] and the job's message, on the GUI thread.
    void progress(double fraction, const QString& message);
    /// The job returned `result` and was neither cancelled nor replaced.
    void finished(const QVariant& result);
    /// The job threw; `error` is its message (core::Error names the file or value).
    void failed(const QString& error);
    /// The job stopped after cancel() (or finished after it: its result is dropped).
    void cancelled();
    /// Busy turned on or off.
    void busyChanged(bool busy);

private:
    enum class Outcome { Finished, Failed, Cancelled };
    struct Pending {
        quint64 id = 0;
        Job job;
        QString label;
    };
    void launch(Pending next);
    void onProgress(quint64 id, double fraction, const QString& message);
    void onDone(quint64 id, Outcome outcome, const QVariant& result, const QString& error);

    QThread* m_thread;
    QObject* m_context;  // lives in m_thread: the target of queued job runs
    quint64 m_nextId = 1;
    quint64 m_runningId = 0;
    QString m_runningLabel;
    bool m_userCancelled = false;
    std::shared_ptr<core::CancelFlag> m_cancel;
    std::unique_ptr<Pending> m_pending;
};

/// A progress bar, the job's message and a Cancel button for one JobRunner;
/// hidden while the runner is idle unless setAlwaysVisible(true).
class JobProgressWidget : public QWidget {
    Q_OBJECT

public:
    explicit JobProgressWidget(QWidget* parent = nullptr);

    /// Follows `runner` (nullptr: none); Cancel calls runner->cancel().
    void setRunner(JobRunner* runner);
    void setAlwaysVisible(bool on);

    QPushButton* cancelButton() const { return m_cancel; }
    QProgressBar* bar() const { return m_bar; }
    QString message() const;

private:
    void updateVisibility();

    JobRunner* m_runner = nullptr;
    QProgressBar* m_bar;
    QLabel* m_label;
    QPushButton* m_cancel;
    bool m_alwaysVisible = false;
    QMetaObject::Connection m_connections[6];
};

} // namespace exitscope::widgets
