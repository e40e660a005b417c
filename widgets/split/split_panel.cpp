#include "widgets/split/split_panel.h"

#include "core/common/error.h"
#include "core/trace/trace.h"
#include "simulator/schedule/split_profile.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QSlider>
#include <QSplitter>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace exitscope::widgets {

namespace {

// Rough, typical links (not measurements): a starting point for the sliders.
struct LinkPreset {
    const char* name;
    double mbps;
    double rttMs;
};
constexpr LinkPreset kLinkPresets[] = {
    {"3G-class: 1 Mbit/s, 100 ms", 1.0, 100.0},    {"4G-class: 10 Mbit/s, 50 ms", 10.0, 50.0},
    {"Wi-Fi-class: 50 Mbit/s, 5 ms", 50.0, 5.0},   {"5G-class: 100 Mbit/s, 20 ms", 100.0, 20.0},
    {"Ethernet-class: 1000 Mbit/s, 0.5 ms", 1000.0, 0.5},
};
const QString kCustom = QStringLiteral("custom");
const QString kProfiling = QStringLiteral("profiling machine (as traced)");

void fillPlatformCombo(QComboBox* combo, const QString& preferred) {
    combo->addItem(kProfiling);
    try {
        for (const auto& name : simulator::platformPresetNames()) combo->addItem(QString::fromStdString(name));
    } catch (const core::Error&) {
        // No preset folder: the profiling machine and custom values still work.
    }
    combo->addItem(kCustom);
    const int i = combo->findText(preferred);
    combo->setCurrentIndex(i >= 0 ? i : 0);
}

} // namespace

double SplitPanel::mbpsFromSlider(int value) {
    // The ends are exact so that the slider reaches 0.1 and 1000 themselves.
    if (value <= 0) return kMinMbps;
    if (value >= kSliderSteps) return kMaxMbps;
    return std::pow(10.0, 4.0 * static_cast<double>(value) / kSliderSteps - 1.0);
}

int SplitPanel::sliderFromMbps(double mbps) {
    if (!(mbps > kMinMbps)) return 0;
    if (mbps >= kMaxMbps) return kSliderSteps;
    return static_cast<int>(std::lround((std::log10(mbps) + 1.0) * kSliderSteps / 4.0));
}

SplitPanel::SplitPanel(QWidget* parent) : QWidget(parent) {
    m_goal = simulator::Goal::lowestLatency(0.9);
    buildUi();
    // The combos start on these presets when they exist, else on the profiling machine.
    try {
        m_device = simulator::loadPlatformSpec(m_deviceCombo->currentText().toStdString());
    } catch (const core::Error&) {
        m_device = simulator::Platform{};
    }
    try {
        m_server = simulator::loadPlatformSpec(m_serverCombo->currentText().toStdString());
    } catch (const core::Error&) {
        m_server = simulator::Platform{};
    }
    refreshPlatformControls();
}

SplitPanel::~SplitPanel() = default;

void SplitPanel::buildUi() {
    auto* controls = new QWidget;
    auto* controlsLayout = new QVBoxLayout(controls);

    auto speedBox = [](double max) {
        auto* s = new QDoubleSpinBox;
        s->setDecimals(3);
        s->setRange(0.001, max);
        s->setKeyboardTracking(false);
        return s;
    };
    auto* deviceBox = new QGroupBox(QStringLiteral("Device"));
    auto* deviceForm = new QFormLayout(deviceBox);
    m_deviceCombo = new QComboBox;
    fillPlatformCombo(m_deviceCombo, QStringLiteral("phone-class"));
    m_deviceSpeed = speedBox(1e6);
    m_deviceLoad = new QSlider(Qt::Horizontal);
    m_deviceLoad->setRange(0, 95);
    m_deviceLoadLabel = new QLabel(QStringLiteral("0%"));
    auto* loadRow = new QHBoxLayout;
    loadRow->addWidget(m_deviceLoad, 1);
    loadRow->addWidget(m_deviceLoadLabel);
    deviceForm->addRow(QStringLiteral("Preset"), m_deviceCombo);
    deviceForm->addRow(QStringLiteral("Speed"), m_deviceSpeed);
    deviceForm->addRow(QStringLiteral("Busy with other work"), loadRow);

    auto* serverBox = new QGroupBox(QStringLiteral("Server"));
    auto* serverForm = new QFormLayout(serverBox);
    m_serverCombo = new QComboBox;
    fillPlatformCombo(m_serverCombo, QStringLiteral("gpu-server"));
    m_serverSpeed = speedBox(1e6);
    serverForm->addRow(QStringLiteral("Preset"), m_serverCombo);
    serverForm->addRow(QStringLiteral("Speed"), m_serverSpeed);

    auto* linkBox = new QGroupBox(QStringLiteral("Network link"));
    auto* linkForm = new QFormLayout(linkBox);
    m_linkCombo = new QComboBox;
    m_linkCombo->addItem(kCustom);
    for (const LinkPreset& l : kLinkPresets) m_linkCombo->addItem(QString::fromLatin1(l.name));
    m_linkCombo->setToolTip(QStringLiteral("Typical figures, not measurements"));
    m_bwSlider = new QSlider(Qt::Horizontal);
    m_bwSlider->setRange(0, kSliderSteps);
    m_bwSlider->setToolTip(QStringLiteral("Logarithmic: 0.1 to 1000 Mbit/s"));
    m_bwEdit = new QLineEdit;
    m_bwEdit->setMaximumWidth(80);
    m_bwEdit->setToolTip(QStringLiteral("Mbit/s, from 0.1 to 1000"));
    auto* bwRow = new QHBoxLayout;
    bwRow->addWidget(m_bwSlider, 1);
    bwRow->addWidget(m_bwEdit);
    bwRow->addWidget(new QLabel(QStringLiteral("Mbit/s")));
    m_bwError = new QLabel;
    m_bwError->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_bwError->setWordWrap(true);
    m_bwError->hide();
    m_rtt = new QDoubleSpinBox;
    m_rtt->setRange(0.0, 5000.0);
    m_rtt->setDecimals(1);
    m_rtt->setSuffix(QStringLiteral(" ms"));
    m_rtt->setKeyboardTracking(false);
    linkForm->addRow(QStringLiteral("Preset"), m_linkCombo);
    linkForm->addRow(QStringLiteral("Bandwidth"), bwRow);
    linkForm->addRow(QString(), m_bwError);
    linkForm->addRow(QStringLiteral("Round trip"), m_rtt);

    auto* goalBox = new QGroupBox(QStringLiteral("Goal"));
    auto* goalForm = new QFormLayout(goalBox);
    m_goalCombo = new QComboBox;
    m_goalCombo->addItems({QStringLiteral("Lowest mean latency"), QStringLiteral("Highest accuracy"),
                           QStringLiteral("Highest throughput"), QStringLiteral("Lowest server cost")});
    m_minAccuracy = new QDoubleSpinBox;
    m_minAccuracy->setRange(0.0, 100.0);
    m_minAccuracy->setDecimals(1);
    m_minAccuracy->setSuffix(QStringLiteral(" %"));
    m_minAccuracy->setKeyboardTracking(false);
    m_maxP95 = new QDoubleSpinBox;
    m_maxP95->setRange(0.01, 1e6);
    m_maxP95->setDecimals(2);
    m_maxP95->setValue(50.0);
    m_maxP95->setSuffix(QStringLiteral(" ms"));
    m_maxP95->setKeyboardTracking(false);
    goalForm->addRow(QStringLiteral("Objective"), m_goalCombo);
    goalForm->addRow(QStringLiteral("Accuracy at least"), m_minAccuracy);
    goalForm->addRow(QStringLiteral("95th-percentile latency at most"), m_maxP95);

    m_warning = new QLabel;
    m_warning->setWordWrap(true);
    m_warning->setStyleSheet(QStringLiteral("color: #a04000;"));
    m_warning->hide();
    m_timing = new QLabel;
    m_timing->setStyleSheet(QStringLiteral("color: gray;"));
    controlsLayout->addWidget(deviceBox);
    controlsLayout->addWidget(serverBox);
    controlsLayout->addWidget(linkBox);
    controlsLayout->addWidget(goalBox);
    controlsLayout->addWidget(m_warning);
    controlsLayout->addStretch(1);
    controlsLayout->addWidget(m_timing);

    m_chosen = new QLabel;
    m_chosen->setWordWrap(true);
    m_chosen->setTextFormat(Qt::RichText);
    m_explanation = new QLabel;
    m_explanation->setWordWrap(true);
    m_explanation->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_explanation->hide();

    m_plot = new QCustomPlot;
    m_plot->setMinimumSize(420, 260);
    m_plot->yAxis->setLabel(QStringLiteral("Mean time per image (ms)"));
    m_plot->xAxis->setLabel(QStringLiteral("Where the network is split (blocks before the cut run on the device)"));
    // The legend goes in a row of its own below the axes, where no bar can hide behind it.
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(font());
    m_plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->plotLayout()->addElement(1, 0, m_plot->legend);
    m_plot->plotLayout()->setRowStretchFactor(1, 0.001);
    m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
    m_plot->xAxis->grid()->setVisible(false);
    m_plot->plotLayout()->insertRow(0);
    m_plot->plotLayout()->addElement(
        0, 0, new QCPTextElement(m_plot, QStringLiteral("Best design at each split point (framed: the chosen one)")));
    connect(m_plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        const double key = m_plot->xAxis->pixelToCoord(e->pos().x());
        const long i = std::lround(key);
        if (i < 0 || i >= static_cast<long>(m_bars.size()) || std::abs(key - static_cast<double>(i)) > 0.4) {
            QToolTip::hideText();
            return;
        }
        const QString text = barToolTip(static_cast<std::size_t>(i));
        QToolTip::showText(e->globalPosition().toPoint(), text, m_plot);
    });

    m_baselines = new QTableWidget(0, 7);
    m_baselines->setHorizontalHeaderLabels({QStringLiteral("Design"), QStringLiteral("Meets goal"),
                                            QStringLiteral("Split"), QStringLiteral("Accuracy"),
                                            QStringLiteral("Mean"), QStringLiteral("95th pct."),
                                            QStringLiteral("Sent / image")});
    m_baselines->verticalHeader()->hide();
    m_baselines->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_baselines->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_baselines->horizontalHeader()->setStretchLastSection(true);
    m_baselines->setMinimumHeight(150);

    auto* results = new QWidget;
    auto* resultsLayout = new QVBoxLayout(results);
    resultsLayout->setContentsMargins(0, 0, 0, 0);
    auto* intro = new QLabel(QStringLiteral(
        "Split computing: the device runs the first blocks, sends what they computed over the link, and a server "
        "finishes the rest; images that leave at an early exit before the cut never leave the device. Choose a "
        "device, a server, a link and a goal: the scheduler tries every cut and exit threshold and picks the best."));
    intro->setWordWrap(true);
    intro->setStyleSheet(QStringLiteral("color: #505050;"));
    resultsLayout->addWidget(intro);
    resultsLayout->addWidget(m_chosen);
    resultsLayout->addWidget(m_explanation);
    resultsLayout->addWidget(m_plot, 3);
    resultsLayout->addWidget(m_baselines, 1);

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(controls);
    splitter->addWidget(results);
    splitter->setStretchFactor(1, 1);
    splitter->setChildrenCollapsible(false);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(splitter);

    // Controls -> state -> re-plan. m_updating guards programmatic updates.
    auto platformChanged = [this](QComboBox* combo, simulator::Platform& target) {
        if (m_updating) return;
        const QString name = combo->currentText();
        if (name == kCustom) return;
        try {
            target = name == kProfiling ? simulator::Platform{} : simulator::loadPlatformSpec(name.toStdString());
        } catch (const core::Error& e) {
            m_warning->setText(QString::fromStdString(e.what()));
            m_warning->show();
            return;
        }
        if (&target == &m_device) target.load = m_deviceLoad->value() / 100.0;
        refreshPlatformControls();
        replan();
    };
    connect(m_deviceCombo, &QComboBox::currentTextChanged, this, [=]() { platformChanged(m_deviceCombo, m_device); });
    connect(m_serverCombo, &QComboBox::currentTextChanged, this, [=]() { platformChanged(m_serverCombo, m_server); });
    auto speedChanged = [this](QComboBox* combo, simulator::Platform& target, double v) {
        if (m_updating) return;
        (target.speedModel == simulator::SpeedModel::Gflops ? target.gflops : target.relativeSpeed) = v;
        target.name = "custom";
        target.note.clear();
        m_updating = true;
        combo->setCurrentText(kCustom);
        m_updating = false;
        replan();
    };
    connect(m_deviceSpeed, &QDoubleSpinBox::valueChanged, this,
            [=](double v) { speedChanged(m_deviceCombo, m_device, v); });
    connect(m_serverSpeed, &QDoubleSpinBox::valueChanged, this,
            [=](double v) { speedChanged(m_serverCombo, m_server, v); });
    connect(m_deviceLoad, &QSlider::valueChanged, this, [this](int v) {
        m_deviceLoadLabel->setText(QStringLiteral("%1%").arg(v));
        if (m_updating) return;
        m_device.load = v / 100.0;
        replan();
    });
    connect(m_linkCombo, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (m_updating || i <= 0) return;
        const LinkPreset& l = kLinkPresets[i - 1];
        m_link.rttMs = l.rttMs;
        setBandwidthMbps(l.mbps);
    });
    connect(m_bwSlider, &QSlider::valueChanged, this, [this](int v) {
        if (m_updating) return;
        m_link.bandwidthMbps = mbpsFromSlider(v);
        m_bwError->hide();
        m_updating = true;
        m_bwEdit->setText(QLocale::c().toString(m_link.bandwidthMbps, 'g', 4));
        m_linkCombo->setCurrentIndex(0);
        m_updating = false;
        replan();
    });
    connect(m_bwEdit, &QLineEdit::editingFinished, this, [this]() { setBandwidthText(m_bwEdit->text()); });
    connect(m_rtt, &QDoubleSpinBox::valueChanged, this, [this](double v) {
        if (m_updating) return;
        m_link.rttMs = v;
        m_updating = true;
        m_linkCombo->setCurrentIndex(0);
        m_updating = false;
        replan();
    });
    auto goalChanged = [this]() {
        if (m_updating) return;
        readGoalControls();
        replan();
    };
    connect(m_goalCombo, &QComboBox::currentIndexChanged, this, goalChanged);
    connect(m_minAccuracy, &QDoubleSpinBox::valueChanged, this, goalChanged);
    connect(m_maxP95, &QDoubleSpinBox::valueChanged, this, goalChanged);
}

void SplitPanel::readGoalControls() {
    const double acc = m_minAccuracy->value() / 100.0;
    const double p95 = m_maxP95->value();
    switch (m_goalCombo->currentIndex()) {
    case 1: m_goal = simulator::Goal::highestAccuracy(p95); break;
    case 2: m_goal = simulator::Goal::highestThroughput(acc); break;
    case 3: m_goal = simulator::Goal::lowestServerCost(p95, acc); break;
    default: m_goal = simulator::Goal::lowestLatency(acc); break;
    }
}

void SplitPanel::refreshPlatformControls() {
    m_updating = true;
    auto show = [](QDoubleSpinBox* box, const simulator::Platform& p) {
        const bool gflops = p.speedModel == simulator::SpeedModel::Gflops;
        box->setSuffix(gflops ? QStringLiteral(" GFLOP/s") : QStringLiteral(" \u00d7 profiling machine"));
        box->setValue(gflops ? p.gflops : p.relativeSpeed);
        box->setToolTip(QString::fromStdString(p.note));
    };
    show(m_deviceSpeed, m_device);
    show(m_serverSpeed, m_server);
    m_deviceCombo->setToolTip(QString::fromStdString(m_device.note));
    m_serverCombo->setToolTip(QString::fromStdString(m_server.note));
    m_deviceLoad->setValue(static_cast<int>(std::lround(m_device.load * 100.0)));
    m_deviceLoadLabel->setText(QStringLiteral("%1%").arg(m_deviceLoad->value()));
    m_bwSlider->setValue(sliderFromMbps(m_link.bandwidthMbps));
    m_bwEdit->setText(QLocale::c().toString(m_link.bandwidthMbps, 'g', 4));
    m_rtt->setValue(m_link.rttMs);
    const bool p95 = m_goal.objective == simulator::Objective::HighestAccuracy ||
                     m_goal.objective == simulator::Objective::LowestServerCost;
    m_goalCombo->setCurrentIndex(static_cast<int>(m_goal.objective));
    if (!std::isnan(m_goal.minAccuracy)) m_minAccuracy->setValue(100.0 * m_goal.minAccuracy);
    if (!std::isnan(m_goal.maxP95Ms)) m_maxP95->setValue(m_goal.maxP95Ms);
    m_minAccuracy->setEnabled(m_goal.objective != simulator::Objective::HighestAccuracy);
    m_maxP95->setEnabled(p95);
    m_updating = false;
}

bool SplitPanel::setTrace(const core::Trace& trace, const QString& splitsPath) {
    try {
        QString warning;
        std::vector<simulator::SplitPoint> splits;
        bool measured = false;
        if (!splitsPath.isEmpty()) {
            try {
                splits = simulator::measuredSplitPoints(trace, splitsPath.toStdString());
                measured = true;
            } catch (const core::Error& e) {
                warning = QStringLiteral("Measured split profile not used (%1); bytes are estimated as 8-bit "
                                         "states before compression.")
                              .arg(QString::fromStdString(e.what()));
            }
        }
        if (!measured) splits = simulator::defaultSplitPoints(trace);
        auto scheduler = std::make_unique<simulator::Scheduler>(trace, splits);
        std::vector<simulator::Scheduler> perSplit;
        perSplit.reserve(splits.size());
        for (const auto& s : splits) perSplit.emplace_back(trace, std::vector<simulator::SplitPoint>{s});
        double gflops = std::numeric_limits<double>::quiet_NaN();
        try {
            gflops = simulator::profilingGflops(trace);
        } catch (const core::Error&) {
            // Only a GFLOP/s platform with measured codec times needs it; the model says so then.
        }
        m_scheduler = std::move(scheduler);
        m_perSplit = std::move(perSplit);
        m_profilingGflops = gflops;
        m_numBlocks = trace.numBlocks;
        m_measured = measured;
        m_splitWarning = warning;
        m_error.clear();
    } catch (const core::Error& e) {
        m_error = QString::fromStdString(e.what());
        return false;
    }
    // A goal a newcomer can meet: within a point of the full network's accuracy.
    const double full = m_scheduler->profiles()[m_scheduler->finalExitProfileIndex()].accuracy;
    if (m_goal.objective != simulator::Objective::HighestAccuracy)
        m_goal.minAccuracy = std::max(0.0, std::floor(full * 100.0 - 1.0) / 100.0);
    m_warning->setText(m_splitWarning);
    m_warning->setVisible(!m_splitWarning.isEmpty());
    m_lastBlocks = -2;
    refreshPlatformControls();
    replan();
    return true;
}

bool SplitPanel::setDevicePreset(const QString& name) {
    const int i = m_deviceCombo->findText(name);
    if (i < 0 || name == kCustom) return false;
    m_deviceCombo->setCurrentIndex(i);
    return true;
}

bool SplitPanel::setServerPreset(const QString& name) {
    const int i = m_serverCombo->findText(name);
    if (i < 0 || name == kCustom) return false;
    m_serverCombo->setCurrentIndex(i);
    return true;
}

void SplitPanel::setDevice(const simulator::Platform& device) {
    simulator::checkPlatform(device, "device");
    m_device = device;
    m_updating = true;
    m_deviceCombo->setCurrentText(kCustom);
    m_updating = false;
    refreshPlatformControls();
    replan();
}

void SplitPanel::setServer(const simulator::Platform& server) {
    simulator::checkPlatform(server, "server");
    m_server = server;
    m_updating = true;
    m_serverCombo->setCurrentText(kCustom);
    m_updating = false;
    refreshPlatformControls();
    replan();
}

void SplitPanel::setDeviceLoad(double load) {
    m_device.load = std::clamp(load, 0.0, 0.95);
    refreshPlatformControls();
    replan();
}

void SplitPanel::setBandwidthMbps(double mbps) {
    if (!std::isfinite(mbps)) return;
    m_link.bandwidthMbps = std::clamp(mbps, kMinMbps, kMaxMbps);
    m_bwError->hide();
    refreshPlatformControls();
    replan();
}

bool SplitPanel::setBandwidthText(const QString& text) {
    bool ok = false;
    const double v = QLocale::c().toDouble(text.trimmed(), &ok);
    if (!ok || !std::isfinite(v) || v < kMinMbps || v > kMaxMbps) {
        m_bwError->setText(QStringLiteral("'%1' is not a bandwidth from 0.1 to 1000 Mbit/s; kept %2 Mbit/s.")
                               .arg(text, QLocale::c().toString(m_link.bandwidthMbps, 'g', 4)));
        m_bwError->show();
        m_updating = true;
        m_bwEdit->setText(QLocale::c().toString(m_link.bandwidthMbps, 'g', 4));
        m_updating = false;
        return false;
    }
    m_updating = true;
    m_linkCombo->setCurrentIndex(0);
    m_updating = false;
    setBandwidthMbps(v);
    return true;
}

QString SplitPanel::bandwidthError() const { return m_bwError->isHidden() ? QString() : m_bwError->text(); }

void SplitPanel::setRttMs(double ms) {
    if (!std::isfinite(ms) || ms < 0) return;
    m_link.rttMs = ms;
    refreshPlatformControls();
    replan();
}

void SplitPanel::setGoal(const simulator::Goal& goal) {
    simulator::checkGoal(goal);
    m_goal = goal;
    refreshPlatformControls();
    replan();
}

SplitConditions SplitPanel::conditions() const { return {m_device, m_server, m_link, m_goal}; }

int64_t SplitPanel::chosenBlocksOnDevice() const {
    if (!m_scheduler || !m_plan.feasible) return -1;
    return m_scheduler->model().splits()[m_plan.best.split].blocksOnDevice;
}

double SplitPanel::chosenThreshold() const {
    if (!m_scheduler || !m_plan.feasible) return -1.0;
    return m_scheduler->profiles()[m_plan.best.profile].threshold;
}

std::vector<int64_t> SplitPanel::chosenExitHistogram() const {
    if (!m_scheduler || !m_plan.feasible) return {};
    return m_scheduler->profiles()[m_plan.best.profile].histogram;
}

SplitPanel::SplitBar SplitPanel::barFor(const simulator::DesignFigures& f, std::size_t split, bool feasible) const {
    const auto& point = m_scheduler->model().splits()[split];
    const auto& profile = m_scheduler->profiles()[f.profile];
    SplitBar b;
    b.blocksOnDevice = point.blocksOnDevice;
    b.label = QString::fromStdString(simulator::splitLabel(point.blocksOnDevice, m_numBlocks));
    b.feasible = feasible;
    const double offloaded = 1.0 - f.fractionOnDevice;
    b.encodeMs = offloaded * m_device.measuredWorkMs(point.encodeMs, m_profilingGflops);
    b.deviceMs = std::max(0.0, f.deviceStageMs - b.encodeMs);
    b.serverMs = f.serverStageMs;
    // What is left of the mean latency is the link: upload, RTT and reply.
    b.transferMs = std::max(0.0, f.meanMs - f.deviceStageMs - f.serverStageMs);
    b.accuracy = f.accuracy;
    b.meanBytes = f.meanBytes;
    b.threshold = profile.threshold;
    b.profile = QString::fromStdString(profile.label);
    return b;
}

void SplitPanel::replan() {
    if (!m_scheduler) return;
    QElapsedTimer clock;
    clock.start();
    try {
        m_scheduler->setConditions(m_device, m_server, m_link);
        m_plan = m_scheduler->plan(m_goal);
        m_bars.clear();
        for (std::size_t i = 0; i < m_perSplit.size(); ++i) {
            auto& one = m_perSplit[i];
            one.setConditions(m_device, m_server, m_link);
            const simulator::Plan p = one.plan(m_goal);
            if (p.feasible) {
                simulator::DesignFigures f = p.best;
                f.split = i;
                m_bars.push_back(barFor(f, i, true));
            } else {
                // Nothing here meets the goal: show the fixed-threshold design, faded.
                m_bars.push_back(barFor(m_scheduler->evaluate(m_scheduler->fixedThresholdProfileIndex(), i), i, false));
                m_bars.back().note = QString::fromStdString(p.explanation);
            }
        }
    } catch (const core::Error& e) {
        m_plan = simulator::Plan{};
        m_plan.explanation = e.what();
    }
    m_replanMs = static_cast<double>(clock.nsecsElapsed()) / 1e6;
    updateChart();
    updateTables();
    m_timing->setText(QStringLiteral("re-planned %1 designs in %2 ms")
                          .arg(m_plan.designs.size())
                          .arg(m_replanMs, 0, 'f', 3));
    const int64_t blocks = chosenBlocksOnDevice();
    const double threshold = chosenThreshold();
    emit conditionsChanged();
    if (blocks != m_lastBlocks || threshold != m_lastThreshold) {
        m_lastBlocks = blocks;
        m_lastThreshold = threshold;
        emit designChanged(blocks, threshold);
    }
}

} // namespace exitscope::widgets
