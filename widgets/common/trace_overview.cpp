#include "widgets/common/trace_overview.h"

#include "core/common/error.h"
#include "core/trace/trace.h"
#include "widgets/common/exit_summary_model.h"
#include "widgets/common/key_value_form.h"

#include <QFileInfo>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <nlohmann/json.hpp>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <set>

namespace exitscope::widgets {

namespace {

// The keys that profiling writes, in the order a reader wants them; any other
// metadata follows under its own name, so nothing in the file stays hidden.
struct KnownKey {
    const char* key;
    const char* label;
};
constexpr KnownKey kKnownMetadata[] = {
    {"model", "Model"},
    {"weights_hash", "Weights hash"},
    {"dataset", "Data set"},
    {"split", "Split"},
    {"device", "Device"},
    {"exitscope_version", "ExitScope version"},
};

QVector<KeyValueForm::Entry> summaryEntries(const core::Trace& trace) {
    QVector<KeyValueForm::Entry> entries{
        {QStringLiteral("samples"), QStringLiteral("Samples"), QString::number(trace.numSamples)},
        {QStringLiteral("exits"), QStringLiteral("Exits"), QString::number(trace.numExits)},
        {QStringLiteral("classes"), QStringLiteral("Classes"), QString::number(trace.numClasses)},
        {QStringLiteral("blocks"), QStringLiteral("Blocks"), QString::number(trace.numBlocks)},
        {QStringLiteral("gate_dim"), QStringLiteral("Gate inputs"),
         trace.gateDim > 0 ? QStringLiteral("%1 per exit (padded)").arg(trace.gateDim) : QStringLiteral("none")},
    };
    std::set<std::string> shown;
    for (const KnownKey& known : kKnownMetadata) {
        const auto it = trace.metadata.find(known.key);
        if (it != trace.metadata.end()) {
            entries.push_back({QString::fromLatin1(known.key), QString::fromLatin1(known.label),
                               QString::fromStdString(it->second)});
            shown.insert(it->first);
        }
    }
    for (const auto& [key, value] : trace.metadata) {
        if (shown.count(key)) continue;
        const QString name = QString::fromStdString(key);
        QString text = QString::fromStdString(value);
        // A merged trace's per-shard list (core/profile/merge.h) reads as a count; `info` lists it.
        const auto shards = key == "shards" ? nlohmann::json::parse(value, nullptr, false) : nlohmann::json();
        if (shards.is_array()) text = QStringLiteral("%1 merged (exitscope-cli info lists them)").arg(shards.size());
        entries.push_back({name, name, text});
    }
    return entries;
}

} // namespace

TraceOverview::TraceOverview(QWidget* parent)
    : QWidget(parent), m_title(new QLabel(this)), m_warning(new QLabel(this)),
      m_summary(new KeyValueForm), m_model(new ExitSummaryModel(this)), m_table(new QTableView),
      m_plot(new QCustomPlot) {
    m_title->setTextFormat(Qt::PlainText);
    m_title->setText(QStringLiteral("No trace loaded."));
    QFont titleFont = m_title->font();
    titleFont.setBold(true);
    m_title->setFont(titleFont);

    m_warning->setTextFormat(Qt::PlainText);
    m_warning->setWordWrap(true);
    m_warning->setStyleSheet(QStringLiteral("color: #a04000;"));
    m_warning->hide();

    m_summary->setColumnCount(2);
    m_summary->setMaxShownChars(28);
    auto* summaryBox = new QGroupBox(QStringLiteral("Trace"));
    auto* summaryLayout = new QVBoxLayout(summaryBox);
    summaryLayout->addWidget(m_summary);

    m_table->setModel(m_model);
    m_table->verticalHeader()->hide();
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setAlternatingRowColors(true);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);

    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(summaryBox);
    leftLayout->addWidget(m_table, 1);

    m_plot->setMinimumSize(360, 280);
    m_plot->xAxis->setLabel(QStringLiteral("Cumulative MACs per sample (M)"));
    m_plot->yAxis->setLabel(QStringLiteral("Accuracy at the exit alone (%)"));
    m_plot->plotLayout()->insertRow(0);
    m_plot->plotLayout()->addElement(
        0, 0, new QCPTextElement(m_plot, QStringLiteral("Accuracy against cost, per exit")));

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(left);
    splitter->addWidget(m_plot);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);
    splitter->setChildrenCollapsible(false);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(m_warning);
    layout->addWidget(splitter, 1);
    updatePlot();
}

TraceOverview::~TraceOverview() = default;

bool TraceOverview::loadFile(const QString& path) {
    // Read completely before touching anything shown, so that a bad file
    // leaves the previous trace on screen.
    try {
        const core::Trace trace = core::readTrace(path.toStdString());
        setTrace(trace, QFileInfo(path).absoluteFilePath());
    } catch (const core::Error& e) {
        m_error = QString::fromStdString(e.what());
        return false;
    } catch (const std::exception& e) {
        // Not a user-caused error by the project's definition (out of memory,
        // say), but the window must survive it all the same.
        m_error = QStringLiteral("%1: %2").arg(path, QString::fromStdString(e.what()));
        return false;
    }
    m_error.clear();
    return true;
}

void TraceOverview::setTrace(const core::Trace& trace, const QString& source) {
    m_source = source;
    m_title->setText(source);
    m_summary->setEntries(summaryEntries(trace));
    m_model->setTrace(trace);
    m_hasTrace = true;
    const auto mixed = trace.metadata.find("mixed_devices");
    m_mixedDevices = mixed != trace.metadata.end() && mixed->second == "true";
    const auto types = trace.metadata.find("device_type");
    m_mixedDeviceTypes = types == trace.metadata.end() ? QString() : QString::fromStdString(types->second);
    updatePlot();
    updateWarnings();
}

QString TraceOverview::summaryValue(const QString& key) const {
    return m_summary->value(key);
}

QVector<QPointF> TraceOverview::plotPoints() const {
    QVector<QPointF> points;
    if (m_plot->graphCount() == 0) {
        return points;
    }
    const auto data = m_plot->graph(0)->data();
    for (auto it = data->constBegin(); it != data->constEnd(); ++it) {
        points.push_back(QPointF(it->key, it->value));
    }
    return points;
}

void TraceOverview::setReferenceWeightsHash(const QString& hash) {
    m_referenceHash = hash;
    updateWarnings();
}

void TraceOverview::updateWarnings() {
    const QString traceHash = m_summary->value(QStringLiteral("weights_hash"));
    m_mismatch = m_hasTrace && !m_referenceHash.isEmpty() && !traceHash.isEmpty() && traceHash != m_referenceHash;
    QStringList lines;
    if (m_mismatch)
        lines << QStringLiteral("This trace was profiled with weights %1, not the loaded "
                                "weights %2; its figures describe other weights.")
                     .arg(traceHash, m_referenceHash);
    if (m_hasTrace && m_mixedDevices)
        lines << QStringLiteral("Its timings were merged from shards measured on different device types (%1): "
                                "block and exit times mix machines; costs in MACs are unaffected.")
                     .arg(m_mixedDeviceTypes);
    m_warning->setText(lines.join(QLatin1Char('\n')));
    m_warning->setVisible(!lines.isEmpty());
}

void TraceOverview::updatePlot() {
    m_plot->clearGraphs();
    m_plot->clearItems();
    QCPGraph* graph = m_plot->addGraph();
    graph->setLineStyle(QCPGraph::lsLine);
    graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(QColor(0x1f, 0x77, 0xb4), 1.5),
                                           QBrush(Qt::white), 8));
    graph->setPen(QPen(QColor(0x1f, 0x77, 0xb4), 2));

    double maxX = 0.0, minY = 100.0, maxY = 0.0;
    for (const ExitSummaryModel::ExitRow& row : m_model->rows()) {
        // Without samples there is no accuracy to draw; the table shows a dash.
        if (std::isnan(row.accuracy)) continue;
        const double x = static_cast<double>(row.cumulativeMacs) / 1e6;
        const double y = row.accuracy * 100.0;
        graph->addData(x, y);
        auto* label = new QCPItemText(m_plot);
        label->position->setCoords(x, y);
        label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
        label->setPadding(QMargins(0, 0, 0, 8));
        label->setText(QStringLiteral("exit %1").arg(row.exit));
        maxX = std::max(maxX, x);
        minY = std::min(minY, y);
        maxY = std::max(maxY, y);
    }
    if (graph->dataCount() == 0) {
        auto* note = new QCPItemText(m_plot);
        note->position->setType(QCPItemPosition::ptAxisRectRatio);
        note->position->setCoords(0.5, 0.5);
        note->setText(m_hasTrace ? QStringLiteral("The trace has no samples") : QStringLiteral("No trace loaded"));
        m_plot->xAxis->setRange(0.0, 1.0);
        m_plot->yAxis->setRange(0.0, 100.0);
    } else {
        // Room on the right and above for the exit labels; accuracy never below 0.
        m_plot->xAxis->setRange(0.0, maxX > 0.0 ? maxX * 1.1 : 1.0);
        const double span = std::max(maxY - minY, 5.0);
        m_plot->yAxis->setRange(std::max(0.0, minY - 0.15 * span), maxY + 0.2 * span);
    }
    m_plot->replot();
}

} // namespace exitscope::widgets
