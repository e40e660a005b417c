#include "widgets/shift/shift_panel.h"

#include "core/common/error.h"
#include "core/data/corruption.h"
#include "core/policy/confidence.h"
#include "core/policy/policy.h"
#include "core/trace/trace.h"
#include "widgets/explorer/explorer.h"

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace exitscope::widgets {

struct ShiftPanel::Entry {
    QString path;
    int severity = 0;
    core::Trace trace;
    double accuracy = NAN, finalAccuracy = NAN, macsShare = NAN, meanExit = NAN;
    std::vector<int64_t> histogram;
};

namespace {

std::string metadataOf(const core::Trace& t, const char* key) {
    const auto it = t.metadata.find(key);
    return it == t.metadata.end() ? std::string() : it->second;
}

} // namespace

ShiftPanel::ShiftPanel(Explorer* explorer, QWidget* parent)
    : QWidget(parent), m_explorer(explorer), m_note(new QLabel), m_plot(new QCustomPlot), m_table(new QTableWidget),
      m_show(new QComboBox) {
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

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_note);
    layout->addLayout(buttons);
    layout->addWidget(m_plot, 2);
    layout->addWidget(m_table, 1);

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
        e->trace = core::readTrace(path.toStdString());
    } catch (const core::Error& err) {
        m_error = QString::fromStdString(err.what());
        return false;
    }
    const core::Trace* test = m_explorer->testTrace();
    const std::string hash = metadataOf(e->trace, "weights_hash");
    if (test && hash != metadataOf(*test, "weights_hash")) {
        m_error = QStringLiteral("%1: profiled from other weights than the test trace").arg(path);
        return false;
    }
    if (!m_entries.empty() && hash != metadataOf(m_entries.front()->trace, "weights_hash")) {
        m_error = QStringLiteral("%1: profiled from other weights than %2").arg(path, m_entries.front()->path);
        return false;
    }
    const std::string c = metadataOf(e->trace, "corruption");
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
        e->histogram.assign(static_cast<std::size_t>(e->trace.numExits), 0);
        e->accuracy = e->finalAccuracy = e->macsShare = e->meanExit = NAN;
        if (!policy) continue;
        try {
            const auto outcome = core::applyPolicy(e->trace, *policy);
            e->accuracy = core::outcomeAccuracy(e->trace, outcome);
            e->macsShare = core::outcomeMeanMacs(e->trace, outcome) / static_cast<double>(e->trace.exitMacs.back());
            double sum = 0;
            for (auto k : outcome.exitTaken) {
                ++e->histogram[static_cast<std::size_t>(k)];
                sum += static_cast<double>(k);
            }
            e->meanExit = sum / static_cast<double>(std::max<std::size_t>(1, outcome.exitTaken.size()));
            e->finalAccuracy = core::perExitAccuracy(e->trace).back();
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

} // namespace exitscope::widgets
