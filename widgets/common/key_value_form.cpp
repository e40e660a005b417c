#include "widgets/common/key_value_form.h"

#include <QGridLayout>
#include <QLabel>
#include <QLayoutItem>

#include <algorithm>

namespace exitscope::widgets {

KeyValueForm::KeyValueForm(QWidget* parent) : QWidget(parent), m_layout(new QGridLayout(this)) {
    m_layout->setContentsMargins(0, 0, 0, 0);
    m_layout->setHorizontalSpacing(12);
}

void KeyValueForm::setColumnCount(int columns) {
    m_columns = std::max(1, columns);
}

void KeyValueForm::setMaxShownChars(int chars) {
    m_maxShownChars = std::max(8, chars);
}

void KeyValueForm::setEntries(const QVector<Entry>& entries) {
    clear();
    for (int i = 0; i < entries.size(); ++i) {
        const Entry& entry = entries.at(i);
        auto* value = new QLabel(this);
        value->setTextFormat(Qt::PlainText);
        value->setTextInteractionFlags(Qt::TextSelectableByMouse);
        // Hashes, option JSON and paths can run to hundreds of characters;
        // elided text keeps the form narrow and the tooltip hides nothing.
        if (entry.value.size() > m_maxShownChars) {
            value->setText(entry.value.left(m_maxShownChars - 1) + QChar(0x2026));
            value->setToolTip(entry.value);
        } else {
            value->setText(entry.value);
        }
        auto* label = new QLabel(entry.label + QLatin1Char(':'), this);
        const int row = i / m_columns;
        const int column = 2 * (i % m_columns);
        m_layout->addWidget(label, row, column);
        m_layout->addWidget(value, row, column + 1);
        m_values.insert(entry.key, entry.value);
    }
    for (int c = 0; c < 2 * m_columns; ++c) {
        // Values take the spare width, labels stay as narrow as their text.
        m_layout->setColumnStretch(c, c % 2 == 1 ? 1 : 0);
    }
}

void KeyValueForm::clear() {
    while (QLayoutItem* item = m_layout->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    m_values.clear();
}

QString KeyValueForm::value(const QString& key) const {
    return m_values.value(key);
}

} // namespace exitscope::widgets
