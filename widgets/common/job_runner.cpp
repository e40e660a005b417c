#include "widgets/common/job_runner.h"

#include <QElapsedTimer>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QThread>

#include <algorithm>
#include <cmath>
#include <exception>

namespace exitscope::widgets {

namespace {

// A progress callback may fire after every batch; more than a screen's
// refresh rate of queued events would only fill the GUI thread's queue.
constexpr qint64 kProgressIntervalMs = 40;

} // namespace

JobRunner::JobRunner(QObject* parent) : QObject(parent), m_thread(new QThread(this)), m_context(new QObject) {
    m_thread->setObjectName(QStringLiteral("exitscope-job"));
    m_context->moveToThread(m_thread);
    m_thread->start();
}

JobRunner::~JobRunner() {
    m_pending.reset();
    if (m_cancel) m_cancel->store(true);
    m_thread->quit();
    m_thread->wait();
    // The thread has finished, so its object can go from here.
    delete m_context;
}

quint64 JobRunner::start(Job job, const QString& label) {
    Pending next{m_nextId++, std::move(job), label};
    const quint64 id = next.id;
    if (m_runningId == 0) {
        launch(std::move(next));
        emit busyChanged(true);
    } else {
        // The running job is told to stop; whatever it returns is dropped.
        m_cancel->store(true);
        m_pending = std::make_unique<Pending>(std::move(next));
    }
    return id;
}

void JobRunner::cancel() {
    m_pending.reset();
    if (m_runningId != 0) {
        m_userCancelled = true;
        m_cancel->store(true);
    }
}

void JobRunner::launch(Pending next) {
    m_runningId = next.id;
    m_runningLabel = next.label;
    m_userCancelled = false;
    auto cancel = std::make_shared<core::CancelFlag>(false);
    m_cancel = cancel;
    const quint64 id = next.id;
    Job job = std::move(next.job);
    QMetaObject::invokeMethod(
        m_context,
        [this, id, job, cancel]() {
            QElapsedTimer clock;
            clock.start();
            qint64 lastSent = -kProgressIntervalMs;
            const core::ProgressFn progress = [&](const core::Progress& p) {
                const qint64 now = clock.elapsed();
                if (now - lastSent < kProgressIntervalMs && p.fraction < 1.0) return;
                lastSent = now;
                const double fraction = std::isfinite(p.fraction) ? std::clamp(p.fraction, 0.0, 1.0) : 0.0;
                const QString message = QString::fromStdString(p.message);
                QMetaObject::invokeMethod(
                    this, [this, id, fraction, message]() { onProgress(id, fraction, message); },
                    Qt::QueuedConnection);
            };
            Outcome outcome = Outcome::Finished;
            QVariant result;
            QString error;
            try {
                result = job(progress, *cancel);
            } catch (const core::Cancelled&) {
                outcome = Outcome::Cancelled;
            } catch (const std::exception& e) {
                outcome = Outcome::Failed;
                error = QString::fromStdString(e.what());
            } catch (...) {
                outcome = Outcome::Failed;
                error = QStringLiteral("the job failed with an unknown exception");
            }
            QMetaObject::invokeMethod(
                this, [this, id, outcome, result, error]() { onDone(id, outcome, result, error); },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
    emit started(next.label);
}

void JobRunner::onProgress(quint64 id, double fraction, const QString& message) {
    // Progress of a job that is being replaced or cancelled would only flicker.
    if (id != m_runningId || m_pending || m_userCancelled) return;
    emit progress(fraction, message);
}

void JobRunner::onDone(quint64 id, Outcome outcome, const QVariant& result, const QString& error) {
    if (id != m_runningId) return;
    const bool userCancelled = m_userCancelled;
    m_runningId = 0;
    m_runningLabel.clear();
    m_cancel.reset();
    if (m_pending) {
        Pending next = std::move(*m_pending);
        m_pending.reset();
        launch(std::move(next));
        return;
    }
    emit busyChanged(false);
    if (userCancelled || outcome == Outcome::Cancelled) {
        emit cancelled();
    } else if (outcome == Outcome::Failed) {
        emit failed(error);
    } else {
        emit finished(result);
    }
}

JobProgressWidget::JobProgressWidget(QWidget* parent)
    : QWidget(parent), m_bar(new QProgressBar(this)), m_label(new QLabel(this)),
      m_cancel(new QPushButton(QStringLiteral("Cancel"), this)) {
    m_bar->setRange(0, 1000);
    m_bar->setTextVisible(true);
    m_bar->setFormat(QStringLiteral("%p%"));
    m_bar->setMinimumWidth(120);
    m_label->setTextFormat(Qt::PlainText);
    m_label->setMinimumWidth(80);
    m_label->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_cancel->setEnabled(false);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_bar);
    layout->addWidget(m_label, 1);
    layout->addWidget(m_cancel);
    updateVisibility();
}

QString JobProgressWidget::message() const { return m_label->text(); }

void JobProgressWidget::setAlwaysVisible(bool on) {
    m_alwaysVisible = on;
    updateVisibility();
}

void JobProgressWidget::setRunner(JobRunner* runner) {
    for (auto& c : m_connections) QObject::disconnect(c);
    if (m_runner) disconnect(m_cancel, nullptr, m_runner, nullptr);
    m_runner = runner;
    if (runner) {
        m_connections[0] = connect(runner, &JobRunner::started, this, [this](const QString& label) {
            m_bar->setValue(0);
            m_label->setText(label.isEmpty() ? QStringLiteral("Working\u2026") : label);
        });
        m_connections[1] = connect(runner, &JobRunner::progress, this, [this](double fraction, const QString& msg) {
            m_bar->setValue(static_cast<int>(std::lround(fraction * 1000.0)));
            if (!msg.isEmpty()) m_label->setText(msg);
        });
        m_connections[2] = connect(runner, &JobRunner::finished, this, [this](const QVariant&) {
            m_bar->setValue(1000);
            m_label->setText(QStringLiteral("Done"));
        });
        m_connections[3] = connect(runner, &JobRunner::failed, this, [this](const QString& error) {
            m_label->setText(QStringLiteral("Failed: %1").arg(error));
        });
        m_connections[4] = connect(runner, &JobRunner::cancelled, this,
                                   [this]() { m_label->setText(QStringLiteral("Cancelled")); });
        m_connections[5] = connect(runner, &JobRunner::busyChanged, this, [this](bool) { updateVisibility(); });
        connect(m_cancel, &QPushButton::clicked, runner, &JobRunner::cancel);
    }
    updateVisibility();
}

void JobProgressWidget::updateVisibility() {
    const bool busy = m_runner && m_runner->isBusy();
    m_cancel->setEnabled(busy);
    const bool show = busy || m_alwaysVisible;
    // Without a parent, showing would open a window of its own.
    if (show && !parentWidget()) return;
    setVisible(show);
}

} // namespace exitscope::widgets
