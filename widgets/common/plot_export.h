#pragma once

#include <QString>

class QCustomPlot;

namespace exitscope::widgets {

/// Saves a plot as PNG or PDF (chosen by the file's suffix) through
/// QSaveFile, so a failed write leaves any older file intact. False with
/// `error` naming the file and the problem otherwise.
bool savePlotFile(QCustomPlot* plot, const QString& path, QString* error);

} // namespace exitscope::widgets
