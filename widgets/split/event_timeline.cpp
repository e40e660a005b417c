#include "widgets/split/event_timeline.h"
#include "widgets/common/plot_export.h"

#include "core/common/error.h"
#include "core/trace/trace.h"
#include "simulator/schedule/split_profile.h"
#include "widgets/common/job_runner.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

Q_DECLARE_METATYPE(std::shared_ptr<const exitscope::widgets::EventTimeline::Outcome>)

namespace exitscope::widgets {

namespace {

using OutcomePtr = std::shared_ptr<const EventTimeline::Outcome>;

const QColor kSplitColors[] = {QColor(0xe0, 0x6a, 0x4f), QColor(0x4c, 0x9b, 0xe8), QColor(0x2c, 0xa0, 0x2c),
                               QColor(0x8e, 0x6c, 0xc8), QColor(0xf2, 0xa1, 0x3a), QColor(0x17, 0xbe, 0xcf),
                               QColor(0x7f, 0x7f, 0x7f), QColor(0xbc, 0xbd, 0x22)};

// Everything a run needs, copied so the worker never reads GUI state.
struct RunInput {
    std::shared_ptr<const core::Trace> trace;
    std::vector<simulator::SplitPoint> splits;
    SplitConditions conditions;
    EventTimeline::Settings settings;
};

simulator::BandwidthSchedule makeSchedule(const RunInput& in, double durationS) {
    const double bw = in.conditions.link.bandwidthMbps;
    switch (in.settings.schedule) {
    case EventTimeline::ScheduleKind::Constant: return simulator::BandwidthSchedule::constant(bw);
    case EventTimeline::ScheduleKind::Csv: return simulator::BandwidthSchedule::loadCsv(in.settings.csvPath.toStdString());
    case EventTimeline::ScheduleKind::RandomWalk: break;
    }
    simulator::RandomWalkParams walk;
    walk.startMbps = bw;
    walk.minMbps = bw / in.settings.walkSpread;
    walk.maxMbps = bw * in.settings.walkSpread;
    walk.stepS = 1.0;
    walk.durationS = std::max(1.0, durationS);
    walk.volatility = in.settings.walkVolatility;
    return simulator::BandwidthSchedule::randomWalk(walk, in.settings.seed);
}

OutcomePtr runSimulation(const RunInput& in, const core::ProgressFn& progress, const core::CancelFlag& cancel) {
    const auto& s = in.settings;
    const double expectedS = static_cast<double>(s.numRequests) *
                             (s.arrivals == simulator::ArrivalKind::Periodic ? s.periodMs : 1000.0 / s.ratePerS) / 1000.0;
    progress({0.05, "building the bandwidth schedule"});
    const auto schedule = makeSchedule(in, expectedS);
    core::throwIfCancelled(&cancel);
    progress({0.15, "building the scheduler"});
    simulator::Scheduler scheduler(*in.trace, in.splits);
    simulator::Link link = in.conditions.link;
    link.bandwidthMbps = schedule.mbpsAt(0.0);
    scheduler.setConditions(in.conditions.device, in.conditions.server, link);
    core::throwIfCancelled(&cancel);
    simulator::SimConfig config;
    config.arrivals = s.arrivals;
    config.periodMs = s.periodMs;
    config.ratePerS = s.ratePerS;
    config.numRequests = s.numRequests;
    config.seed = s.seed;
    config.replanIntervalMs = s.replanIntervalMs;
    config.goal = in.conditions.goal;
    progress({0.3, "simulating " + std::to_string(s.numRequests) + " requests"});
    auto out = std::make_shared<EventTimeline::Outcome>();
    out->result = simulator::simulate(scheduler, *in.trace, schedule, config);
    core::throwIfCancelled(&cancel);
    out->bandwidth = schedule.steps();
    for (const auto& p : scheduler.profiles()) out->profileLabels.push_back(QString::fromStdString(p.label));
    for (const auto& sp : scheduler.model().splits())
        out->splitLabels.push_back(QString::fromStdString(simulator::splitLabel(sp.blocksOnDevice, in.trace->numBlocks)));
    double end = 0.0;
    for (const auto& r : out->result.requests) end = std::max(end, r.completionMs / 1000.0);
    out->durationS = std::max(end, out->bandwidth.empty() ? 0.0 : out->bandwidth.back().timeS);
    progress({1.0, "done"});
    return out;
}

} // namespace

EventTimeline::EventTimeline(QWidget* parent) : QWidget(parent), m_runner(new JobRunner(this)) {
    qRegisterMetaType<OutcomePtr>();
    m_conditions.goal = simulator::Goal::lowestLatency(0.0);
    buildUi();
    connect(m_runner, &JobRunner::finished, this, [this](const QVariant& result) {
        m_outcome = result.value<OutcomePtr>();
        m_error.clear();
        m_stale = false;
        showOutcome();
        emit simulationFinished();
    });
    connect(m_runner, &JobRunner::failed, this, [this](const QString& error) {
        m_error = error;
        m_summary->setText(QStringLiteral("<span style='color:#b00020'>Simulation failed: %1</span>").arg(error.toHtmlEscaped()));
        emit simulationFailed(error);
    });
}

EventTimeline::~EventTimeline() = default;

void EventTimeline::buildUi() {
    m_arrivals = new QComboBox;
    m_arrivals->addItems({QStringLiteral("Poisson arrivals"), QStringLiteral("Periodic arrivals")});
    m_interval = new QDoubleSpinBox;
    m_interval->setRange(0.01, 1e6);
    m_interval->setDecimals(2);
    m_interval->setKeyboardTracking(false);
    m_requests = new QSpinBox;
    m_requests->setRange(1, 1'000'000);
    m_requests->setPrefix(QStringLiteral("requests "));
    m_requests->setKeyboardTracking(false);
    m_scheduleKind = new QComboBox;
    m_scheduleKind->addItems({QStringLiteral("constant bandwidth"), QStringLiteral("random-walk bandwidth"),
                              QStringLiteral("bandwidth from CSV\u2026")});
    m_seed = new QSpinBox;
    m_seed->setRange(0, 1'000'000'000);
    m_seed->setPrefix(QStringLiteral("seed "));
    m_seed->setKeyboardTracking(false);
    m_replan = new QDoubleSpinBox;
    m_replan->setRange(1.0, 1e7);
    m_replan->setDecimals(0);
    m_replan->setPrefix(QStringLiteral("re-plan every "));
    m_replan->setSuffix(QStringLiteral(" ms"));
    m_replan->setKeyboardTracking(false);
    m_auto = new QCheckBox(QStringLiteral("re-run on changes"));
    m_run = new QPushButton(QStringLiteral("Run"));
    m_progress = new JobProgressWidget(this);
    m_progress->setRunner(m_runner);

    auto* row = new QHBoxLayout;
    for (QWidget* w : std::initializer_list<QWidget*>{m_arrivals, m_interval, m_requests, m_scheduleKind, m_seed, m_replan,
                                                      m_auto, m_run})
        row->addWidget(w);
    row->addStretch(1);

    m_plot = new QCustomPlot;
    m_plot->setMinimumSize(420, 240);
    m_plot->xAxis->setLabel(QStringLiteral("Simulated time (s)"));
    m_plot->yAxis->setLabel(QStringLiteral("Request latency (ms)"));
    m_plot->yAxis2->setVisible(true);
    m_plot->yAxis2->setLabel(QStringLiteral("Bandwidth (Mbit/s, log)"));
    m_plot->yAxis2->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis2->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(font());
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);

    m_summary = new QLabel(QStringLiteral("Press Run to simulate a stream of requests under a changing bandwidth."));
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(row);
    layout->addWidget(m_progress);
    layout->addWidget(m_plot, 1);
    layout->addWidget(m_summary);
    setSettings(m_settings);

    auto changed = [this]() {
        readControls();
        inputsChanged();
    };
    connect(m_arrivals, &QComboBox::currentIndexChanged, this, changed);
    connect(m_interval, &QDoubleSpinBox::valueChanged, this, changed);
    connect(m_requests, &QSpinBox::valueChanged, this, changed);
    connect(m_seed, &QSpinBox::valueChanged, this, changed);
    connect(m_replan, &QDoubleSpinBox::valueChanged, this, changed);
    connect(m_scheduleKind, &QComboBox::activated, this, [this, changed](int i) {
        if (i == 2) {
            const QString path = QFileDialog::getOpenFileName(this, QStringLiteral("Bandwidth schedule"), QString(),
                                                              QStringLiteral("CSV files (*.csv);;All files (*)"));
            if (path.isEmpty()) {
                m_scheduleKind->setCurrentIndex(static_cast<int>(m_settings.schedule));
                return;
            }
            m_settings.csvPath = path;
        }
        changed();
    });
    connect(m_auto, &QCheckBox::toggled, this, [this](bool on) { setAutoRun(on); });
    connect(m_run, &QPushButton::clicked, this, &EventTimeline::run);
}

void EventTimeline::showInterval() {
    // The interval box means "ms between requests" or "requests per second".
    const bool periodic = m_settings.arrivals == simulator::ArrivalKind::Periodic;
    const QSignalBlocker block(m_interval);
    m_interval->setPrefix(periodic ? QStringLiteral("every ") : QString());
    m_interval->setSuffix(periodic ? QStringLiteral(" ms") : QStringLiteral(" requests/s"));
    m_interval->setValue(periodic ? m_settings.periodMs : m_settings.ratePerS);
}

void EventTimeline::readControls() {
    const auto arrivals =
        m_arrivals->currentIndex() == 1 ? simulator::ArrivalKind::Periodic : simulator::ArrivalKind::Poisson;
    if (arrivals != m_settings.arrivals) {
        m_settings.arrivals = arrivals;
        showInterval();
    } else if (arrivals == simulator::ArrivalKind::Periodic) {
        m_settings.periodMs = m_interval->value();
    } else {
        m_settings.ratePerS = m_interval->value();
    }
    m_settings.numRequests = m_requests->value();
    m_settings.seed = static_cast<uint64_t>(m_seed->value());
    m_settings.replanIntervalMs = m_replan->value();
    m_settings.schedule = static_cast<ScheduleKind>(m_scheduleKind->currentIndex());
}

void EventTimeline::setSettings(const Settings& settings) {
    m_settings = settings;
    const QSignalBlocker b1(m_arrivals), b2(m_requests), b3(m_seed), b4(m_replan), b5(m_scheduleKind);
    m_arrivals->setCurrentIndex(settings.arrivals == simulator::ArrivalKind::Periodic ? 1 : 0);
    m_requests->setValue(static_cast<int>(std::min<int64_t>(settings.numRequests, m_requests->maximum())));
    m_seed->setValue(static_cast<int>(std::min<uint64_t>(settings.seed, 1'000'000'000)));
    m_replan->setValue(settings.replanIntervalMs);
    m_scheduleKind->setCurrentIndex(static_cast<int>(settings.schedule));
    showInterval();
}

EventTimeline::Settings EventTimeline::settings() const { return m_settings; }

void EventTimeline::setAutoRun(bool on) {
    m_autoRun = on;
    const QSignalBlocker block(m_auto);
    m_auto->setChecked(on);
    if (on) run();
}

bool EventTimeline::setTrace(const core::Trace& trace, const QString& splitsPath) {
    try {
        std::vector<simulator::SplitPoint> splits;
        if (!splitsPath.isEmpty()) {
            try {
                splits = simulator::measuredSplitPoints(trace, splitsPath.toStdString());
            } catch (const core::Error&) {
                splits.clear();  // the split panel says why; the estimate stands in
            }
        }
        if (splits.empty()) splits = simulator::defaultSplitPoints(trace);
        // Checked here, on the GUI thread, so a bad trace fails now and not in every run.
        simulator::LatencyModel check(trace, splits);
        m_trace = std::make_shared<const core::Trace>(trace);
        m_splits = std::move(splits);
        m_error.clear();
    } catch (const core::Error& e) {
        m_error = QString::fromStdString(e.what());
        return false;
    }
    m_outcome.reset();
    if (m_autoRun) run();
    return true;
}

void EventTimeline::setConditions(const SplitConditions& conditions) {
    m_conditions = conditions;
    inputsChanged();
}

void EventTimeline::inputsChanged() {
    if (m_autoRun) {
        run();
        return;
    }
    // The plot on screen answers for other settings: say so until the next run.
    if (m_outcome && !m_stale) {
        m_stale = true;
        m_summary->setText(QStringLiteral("<span style='color:#b35900'><b>Out of date:</b> the split settings changed "
                                          "since this run; press Run to simulate them.</span><br>") +
                           m_summary->text());
    }
}

void EventTimeline::run() {
    if (!m_trace) return;
    RunInput input{m_trace, m_splits, m_conditions, m_settings};
    m_runner->start(
        [input](const core::ProgressFn& progress, const core::CancelFlag& cancel) {
            return QVariant::fromValue(runSimulation(input, progress, cancel));
        },
        QStringLiteral("Simulating %1 requests").arg(m_settings.numRequests));
}

bool EventTimeline::isRunning() const { return m_runner->isBusy(); }

void EventTimeline::showOutcome() {
    m_plot->clearGraphs();
    m_plot->clearItems();
    if (!m_outcome) return;
    const auto& out = *m_outcome;
    const auto& requests = out.result.requests;

    std::vector<QCPGraph*> bySplit(out.splitLabels.size(), nullptr);
    double maxLatency = 0.0;
    for (const auto& r : requests) {
        QCPGraph*& g = bySplit[std::min(r.splitIndex, bySplit.size() - 1)];
        if (!g) {
            g = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
            const QColor c = kSplitColors[r.splitIndex % std::size(kSplitColors)];
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, 4));
            g->setName(QStringLiteral("latency, %1").arg(out.splitLabels[r.splitIndex]));
            g->setAdaptiveSampling(true);
        }
        g->addData(r.arrivalMs / 1000.0, r.latencyMs);
        maxLatency = std::max(maxLatency, r.latencyMs);
    }
    auto* bw = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
    bw->setName(QStringLiteral("bandwidth"));
    bw->setLineStyle(QCPGraph::lsStepLeft);
    bw->setPen(QPen(QColor(0x40, 0x40, 0x40), 1.5));
    double minBw = 1e9, maxBw = 0.0;
    for (const auto& s : out.bandwidth) {
        bw->addData(s.timeS, s.mbps);
        minBw = std::min(minBw, s.mbps);
        maxBw = std::max(maxBw, s.mbps);
    }
    if (!out.bandwidth.empty()) bw->addData(out.durationS, out.bandwidth.back().mbps);

    // A dashed line where a request first used a new design (an empty graph names it in the legend).
    auto* switches = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
    switches->setName(QStringLiteral("design switch"));
    switches->setPen(QPen(QColor(0x90, 0x90, 0x90), 1, Qt::DashLine));
    for (std::size_t i = 1; i < requests.size(); ++i) {
        const auto& a = requests[i - 1];
        const auto& b = requests[i];
        if (a.splitIndex == b.splitIndex && a.profile == b.profile) continue;
        const double t = b.arrivalMs / 1000.0;
        auto* line = new QCPItemStraightLine(m_plot);
        line->point1->setCoords(t, 0.0);
        line->point2->setCoords(t, 1.0);
        line->setPen(QPen(QColor(0x90, 0x90, 0x90), 1, Qt::DashLine));
        line->setSelectable(false);
    }
    m_plot->xAxis->setRange(0.0, std::max(out.durationS, 1e-3));
    m_plot->yAxis->setRange(0.0, std::max(maxLatency * 1.1, 1e-3));
    m_plot->yAxis2->setRange(std::max(1e-3, minBw / 1.5), std::max(maxBw * 1.5, minBw * 2.0));
    m_plot->replot(QCustomPlot::rpQueuedReplot);

    const auto& s = out.result.summary;
    m_summary->setText(
        QStringLiteral("%1 requests: accuracy %2%, latency mean %3 ms, median %4 ms, 95th pct. %5 ms; mean queueing %6 ms; "
                       "%7 requests/s; %8 re-plans, <b>%9 design switches</b> (dashed lines), %10 infeasible re-plans kept the design.")
            .arg(s.count)
            .arg(100.0 * s.accuracy, 0, 'f', 2)
            .arg(s.meanMs, 0, 'f', 2)
            .arg(s.medianMs, 0, 'f', 2)
            .arg(s.p95Ms, 0, 'f', 2)
            .arg(s.meanQueueingMs, 0, 'f', 2)
            .arg(s.throughputPerS, 0, 'f', 1)
            .arg(s.replans)
            .arg(s.designChanges)
            .arg(s.infeasibleReplans));
}

bool EventTimeline::savePlot(const QString& path, QString* error) const { return savePlotFile(m_plot, path, error); }

} // namespace exitscope::widgets
