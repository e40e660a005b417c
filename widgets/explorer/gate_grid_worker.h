#pragma once

#include "core/common/progress.h"
#include "core/policy/gates.h"
#include "core/trace/trace.h"

#include <QObject>

#include <memory>
#include <vector>

namespace exitscope::widgets {

class JobRunner;

/// Trains LEENet gates for every alpha of the grid in the background (a
/// JobRunner, the app's one mechanism for it), so an alpha slider can switch
/// between finished gate sets instantly. A new request cancels the one
/// running; only the newest one's grid is reported.
class GateGridWorker : public QObject {
    Q_OBJECT

public:
    explicit GateGridWorker(QObject* parent = nullptr);
    /// Cancels the running job and waits for it (JobRunner's destructor).
    ~GateGridWorker() override;

    /// Starts training on `val` (step 0.05); returns the request's generation.
    quint64 request(std::shared_ptr<const core::Trace> val);
    /// Cancels whatever runs or waits; nothing is reported for it.
    void cancel();
    bool isRunning() const;
    /// The runner behind it (a progress widget can show it).
    JobRunner* runner() const { return m_runner; }
    /// The grid of the last gridReady(); moved out.
    std::vector<core::GateSet> takeGrid() { return std::move(m_grid); }

signals:
    /// Share of the grid trained so far, for the newest request.
    void progressed(double fraction);
    /// The newest request finished; takeGrid() has its result.
    void gridReady(quint64 generation);
    /// The newest request failed (message names the problem).
    void failed(const QString& message);

private:
    JobRunner* m_runner;
    quint64 m_generation = 0;
    std::vector<core::GateSet> m_grid;
};

} // namespace exitscope::widgets
