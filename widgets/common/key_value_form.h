#pragma once

#include <QHash>
#include <QString>
#include <QVector>
#include <QWidget>

class QGridLayout;

namespace exitscope::widgets {

/// A read-only form of "label: value" pairs ("Samples: 10000", "Split:
/// val"), laid out in one or more column pairs and replaced as a whole.
/// Long values are elided on screen and shown in full as a tooltip;
/// value() always gives the full text.
class KeyValueForm : public QWidget {
    Q_OBJECT

public:
    /// One row: `key` identifies it for value(), `label` is what the user reads.
    struct Entry {
        QString key;
        QString label;
        QString value;
    };

    explicit KeyValueForm(QWidget* parent = nullptr);

    /// How many label/value pairs sit side by side (1 by default); entries
    /// fill the grid row by row. Applies from the next setEntries().
    void setColumnCount(int columns);
    /// Values longer than this many characters are elided on screen.
    void setMaxShownChars(int chars);

    void setEntries(const QVector<Entry>& entries);
    void clear();

    /// The full value shown for `key`, or a null QString when there is no such row.
    QString value(const QString& key) const;
    bool contains(const QString& key) const { return m_values.contains(key); }

private:
    QGridLayout* m_layout;
    QHash<QString, QString> m_values;
    int m_columns = 1;
    int m_maxShownChars = 72;
};

} // namespace exitscope::widgets
