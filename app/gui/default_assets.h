#pragma once

#include <QString>
#include <QStringList>

namespace exitscope::app {

/// The bundled default model and traces the app opens when no file is named
/// on the command line, and which of them are missing.
struct DefaultAssets {
    QString directory;   ///< the assets folder that was chosen
    QString origin;      ///< where that folder came from, in words (environment, installed, source tree)
    QString weights;     ///< <directory>/models/msdnet-fashion-mnist.pt
    QStringList traces;  ///< the val and test traces next to it
    QStringList missing; ///< those of the above that are not files

    /// A message for the user naming each missing file and how to make it;
    /// empty when nothing is missing.
    QString missingMessage() const;
};

/// Finds the assets folder: $EXITSCOPE_ASSETS when set, else the first of
/// <executable dir>/../share/exitscope/assets and the source tree's assets/
/// that holds the default weights (or, failing that, exists at all).
DefaultAssets findDefaultAssets();

} // namespace exitscope::app
