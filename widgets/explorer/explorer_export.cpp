#include "widgets/explorer/explorer_export.h"

#include "core/config/tuned_config.h"
#include "widgets/explorer/explorer.h"

#include <QDateTime>
#include <QFileInfo>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QTextStream>
#include <QWidget>

#include <cmath>
#include <exception>

namespace exitscope::widgets {

namespace {

bool fail(QString* error, const QString& message) {
    if (error) *error = message;
    return false;
}

QString metadata(const core::Trace& trace, const char* key) {
    const auto it = trace.metadata.find(key);
    return it == trace.metadata.end() ? QString() : QString::fromStdString(it->second);
}

} // namespace

bool exportTunedConfig(const Explorer& explorer, const QString& path, QString* error,
                       const core::ElasticSettings* elastic) {
    const std::optional<core::PolicyConfig> policy = explorer.policyConfig();
    if (!policy) return fail(error, explorer.whyNotDeployable());
    try {
        const core::Trace* val = explorer.valTrace();
        core::TunedConfig config = val ? core::makeTunedConfig(*policy, *val, explorer.testTrace())
                                       : core::makeTunedConfig(*policy, *explorer.testTrace(), nullptr);
        if (elastic) config.elastic = *elastic;
        core::saveConfig(config, path.toStdString());
    } catch (const std::exception& e) {
        QString message = QString::fromStdString(e.what());
        if (!message.contains(path)) message = QStringLiteral("%1: %2").arg(path, message);
        return fail(error, message);
    }
    return true;
}

bool exportOutcomesCsv(const Explorer& explorer, const QString& path, QString* error) {
    const core::Trace* t = explorer.testTrace();
    if (!t) return fail(error, QStringLiteral("No trace is loaded."));
    const core::ExitOutcome& o = explorer.outcome();
    const QStringList names = explorer.classNames();
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
        return fail(error, QStringLiteral("%1: cannot write (%2)").arg(path, file.errorString()));
    QTextStream out(&file);
    out << "row,sample_index,label,label_name,exit,prediction,prediction_name,confidence,correct\n";
    auto quoted = [](QString text) { return QLatin1Char('"') + text.replace(QLatin1Char('"'), QLatin1String("\"\"")) + QLatin1Char('"'); };
    for (int n = 0; n < explorer.numSamples(); ++n) {
        const auto s = static_cast<std::size_t>(n);
        const int label = static_cast<int>(t->labels[s]);
        const int prediction = static_cast<int>(o.prediction[s]);
        out << n << ',' << t->sampleIndex[s] << ',' << label << ',' << quoted(names.value(label)) << ','
            << o.exitTaken[s] << ',' << prediction << ',' << quoted(names.value(prediction)) << ','
            << QString::number(explorer.scoreAtExit(n), 'g', 7) << ',' << (label == prediction ? 1 : 0) << '\n';
    }
    out.flush();
    if (!file.commit()) return fail(error, QStringLiteral("%1: cannot write (%2)").arg(path, file.errorString()));
    return true;
}

bool exportSummaryReport(const Explorer& explorer, const QList<QPair<QString, QWidget*>>& figures,
                         const QString& path, QString* error) {
    const core::Trace* t = explorer.testTrace();
    if (!t) return fail(error, QStringLiteral("No trace is loaded."));
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("pdf"))
        return fail(error, QStringLiteral("%1: choose a .png or .pdf file name").arg(path));

    // A 16:9 slide at 1600 x 900.
    QImage page(1600, 900, QImage::Format_RGB32);
    page.fill(Qt::white);
    QPainter p(&page);
    p.setRenderHint(QPainter::Antialiasing);
    QFont title(QStringLiteral("Sans"), 22, QFont::Bold);
    QFont body(QStringLiteral("Sans"), 12);
    p.setFont(title);
    p.drawText(QRect(40, 24, 1520, 44), Qt::AlignLeft | Qt::AlignVCenter,
               QStringLiteral("ExitScope: %1 on %2").arg(metadata(*t, "model"), metadata(*t, "dataset")));
    const core::OutcomeMetrics& m = explorer.metrics();
    const double full = t->exitMacs.empty() ? 0.0 : static_cast<double>(t->exitMacs.back());
    QStringList lines;
    lines << QStringLiteral("Policy: %1").arg(explorer.describePolicy());
    lines << QStringLiteral("Test images: %1 (weights %2)").arg(m.n).arg(metadata(*t, "weights_hash"));
    lines << QStringLiteral("Accuracy %1 %   |   mean %2 M MACs per image (%3 % of the full network)   |   "
                            "mean %4 ms per image")
                 .arg(m.accuracy * 100.0, 0, 'f', 2)
                 .arg(m.macs.mean / 1e6, 0, 'f', 3)
                 .arg(full > 0 ? 100.0 * m.macs.mean / full : 0.0, 0, 'f', 1)
                 .arg(m.ms.mean, 0, 'f', 4);
    QStringList histogram;
    for (std::size_t k = 0; k < m.exitHistogram.size(); ++k)
        histogram << QStringLiteral("exit %1: %2").arg(k).arg(m.exitHistogram[k]);
    lines << QStringLiteral("Images leaving at each exit: %1").arg(histogram.join(QStringLiteral(", ")));
    p.setFont(body);
    int y = 78;
    for (const QString& line : lines) {
        p.drawText(QRect(40, y, 1520, 24), Qt::AlignLeft | Qt::AlignVCenter, line);
        y += 26;
    }
    y += 8;
    const int shown = static_cast<int>(figures.size());
    if (shown > 0) {
        const int gap = 16;
        const int w = (1520 - gap * (shown - 1)) / shown;
        const int h = 900 - y - 50;
        for (int i = 0; i < shown; ++i) {
            const QRect cell(40 + i * (w + gap), y, w, h);
            p.setFont(QFont(QStringLiteral("Sans"), 12, QFont::Bold));
            p.drawText(QRect(cell.left(), cell.top(), cell.width(), 22), Qt::AlignLeft, figures[i].first);
            if (QWidget* widget = figures[i].second) {
                const QPixmap picture = widget->grab();
                const QSize fitted = picture.size().scaled(cell.width(), cell.height() - 26, Qt::KeepAspectRatio);
                p.drawPixmap(QRect(QPoint(cell.left(), cell.top() + 26), fitted), picture);
            }
        }
    }
    p.setFont(QFont(QStringLiteral("Sans"), 9));
    p.setPen(Qt::gray);
    p.drawText(QRect(40, 870, 1520, 20), Qt::AlignLeft,
               QStringLiteral("Made with ExitScope on %1 from %2")
                   .arg(QDateTime::currentDateTime().toString(Qt::ISODate), explorer.testSource()));
    p.end();

    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return fail(error, QStringLiteral("%1: cannot write (%2)").arg(path, file.errorString()));
    bool ok = false;
    if (suffix == QLatin1String("png")) {
        ok = page.save(&file, "PNG");
    } else {
        QPdfWriter writer(&file);
        writer.setResolution(100);
        writer.setPageSize(QPageSize(QSizeF(page.width(), page.height()) * 72.0 / 100.0, QPageSize::Point));
        writer.setPageMargins(QMarginsF(0, 0, 0, 0));
        QPainter pdf;
        ok = pdf.begin(&writer);
        if (ok) {
            pdf.drawImage(QRect(0, 0, page.width(), page.height()), page);
            pdf.end();
        }
    }
    if (!ok) {
        file.cancelWriting();
        return fail(error, QStringLiteral("%1: cannot write the report").arg(path));
    }
    if (!file.commit()) return fail(error, QStringLiteral("%1: cannot write (%2)").arg(path, file.errorString()));
    return true;
}

} // namespace exitscope::widgets
