#include "widgets/explorer/gate_grid_worker.h"

#include "core/common/error.h"
#include "core/train/gate_trainer.h"
#include "widgets/common/job_runner.h"
#include "widgets/common/vector_state.h"

#include <QVariant>

namespace {
using GridPtr = std::shared_ptr<std::vector<exitscope::core::GateSet>>;
}
Q_DECLARE_METATYPE(GridPtr)

namespace exitscope::widgets {

GateGridWorker::GateGridWorker(QObject* parent) : QObject(parent), m_runner(new JobRunner(this)) {
    qRegisterMetaType<GridPtr>();
    // The app's one way to work in the background: JobRunner's progress,
    // cancel and newest-request-wins, reported here as grid signals.
    connect(m_runner, &JobRunner::progress, this, [this](double fraction, const QString&) { emit progressed(fraction); });
    connect(m_runner, &JobRunner::finished, this, [this](const QVariant& result) {
        const GridPtr grid = result.value<GridPtr>();
        m_grid = grid ? std::move(*grid) : std::vector<core::GateSet>{};
        emit gridReady(m_generation);
    });
    connect(m_runner, &JobRunner::failed, this, &GateGridWorker::failed);
}

GateGridWorker::~GateGridWorker() = default;

bool GateGridWorker::isRunning() const { return m_runner->isBusy(); }

quint64 GateGridWorker::request(std::shared_ptr<const core::Trace> val) {
    m_generation = m_runner->start(
        [val](const core::ProgressFn& progress, const core::CancelFlag& cancel) -> QVariant {
            clearUpperVectorState();
            return QVariant::fromValue(
                std::make_shared<std::vector<core::GateSet>>(core::trainGateGrid(*val, 0.05, {}, progress, &cancel)));
        },
        QStringLiteral("Training the LEENet gates"));
    return m_generation;
}

void GateGridWorker::cancel() { m_runner->cancel(); }

} // namespace exitscope::widgets
