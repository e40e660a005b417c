// The split and elastic panels' parts of the autosaved session: what a
// crash restore must bring back besides the files and the explorer's controls.
#include "app/gui/panel_session.h"

#include "app/gui/main_window.h"
#include "core/common/error.h"
#include "core/elastic/elastic_config.h"
#include "simulator/platform/platform.h"
#include "widgets/elastic/elastic_panel.h"
#include "widgets/split/split_panel.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>
#include <limits>

namespace exitscope::app {

namespace {

QJsonValue fromNlohmann(const nlohmann::json& j) {
    return QJsonDocument::fromJson(QByteArray::fromStdString(j.dump())).object();
}

nlohmann::json toNlohmann(const QJsonValue& v) {
    const auto j = nlohmann::json::parse(QJsonDocument(v.toObject()).toJson().toStdString(), nullptr, false);
    if (j.is_discarded()) throw core::Error("not a JSON object");
    return j;
}

// Absent bounds are NaN, which JSON has no word for: they are left out.
void putBound(QJsonObject& o, const char* key, double v) {
    if (std::isfinite(v)) o.insert(QLatin1String(key), v);
}

double bound(const QJsonObject& o, const char* key) {
    const QJsonValue v = o.value(QLatin1String(key));
    return v.isDouble() ? v.toDouble() : std::numeric_limits<double>::quiet_NaN();
}

QJsonValue saveSplit(const widgets::SplitPanel& panel) {
    const widgets::SplitConditions c = panel.conditions();
    QJsonObject goal{{QStringLiteral("objective"), static_cast<int>(c.goal.objective)}};
    putBound(goal, "min_accuracy", c.goal.minAccuracy);
    putBound(goal, "max_mean_ms", c.goal.maxMeanMs);
    putBound(goal, "max_p95_ms", c.goal.maxP95Ms);
    return QJsonObject{{QStringLiteral("device"), fromNlohmann(simulator::platformToJson(c.device))},
                       {QStringLiteral("server"), fromNlohmann(simulator::platformToJson(c.server))},
                       {QStringLiteral("bandwidth_mbps"), c.link.bandwidthMbps},
                       {QStringLiteral("rtt_ms"), c.link.rttMs},
                       {QStringLiteral("goal"), goal}};
}

bool restoreSplit(widgets::SplitPanel& panel, const QJsonValue& value, QString* why) {
    try {
        const QJsonObject o = value.toObject();
        const simulator::Platform device = simulator::platformFromJson(toNlohmann(o.value(QStringLiteral("device"))), "device");
        const simulator::Platform server = simulator::platformFromJson(toNlohmann(o.value(QStringLiteral("server"))), "server");
        const QJsonObject g = o.value(QStringLiteral("goal")).toObject();
        const int objective = g.value(QStringLiteral("objective")).toInt(-1);
        if (objective < 0 || objective > static_cast<int>(simulator::Objective::LowestServerCost))
            throw core::Error("goal objective " + std::to_string(objective) + " is unknown");
        simulator::Goal goal;
        goal.objective = static_cast<simulator::Objective>(objective);
        goal.minAccuracy = bound(g, "min_accuracy");
        goal.maxMeanMs = bound(g, "max_mean_ms");
        goal.maxP95Ms = bound(g, "max_p95_ms");
        simulator::checkGoal(goal);
        const double mbps = o.value(QStringLiteral("bandwidth_mbps")).toDouble(-1.0);
        const double rtt = o.value(QStringLiteral("rtt_ms")).toDouble(-1.0);
        if (!(mbps > 0.0) || !(rtt >= 0.0)) throw core::Error("bandwidth or RTT missing or out of range");
        panel.setDevice(device);
        panel.setServer(server);
        panel.setBandwidthMbps(mbps);
        panel.setRttMs(rtt);
        panel.setGoal(goal);
        return true;
    } catch (const core::Error& e) {
        if (why) *why = QString::fromStdString(e.what());
        return false;
    }
}

} // namespace

void addPanelSessionParts(MainWindow& window, widgets::SplitPanel* split, widgets::ElasticPanel* elastic) {
    window.addSessionPart({QStringLiteral("split"), [split] { return saveSplit(*split); },
                           [split](const QJsonValue& v, QString* why) { return restoreSplit(*split, v, why); }});
    window.addSessionPart(
        {QStringLiteral("elastic"),
         [elastic]() -> QJsonValue {
             if (!elastic->hasTraces()) return QJsonValue::Null;
             return fromNlohmann(core::elasticSettingsToJson(elastic->settings()));
         },
         [elastic](const QJsonValue& v, QString* why) {
             if (v.isNull() || !elastic->hasTraces()) return true;  // nothing was planned, or nothing to plan on
             try {
                 const core::ElasticSettings s =
                     core::elasticSettingsFromJson(toNlohmann(v), elastic->numExits(), "elastic");
                 if (elastic->applySettings(s)) return true;
                 if (why) *why = elastic->deadlineError().isEmpty() ? elastic->errorString() : elastic->deadlineError();
             } catch (const core::Error& e) {
                 if (why) *why = QString::fromStdString(e.what());
             }
             return false;
         }});
    QObject::connect(split, &widgets::SplitPanel::conditionsChanged, &window, &MainWindow::sessionPartChanged);
    QObject::connect(elastic, &widgets::ElasticPanel::settingsChanged, &window, &MainWindow::sessionPartChanged);
}

} // namespace exitscope::app
