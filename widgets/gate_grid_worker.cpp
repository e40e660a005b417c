#include "widgets/gate_grid_worker.h"

#include "core/common/error.h"
#include "core/train/gate_trainer.h"
#include "widgets/vector_state.h"

#include <QPointer>
#include <QThread>

#include <exception>

namespace exitscope::widgets {

GateGridWorker::GateGridWorker(QObject* parent) : QObject(parent) {}

GateGridWorker::~GateGridWorker() {
    m_pending.reset();
    if (m_thread) {
        m_cancel->store(true);
        m_thread->wait();
        delete m_thread;
    }
}

quint64 GateGridWorker::request(std::shared_ptr<const core::Trace> val) {
    m_pending = std::move(val);
    ++m_generation;
    if (m_thread) {
        // The running job's result is no longer wanted; the pending one
        // starts when its thread has wound down.
        m_cancel->store(true);
    } else {
        startPending();
    }
    return m_generation;
}

void GateGridWorker::cancel() {
    m_pending.reset();
    ++m_generation;
    if (m_thread) m_cancel->store(true);
}

void GateGridWorker::startPending() {
    if (!m_pending) return;
    auto val = std::move(m_pending);
    m_pending.reset();
    m_cancel = std::make_shared<core::CancelFlag>(false);
    m_runningGeneration = m_generation;
    const quint64 generation = m_generation;
    auto cancel = m_cancel;
    QPointer<GateGridWorker> self(this);
    m_thread = QThread::create([self, val, cancel, generation] {
        clearUpperVectorState();
        std::vector<core::GateSet> grid;
        QString error;
        int lastPercent = -1;
        try {
            grid = core::trainGateGrid(
                *val, 0.05, {},
                [&](const core::Progress& p) {
                    const int percent = static_cast<int>(p.fraction * 100.0);
                    if (percent == lastPercent) return;
                    lastPercent = percent;
                    QMetaObject::invokeMethod(
                        self, [self, generation, fraction = p.fraction] {
                            if (self && self->m_generation == generation) emit self->progressed(fraction);
                        },
                        Qt::QueuedConnection);
                },
                cancel.get());
        } catch (const core::Cancelled&) {
            return;
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(
            self, [self, generation, grid = std::move(grid), error]() mutable {
                if (!self || self->m_generation != generation) return;
                if (!error.isEmpty()) {
                    emit self->failed(error);
                } else {
                    self->m_grid = std::move(grid);
                    emit self->gridReady(generation);
                }
            },
            Qt::QueuedConnection);
    });
    connect(m_thread, &QThread::finished, this, [this] {
        m_thread->deleteLater();
        m_thread = nullptr;
        startPending();
    });
    m_thread->start(QThread::LowPriority);
}

} // namespace exitscope::widgets
