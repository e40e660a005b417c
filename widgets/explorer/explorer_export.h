#pragma once

#include "core/elastic/elastic_config.h"

#include <QList>
#include <QPair>
#include <QString>

class QWidget;

namespace exitscope::widgets {

class Explorer;

/// Writes the current policy as a tuned config (core's JSON, schema 1) with
/// the figures expected on the validation and test traces. False with
/// `error` set when the policy is not deployable (the oracle, gates still
/// training) or the file cannot be written; an older file is then kept.
/// `elastic`, when given, becomes the config's "elastic" section (the
/// EINet planner's settings).
bool exportTunedConfig(const Explorer& explorer, const QString& path, QString* error,
                       const core::ElasticSettings* elastic = nullptr);

/// Writes one CSV row per test image: row, sample_index, label, label_name,
/// exit, prediction, prediction_name, confidence (the policy's score at the
/// exit taken), correct (0/1). Through QSaveFile.
bool exportOutcomesCsv(const Explorer& explorer, const QString& path, QString* error);

/// A one-page summary of the current setup for slides (PNG, or PDF by
/// suffix): traces, policy, accuracy and cost, and a picture of each of
/// `figures` (title, widget) as it is on screen.
bool exportSummaryReport(const Explorer& explorer, const QList<QPair<QString, QWidget*>>& figures,
                         const QString& path, QString* error);

} // namespace exitscope::widgets
