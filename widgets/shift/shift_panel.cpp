#include "widgets/shift/shift_panel.h"

#include "core/common/error.h"
#include "core/data/corruption.h"
#include "core/policy/confidence.h"
#include "core/policy/policy.h"
#include "core/trace/trace.h"
#include "simulator/drift/drift.h"
#include "widgets/common/job_runner.h"
#include "widgets/explorer/explorer.h"

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <map>

Q_DECLARE_METATYPE(std::shared_ptr<exitscope::simulator::DriftReport>)

namespace exitscope::widgets {

struct ShiftPanel::Entry {
    QString path;
    int severity = 0;
    std::shared_ptr<const core::Trace> tracePtr;
    const core::Trace& trace() const { return *tracePtr; }
    double accuracy = NAN, finalAccuracy = NAN, macsShare = NAN, meanExit = NAN;
    std::vector<int64_t> histogram;
};

ShiftPanel::ShiftPanel(Explorer* explorer, QWidget* parent)
    : QWidget(parent), m_explorer(explorer), m_note(new QLabel), m_plot(new QCustomPlot), m_table(new QTableWidget),
      m_show(new QComboBox), m_schedule(nullptr), m_adapt(nullptr), m_requests(nullptr), m_driftPlot(nullptr),
      m_driftNote(nullptr), m_runner(nullptr) {
    m_note->setWordWrap(true);
    auto* add = new QPushButton(QStringLiteral("Add Corrupted Traces..."));
    add->setToolTip(QStringLiteral("Traces of exitscope-cli profile --corrupt NAME:SEVERITY of the same weights"));
    auto* clearButton = new QPushButton(QStringLiteral("Clear"));
    auto* show = new QPushButton(QStringLiteral("Show in the Gallery"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(add);
    buttons->addWidget(clearButton);
    buttons->addStretch(1);
    buttons->addWidget(new QLabel(QStringLiteral("Severity:")));
    buttons->addWidget(m_show);
    buttons->addWidget(show);

    m_plot->setMinimumHeight(220);
    m_plot->xAxis->setLabel(QStringLiteral("Severity (0 = clean)"));
    m_plot->yAxis->setLabel(QStringLiteral("Accuracy (%)"));
    m_plot->yAxis2->setVisible(true);
    m_plot->yAxis2->setLabel(QStringLiteral("MACs (% of the full network)"));
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);

    m_table->setColumnCount(6);
    m_table->setHorizontalHeaderLabels({QStringLiteral("Severity"), QStringLiteral("Accuracy (%)"), QStringLiteral("Final exit (%)"),
                                        QStringLiteral("Mean exit"), QStringLiteral("MACs (%)"), QStringLiteral("Images per exit")});
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);

    // The drifting stream: the severities above over time, three policies.
    m_schedule = new QLineEdit(QStringLiteral("0:0,5000:3"));
    m_schedule->setToolTip(QStringLiteral("REQ:SEVERITY,...: from request REQ on, images of that severity (0 = clean)"));
    m_adapt = new QLineEdit(QStringLiteral("share=0.05,max-drop=0.01"));
    m_adapt->setToolTip(QStringLiteral("share of requests run to the end, accuracy-drop budget[, window=W][, refit=R]"));
    m_requests = new QSpinBox;
    m_requests->setRange(100, 1000000);
    m_requests->setSingleStep(1000);
    m_requests->setValue(20000);
    auto* simulate = new QPushButton(QStringLiteral("Simulate the Drift"));
    auto* driftLine = new QHBoxLayout;
    driftLine->addWidget(new QLabel(QStringLiteral("Drift:")));
    driftLine->addWidget(m_schedule, 1);
    driftLine->addWidget(new QLabel(QStringLiteral("requests")));
    driftLine->addWidget(m_requests);
    driftLine->addWidget(new QLabel(QStringLiteral("adapt")));
    driftLine->addWidget(m_adapt, 1);
    driftLine->addWidget(simulate);
    m_driftNote = new QLabel;
    m_driftNote->setWordWrap(true);
    m_driftNote->setTextFormat(Qt::PlainText);
    m_driftPlot = new QCustomPlot;
    m_driftPlot->setMinimumHeight(200);
    m_driftPlot->xAxis->setLabel(QStringLiteral("Request"));
    m_driftPlot->yAxis->setLabel(QStringLiteral("Accuracy drop against the final exit (%)"));
    m_driftPlot->legend->setVisible(true);
    m_runner = new JobRunner(this);
    connect(m_runner, &JobRunner::finished, this, &ShiftPanel::showDrift);
    connect(m_runner, &JobRunner::failed, this, [this](const QString& error) { m_driftNote->setText(error); });
    connect(simulate, &QPushButton::clicked, this, [this] {
        if (!simulateDrift(m_schedule->text(), m_adapt->text(), m_requests->value())) m_driftNote->setText(m_error);
    });

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_note);
    layout->addLayout(buttons);
    layout->addWidget(m_plot, 2);
    layout->addWidget(m_table, 1);
    layout->addLayout(driftLine);
    layout->addWidget(m_driftNote);
    layout->addWidget(m_driftPlot, 2);

    connect(add, &QPushButton::clicked, this, &ShiftPanel::addTracesRequested);
    connect(clearButton, &QPushButton::clicked, this, &ShiftPanel::clear);
    connect(show, &QPushButton::clicked, this, [this] {
        const int i = m_show->currentIndex();
        if (i >= 0 && i < static_cast<int>(m_entries.size())) emit showTraceRequested(m_entries[static_cast<std::size_t>(i)]->path);
    });
    connect(explorer, &Explorer::outcomeChanged, this, &ShiftPanel::refresh);
    refresh();
}

ShiftPanel::~ShiftPanel() = default;

bool ShiftPanel::addTrace(const QString& path) {
    auto e = std::make_unique<Entry>();
    e->path = QFileInfo(path).absoluteFilePath();
    try {
        e->tracePtr = std::make_shared<core::Trace>(core::readTrace(path.toStdString()));
    } catch (const core::Error& err) {
        m_error = QString::fromStdString(err.what());
        return false;
    }
    const core::Trace* test = m_explorer->testTrace();
    const std::string hash = e->trace().meta("weights_hash");
    if (test && hash != test->meta("weights_hash")) {
        m_error = QStringLiteral("%1: profiled from other weights than the test trace").arg(path);
        return false;
    }
    if (!m_entries.empty() && hash != m_entries.front()->trace().meta("weights_hash")) {
        m_error = QStringLiteral("%1: profiled from other weights than %2").arg(path, m_entries.front()->path);
        return false;
    }
    const std::string c = e->trace().meta("corruption");
    if (!c.empty()) {
        try {
            e->severity = core::parseCorruption(c).severity;
        } catch (const core::Error& err) {
            m_error = QStringLiteral("%1: %2").arg(path, QString::fromStdString(err.what()));
            return false;
        }
        const QString kind = QString::fromStdString(c.substr(0, c.find(':')));
        if (!m_kind.isEmpty() && kind != m_kind) {
            m_error = QStringLiteral("%1: a %2 trace among %3 ones; compare one corruption at a time").arg(path, kind, m_kind);
            return false;
        }
        m_kind = kind;
    }
    for (const auto& other : m_entries)
        if (other->severity == e->severity) {
            m_error = QStringLiteral("%1: severity %2 is already shown (%3)").arg(path).arg(e->severity).arg(other->path);
            return false;
        }
    const auto at = std::find_if(m_entries.begin(), m_entries.end(), [&](const auto& x) { return x->severity > e->severity; });
    m_entries.insert(at, std::move(e));
    m_error.clear();
    refresh();
    return true;
}

void ShiftPanel::clear() {
    m_entries.clear();
    m_kind.clear();
    refresh();
}

std::vector<int> ShiftPanel::severities() const {
    std::vector<int> s;
    for (const auto& e : m_entries) s.push_back(e->severity);
    return s;
}

double ShiftPanel::accuracyAt(int severity) const {
    for (const auto& e : m_entries)
        if (e->severity == severity) return e->accuracy;
    return NAN;
}

double ShiftPanel::macsShareAt(int severity) const {
    for (const auto& e : m_entries)
        if (e->severity == severity) return e->macsShare;
    return NAN;
}

void ShiftPanel::refresh() {
    const auto policy = m_explorer->policyConfig();
    // The current policy on every severity, through the one decision code.
    for (auto& e : m_entries) {
        e->histogram.assign(static_cast<std::size_t>(e->trace().numExits), 0);
        e->accuracy = e->finalAccuracy = e->macsShare = e->meanExit = NAN;
        if (!policy) continue;
        try {
            const auto outcome = core::applyPolicy(e->trace(), *policy);
            e->accuracy = core::outcomeAccuracy(e->trace(), outcome);
            e->macsShare = core::outcomeMeanMacs(e->trace(), outcome) / static_cast<double>(e->trace().exitMacs.back());
            double sum = 0;
            for (auto k : outcome.exitTaken) {
                ++e->histogram[static_cast<std::size_t>(k)];
                sum += static_cast<double>(k);
            }
            e->meanExit = sum / static_cast<double>(std::max<std::size_t>(1, outcome.exitTaken.size()));
            e->finalAccuracy = core::perExitAccuracy(e->trace()).back();
        } catch (const core::Error&) {
            // A policy this trace cannot take (another exit count): left empty.
        }
    }
    if (m_entries.empty()) {
        m_note->setText(QStringLiteral("Open traces of corrupted images (exitscope-cli profile --corrupt NAME:SEVERITY, "
                                       "docs/shift.md) to see how the current policy fares as the data shift."));
    } else if (!policy) {
        m_note->setText(QStringLiteral("The current policy cannot be applied to these traces: %1").arg(m_explorer->whyNotDeployable()));
    } else {
        m_note->setText(QStringLiteral("%1: the current policy at each severity (accuracy against the true labels).")
                            .arg(m_kind.isEmpty() ? QStringLiteral("Clean data") : m_kind));
    }
    m_plot->clearGraphs();
    QVector<double> x, acc, fin, macs;
    for (const auto& e : m_entries) {
        x << e->severity;
        acc << 100 * e->accuracy;
        fin << 100 * e->finalAccuracy;
        macs << 100 * e->macsShare;
    }
    auto* a = m_plot->addGraph();
    a->setName(QStringLiteral("accuracy, current policy"));
    a->setPen(QPen(QColor(0x1f, 0x77, 0xb4), 2));
    a->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 7));
    a->setData(x, acc, true);
    auto* f = m_plot->addGraph();
    f->setName(QStringLiteral("accuracy, final exit alone"));
    f->setPen(QPen(QColor(0x1f, 0x77, 0xb4), 1.5, Qt::DashLine));
    f->setData(x, fin, true);
    auto* m = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
    m->setName(QStringLiteral("MACs, current policy (right)"));
    m->setPen(QPen(QColor(0xd6, 0x27, 0x28), 2));
    m->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, 7));
    m->setData(x, macs, true);
    m_plot->xAxis->setRange(-0.3, 5.3);
    m_plot->yAxis->setRange(0, 100);
    m_plot->yAxis2->setRange(0, 100);
    m_plot->replot();

    m_table->setRowCount(static_cast<int>(m_entries.size()));
    const QString previous = m_show->currentText();
    m_show->clear();
    for (int r = 0; r < static_cast<int>(m_entries.size()); ++r) {
        const Entry& e = *m_entries[static_cast<std::size_t>(r)];
        QStringList hist;
        for (auto h : e.histogram) hist << QString::number(h);
        const QStringList cells{QString::number(e.severity), QString::number(100 * e.accuracy, 'f', 2),
                                QString::number(100 * e.finalAccuracy, 'f', 2), QString::number(e.meanExit, 'f', 2),
                                QString::number(100 * e.macsShare, 'f', 1), hist.join(QStringLiteral(" / "))};
        for (int c = 0; c < cells.size(); ++c) m_table->setItem(r, c, new QTableWidgetItem(cells[c]));
        m_show->addItem(QString::number(e.severity));
    }
    const int keep = m_show->findText(previous);
    if (keep >= 0) m_show->setCurrentIndex(keep);
}

quint64 ShiftPanel::simulateDrift(const QString& schedule, const QString& adapt, int64_t requests) {
    const core::Trace* val = m_explorer->valTrace();
    if (!val || m_explorer->fittedOnTest()) {
        m_error = QStringLiteral("the drift needs the clean validation trace the thresholds are first fitted on; open it");
        return 0;
    }
    std::vector<simulator::DriftStep> steps;
    simulator::AdaptOptions options;
    try {
        steps = simulator::parseDriftSchedule(schedule.toStdString());
        options = simulator::parseAdaptOptions(adapt.toStdString());
    } catch (const core::Error& e) {
        m_error = QString::fromStdString(e.what());
        return 0;
    }
    std::map<int, std::shared_ptr<const core::Trace>> traces;
    for (const auto& e : m_entries) traces[e->severity] = e->tracePtr;
    for (const auto& step : steps)
        if (!traces.count(step.severity)) {
            m_error = QStringLiteral("the schedule reaches severity %1: add its trace first").arg(step.severity);
            return 0;
        }
    auto valCopy = std::make_shared<core::Trace>(*val);
    m_error.clear();
    return m_runner->start(
        [=](const core::ProgressFn& progress, const core::CancelFlag&) -> QVariant {
            progress({0.1, "simulating the drifting stream"});
            std::map<int, const core::Trace*> bySeverity;
            for (const auto& [sev, t] : traces) bySeverity[sev] = t.get();
            simulator::DriftOptions o;
            o.numRequests = requests;
            o.spanRequests = std::max<int64_t>(100, requests / 40);
            return QVariant::fromValue(std::make_shared<simulator::DriftReport>(
                simulator::simulateDrift(*valCopy, bySeverity, steps, options, o)));
        },
        QStringLiteral("Simulating the drift"));
}

QString ShiftPanel::driftSummary() const { return m_driftNote->text(); }

void ShiftPanel::showDrift(const QVariant& result) {
    const auto report = result.value<std::shared_ptr<simulator::DriftReport>>();
    if (!report) return;
    m_driftPlot->clearGraphs();
    m_driftPlot->clearItems();
    const QColor colours[] = {QColor(0xd6, 0x27, 0x28), QColor(0x2c, 0xa0, 0x2c), QColor(0x7f, 0x7f, 0x7f)};
    QStringList lines;
    double top = 100 * report->adapt.maxDrop;
    double lastRequest = 0;
    for (std::size_t p = 0; p < report->policies.size(); ++p) {
        const auto& policy = report->policies[p];
        QVector<double> x, y;
        for (const auto& s : policy.spans) {
            x << static_cast<double>(s.firstRequest + s.requests / 2);
            y << 100 * s.drop;
            top = std::max(top, 100 * s.drop);
            lastRequest = std::max(lastRequest, static_cast<double>(s.firstRequest + s.requests));
        }
        auto* g = m_driftPlot->addGraph();
        g->setName(QString::fromStdString(policy.name));
        g->setPen(QPen(colours[p % 3], 2, p == 2 ? Qt::DashLine : Qt::SolidLine));
        g->setData(x, y, true);
        lines << QStringLiteral("%1: drop %2%, MACs %3% of the full network, %4% run to the end, %5 of %6 spans over budget")
                     .arg(QString::fromStdString(policy.name))
                     .arg(100 * policy.total.drop, 0, 'f', 2)
                     .arg(100 * policy.total.macsFraction, 0, 'f', 1)
                     .arg(100 * policy.total.ranToEndShare, 0, 'f', 1)
                     .arg(policy.spansOverBudget)
                     .arg(policy.spans.size());
    }
    auto* budget = m_driftPlot->addGraph();
    budget->setName(QStringLiteral("budget"));
    budget->setPen(QPen(Qt::black, 1, Qt::DotLine));
    budget->setData({0, lastRequest}, {100 * report->adapt.maxDrop, 100 * report->adapt.maxDrop});
    m_driftPlot->xAxis->setRange(0, lastRequest);
    m_driftPlot->yAxis->setRange(std::min(-1.0, -0.2 * top), top * 1.2 + 0.5);
    m_driftPlot->replot();
    m_driftNote->setText(QStringLiteral("Fixed thresholds fitted on clean validation data: %1. ").arg(report->fittedOnClean, 0, 'f', 2) +
                         lines.join(QStringLiteral("; ")));
}

} // namespace exitscope::widgets
