#include "app/gui/session.h"

#include "app/gui/main_window.h"
#include "widgets/explorer/explorer.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QStandardPaths>
#include <QTimer>

namespace exitscope::app {

namespace {

constexpr int kSchema = 1;
constexpr qint64 kMaxSessionBytes = 1 << 20;

QJsonObject settingsToJson(const widgets::ExplorerSettings& s) {
    QJsonArray exits;
    for (float t : s.exitThresholds) exits.append(static_cast<double>(t));
    return {{QStringLiteral("policy"), static_cast<int>(s.policy)},
            {QStringLiteral("criterion"), static_cast<int>(s.criterion)},
            {QStringLiteral("calibrated"), s.calibrated},
            {QStringLiteral("per_exit"), s.perExit},
            {QStringLiteral("threshold"), static_cast<double>(s.threshold)},
            {QStringLiteral("exit_thresholds"), exits},
            {QStringLiteral("budget_macs"), s.budgetMacs},
            {QStringLiteral("anytime_budget"), s.anytimeBudget},
            {QStringLiteral("anytime_unit"), static_cast<int>(s.anytimeUnit)},
            {QStringLiteral("alpha_index"), s.alphaIndex},
            {QStringLiteral("static_exit"), s.staticExit}};
}

/// Reads what settingsToJson wrote; anything missing or of the wrong type
/// keeps its default (Explorer clamps values into range).
widgets::ExplorerSettings settingsFromJson(const QJsonObject& j, widgets::ExplorerSettings s) {
    auto intIn = [&](const char* key, int lo, int hi, int fallback) {
        const auto v = j.value(QLatin1String(key));
        return v.isDouble() && v.toInt() >= lo && v.toInt() <= hi ? v.toInt() : fallback;
    };
    s.policy = static_cast<widgets::PolicyChoice>(
        intIn("policy", 0, static_cast<int>(widgets::PolicyChoice::Oracle), static_cast<int>(s.policy)));
    s.criterion = static_cast<core::ConfidenceCriterion>(intIn("criterion", 0, 2, static_cast<int>(s.criterion)));
    s.calibrated = j.value(QStringLiteral("calibrated")).toBool(s.calibrated);
    s.perExit = j.value(QStringLiteral("per_exit")).toBool(s.perExit);
    s.threshold = static_cast<float>(j.value(QStringLiteral("threshold")).toDouble(s.threshold));
    if (j.value(QStringLiteral("exit_thresholds")).isArray()) {
        s.exitThresholds.clear();
        for (const auto& v : j.value(QStringLiteral("exit_thresholds")).toArray())
            s.exitThresholds.push_back(static_cast<float>(v.toDouble(0.9)));
    }
    s.budgetMacs = j.value(QStringLiteral("budget_macs")).toDouble(s.budgetMacs);
    s.anytimeBudget = j.value(QStringLiteral("anytime_budget")).toDouble(s.anytimeBudget);
    s.anytimeUnit = static_cast<core::BudgetUnit>(intIn("anytime_unit", 0, 1, static_cast<int>(s.anytimeUnit)));
    s.alphaIndex = intIn("alpha_index", 0, 1000, s.alphaIndex);
    s.staticExit = intIn("static_exit", 0, 1000, s.staticExit);
    return s;
}

} // namespace

QString SessionAutosave::defaultFile() {
    const QString configured = qEnvironmentVariable("EXITSCOPE_SESSION_FILE");
    if (!configured.isEmpty()) return configured;
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/session.json");
}

SessionAutosave::SessionAutosave(MainWindow& window, QString file)
    : QObject(&window), m_window(window), m_file(file.isEmpty() ? defaultFile() : std::move(file)),
      m_timer(new QTimer(this)) {
    m_timer->setSingleShot(true);
    m_timer->setInterval(500);
    connect(m_timer, &QTimer::timeout, this, &SessionAutosave::saveNow);
    widgets::Explorer* explorer = window.explorer();
    connect(explorer, &widgets::Explorer::tracesChanged, this, &SessionAutosave::scheduleSave);
    connect(explorer, &widgets::Explorer::policyChanged, this, &SessionAutosave::scheduleSave);
    connect(explorer, &widgets::Explorer::selectionChanged, this, &SessionAutosave::scheduleSave);
    connect(&window, &MainWindow::weightsOpened, this, &SessionAutosave::scheduleSave);
    connect(&window, &MainWindow::sessionPartChanged, this, &SessionAutosave::scheduleSave);
}

void SessionAutosave::scheduleSave() {
    if (m_enabled) m_timer->start();
}

bool SessionAutosave::saveNow() {
    if (!m_enabled) return false;
    const widgets::Explorer* explorer = m_window.explorer();
    QJsonArray traces;
    for (const QString& t : {explorer->valSource(), explorer->testSource()})
        if (!t.isEmpty()) traces.append(t);
    QJsonObject parts;
    for (const MainWindow::SessionPart& part : m_window.sessionParts()) parts.insert(part.key, part.save());
    // The weights come from the window, not from a signal: autosave may start after they opened.
    const QJsonObject session{{QStringLiteral("schema"), kSchema},
                              {QStringLiteral("weights"), m_window.weightsPath()},
                              {QStringLiteral("traces"), traces},
                              {QStringLiteral("selected"), explorer->selectedSample()},
                              {QStringLiteral("settings"), settingsToJson(explorer->settings())},
                              {QStringLiteral("panels"), parts},
                              {QStringLiteral("layout"), QString::fromLatin1(m_window.saveState().toBase64())}};
    QDir().mkpath(QFileInfo(m_file).absolutePath());
    QSaveFile out(m_file);
    if (!out.open(QIODevice::WriteOnly)) return false;
    out.write(QJsonDocument(session).toJson());
    return out.commit();
}

void SessionAutosave::markCleanExit() {
    m_enabled = false;
    m_timer->stop();
    QFile::remove(m_file);
}

bool SessionAutosave::hasUnfinishedSession(const QString& file) { return QFileInfo(file).isFile(); }

bool SessionAutosave::restore(MainWindow& window, const QString& file, QString* error) {
    auto fail = [&](const QString& why) {
        if (error) *error = QStringLiteral("%1: %2").arg(file, why);
        return false;
    };
    QFile in(file);
    if (!in.open(QIODevice::ReadOnly)) return fail(QStringLiteral("cannot read the saved session"));
    if (in.size() > kMaxSessionBytes) return fail(QStringLiteral("the saved session is larger than 1 MiB"));
    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(in.readAll(), &parseError);
    if (doc.isNull() || !doc.isObject()) return fail(QStringLiteral("not a saved session (%1)").arg(parseError.errorString()));
    const QJsonObject j = doc.object();
    if (j.value(QStringLiteral("schema")).toInt() != kSchema) return fail(QStringLiteral("unknown session schema"));
    const QJsonValue traces = j.value(QStringLiteral("traces"));
    if (!traces.isArray() || !j.value(QStringLiteral("weights")).isString() || !j.value(QStringLiteral("settings")).isObject())
        return fail(QStringLiteral("the saved session lacks its weights, traces or settings"));
    bool ok = true;
    const QString weights = j.value(QStringLiteral("weights")).toString();
    if (!weights.isEmpty()) ok = window.openWeights(weights) && ok;
    for (const auto& t : traces.toArray()) ok = window.openTrace(t.toString()) && ok;
    widgets::Explorer* explorer = window.explorer();
    if (explorer->hasData()) {
        explorer->changeSettings(settingsFromJson(j.value(QStringLiteral("settings")).toObject(), explorer->settings()),
                                 QStringLiteral("Restore the last session"));
        explorer->selectSample(j.value(QStringLiteral("selected")).toInt(-1));
    }
    if (!ok) return fail(QStringLiteral("a file of the saved session did not open: %1").arg(window.lastError()));
    const QJsonObject parts = j.value(QStringLiteral("panels")).toObject();
    for (const MainWindow::SessionPart& part : window.sessionParts()) {
        if (!parts.contains(part.key)) continue;
        QString why;
        if (!part.restore(parts.value(part.key), &why))
            return fail(QStringLiteral("its %1 settings were not restored: %2").arg(part.key, why));
    }
    const QJsonValue layout = j.value(QStringLiteral("layout"));
    if (layout.isString() && !window.restoreState(QByteArray::fromBase64(layout.toString().toLatin1())))
        return fail(QStringLiteral("its dock layout is not one this version can restore"));
    return true;
}

} // namespace exitscope::app
