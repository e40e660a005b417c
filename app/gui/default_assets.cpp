#include "app/gui/default_assets.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace exitscope::app {

namespace {

const QString kWeights = QStringLiteral("models/msdnet-fashion-mnist.pt");
const QStringList kTraces = {QStringLiteral("models/msdnet-fashion-mnist-val.safetensors"),
                             QStringLiteral("models/msdnet-fashion-mnist-test.safetensors")};

DefaultAssets assetsIn(const QString& directory, const QString& origin) {
    DefaultAssets assets;
    const QDir dir(directory);
    assets.directory = dir.absolutePath();
    assets.origin = origin;
    assets.weights = dir.absoluteFilePath(kWeights);
    for (const QString& trace : kTraces) {
        assets.traces << dir.absoluteFilePath(trace);
    }
    for (const QString& file : QStringList{assets.weights} + assets.traces) {
        if (!QFileInfo(file).isFile()) assets.missing << file;
    }
    return assets;
}

} // namespace

QString DefaultAssets::missingMessage() const {
    if (missing.isEmpty()) return {};
    QString message = QStringLiteral("Bundled default model or traces missing:\n");
    for (const QString& file : missing) {
        message += QStringLiteral("    %1\n").arg(file);
    }
    message += QStringLiteral(
        "\nMake them with scripts/train-assets, which trains MSDNet on Fashion-MNIST with exitscope-cli "
        "and profiles its val and test splits into assets/models/. Set EXITSCOPE_ASSETS to use "
        "another assets folder (now: %1, from the %2), or open files from the File menu.")
                   .arg(directory, origin);
    return message;
}

DefaultAssets findDefaultAssets() {
    const QString fromEnv = qEnvironmentVariable("EXITSCOPE_ASSETS");
    if (!fromEnv.isEmpty()) {
        // An explicit choice is honoured even when it is wrong, so that the
        // message names the folder the user asked for.
        return assetsIn(fromEnv, QStringLiteral("EXITSCOPE_ASSETS environment variable"));
    }
    const QList<DefaultAssets> candidates = {
        assetsIn(QCoreApplication::applicationDirPath() + QStringLiteral("/../share/exitscope/assets"),
                 QStringLiteral("installed location")),
        assetsIn(QStringLiteral(EXITSCOPE_SOURCE_DIR "/assets"), QStringLiteral("source tree")),
    };
    for (const DefaultAssets& candidate : candidates) {
        if (!candidate.missing.contains(candidate.weights)) return candidate;
    }
    for (const DefaultAssets& candidate : candidates) {
        if (QFileInfo(candidate.directory).isDir()) return candidate;
    }
    return candidates.back();
}

} // namespace exitscope::app
