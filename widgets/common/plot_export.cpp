#include "widgets/common/plot_export.h"

#include <QFileInfo>
#include <algorithm>
#include <QPageSize>
#include <QPdfWriter>
#include <QSaveFile>
#include <qcustomplot.h>

namespace exitscope::widgets {

bool savePlotFile(QCustomPlot* plot, const QString& path, QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("pdf")) {
        if (error) *error = QStringLiteral("%1: choose a .png or .pdf file name").arg(path);
        return false;
    }
    const int w = std::max(plot->width(), 320), h = std::max(plot->height(), 240);
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        if (error) *error = QStringLiteral("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    bool ok = false;
    if (suffix == QLatin1String("png")) {
        ok = plot->toPixmap(w, h, 2.0).save(&file, "PNG");
    } else {
        // QCustomPlot's own savePdf only takes a file name; painting into a
        // QPdfWriter on the QSaveFile keeps the write atomic.
        QPdfWriter writer(&file);
        writer.setResolution(72);
        writer.setPageSize(QPageSize(QSizeF(w, h), QPageSize::Point));
        writer.setPageMargins(QMarginsF(0, 0, 0, 0));
        writer.setCreator(QStringLiteral("ExitScope"));
        QCPPainter painter;
        ok = painter.begin(&writer);
        if (ok) {
            plot->toPainter(&painter, w, h);
            painter.end();
        }
    }
    if (!ok || !file.commit()) {
        file.cancelWriting();
        if (error) *error = QStringLiteral("%1: cannot write the plot (%2)").arg(path, file.errorString());
        return false;
    }
    return true;
}

} // namespace exitscope::widgets
