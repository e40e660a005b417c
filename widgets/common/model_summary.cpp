#include "widgets/common/model_summary.h"

#include "core/model/model_info.h"
#include "widgets/common/key_value_form.h"

#include <QLabel>
#include <QStringList>
#include <QVBoxLayout>

namespace exitscope::widgets {

ModelSummary::ModelSummary(QWidget* parent)
    : QGroupBox(QStringLiteral("Model weights"), parent), m_form(new KeyValueForm(this)),
      m_message(new QLabel(this)) {
    auto* layout = new QVBoxLayout(this);
    m_form->setColumnCount(2);
    m_form->setMaxShownChars(64);
    layout->addWidget(m_form);
    layout->addWidget(m_message);
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);
    showMessage(QStringLiteral("No model weights loaded."));
}

void ModelSummary::setSpec(const core::ModelSpec& spec, const QString& path) {
    QStringList classes;
    for (const std::string& name : spec.classNames) {
        classes << QString::fromStdString(name);
    }
    const QString input = QStringLiteral("%1 \u00d7 %2 \u00d7 %3 (channels \u00d7 height \u00d7 width)")
                              .arg(spec.channels)
                              .arg(spec.height)
                              .arg(spec.width);
    m_form->setEntries({
        {QStringLiteral("model"), QStringLiteral("Model"), QString::fromStdString(spec.name)},
        {QStringLiteral("dataset"), QStringLiteral("Data set"), QString::fromStdString(spec.dataset)},
        {QStringLiteral("input"), QStringLiteral("Input"), input},
        {QStringLiteral("classes"), QStringLiteral("Classes"),
         QStringLiteral("%1: %2").arg(classes.size()).arg(classes.join(QStringLiteral(", ")))},
        {QStringLiteral("options"), QStringLiteral("Options"), QString::fromStdString(spec.options.dump())},
        {QStringLiteral("weights_hash"), QStringLiteral("Weights hash"),
         QString::fromStdString(spec.weightsHash)},
        {QStringLiteral("file"), QStringLiteral("File"), path},
    });
    m_form->show();
    m_message->hide();
    m_hasSpec = true;
}

void ModelSummary::showMessage(const QString& message) {
    m_form->clear();
    m_form->hide();
    m_message->setText(message);
    m_message->show();
    m_hasSpec = false;
}

QString ModelSummary::weightsHash() const {
    return m_form->value(QStringLiteral("weights_hash"));
}

QString ModelSummary::value(const QString& key) const {
    return m_form->value(key);
}

} // namespace exitscope::widgets
