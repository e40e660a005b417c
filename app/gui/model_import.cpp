#include "app/gui/model_import.h"

#include "core/common/error.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QMessageBox>
#include <QProcess>
#include <QSettings>
#include <QStandardPaths>
#include <QTimer>

#include <nlohmann/json.hpp>

namespace exitscope::app {

namespace {

const QString kApprovedKey = QStringLiteral("approvedModelHashes");
constexpr int kTimeoutMs = 120000;

QString contentHash(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return {};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(&file);
    return QString::fromLatin1(hash.result().toHex());
}

core::Error error(const QString& path, const QString& what) {
    return core::Error(QStringLiteral("%1: %2").arg(path, what).toStdString());
}

} // namespace

QString cliProgram() {
    const QString configured = qEnvironmentVariable("EXITSCOPE_CLI");
    if (!configured.isEmpty()) return configured;
    const QString local = QCoreApplication::applicationDirPath() + QStringLiteral("/exitscope-cli");
    if (QFileInfo(local).isExecutable()) return local;
    return QStandardPaths::findExecutable(QStringLiteral("exitscope-cli"));
}

core::ModelSpec inspectImportedModel(const QString& path, QWidget* parent, bool ask) {
    if (!QFileInfo(path).isFile()) throw error(path, QStringLiteral("no such file"));
    const QString hash = contentHash(path);
    QSettings settings;
    QStringList approved = settings.value(kApprovedKey).toStringList();
    if (ask && !approved.contains(hash)) {
        const auto answer = QMessageBox::question(
            parent, QStringLiteral("Open a TorchScript model?"),
            QStringLiteral("%1 is not an ExitScope checkpoint. If it is a TorchScript model, it is code written by "
                           "its author and runs inside ExitScope.\n\nOpen it only if you trust where it comes from. "
                           "ExitScope first checks it in a separate process.")
                .arg(QFileInfo(path).fileName()),
            QMessageBox::Open | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Open) throw error(path, QStringLiteral("not opened (declined)"));
    }
    const QString program = cliProgram();
    if (program.isEmpty()) throw error(path, QStringLiteral("exitscope-cli, which checks imported models, is not installed"));

    QProcess process;
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    QObject::connect(&process, &QProcess::finished, &loop, &QEventLoop::quit);
    QObject::connect(&process, &QProcess::errorOccurred, &loop, &QEventLoop::quit);
    QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    process.start(program, {QStringLiteral("inspect"), path, QStringLiteral("--json")});
    timer.start(kTimeoutMs);
    // The window keeps painting while the child works.
    if (process.state() != QProcess::NotRunning) loop.exec(QEventLoop::ExcludeUserInputEvents);
    if (process.state() != QProcess::NotRunning) {
        process.kill();
        process.waitForFinished(2000);
        throw error(path, QStringLiteral("checking the model took longer than %1 s").arg(kTimeoutMs / 1000));
    }
    if (process.exitStatus() == QProcess::CrashExit)
        throw error(path, QStringLiteral("the model crashed the loader (exitscope-cli inspect); it was not opened"));
    const QByteArray out = process.readAllStandardOutput();
    if (process.exitCode() != 0) {
        QString message = QString::fromUtf8(process.readAllStandardError()).trimmed();
        const int at = message.indexOf(QStringLiteral("error: "));
        if (at >= 0) message = message.mid(at + 7);
        throw core::Error(message.isEmpty() ? QStringLiteral("%1: cannot be opened").arg(path).toStdString()
                                            : message.toStdString());
    }
    const auto j = nlohmann::json::parse(out.constData(), out.constData() + out.size(), nullptr, false);
    if (j.is_discarded() || !j.contains("spec")) throw error(path, QStringLiteral("the model check gave no report"));
    core::ModelSpec spec = core::ModelSpec::fromJson(j["spec"], path.toStdString());
    if (!approved.contains(hash)) {
        approved << hash;
        settings.setValue(kApprovedKey, approved);
    }
    return spec;
}

} // namespace exitscope::app
