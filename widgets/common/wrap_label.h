#pragma once

#include <QEvent>
#include <QFont>
#include <QLabel>
#include <QString>

namespace exitscope::widgets {

/// A word-wrapped QLabel that remembers its height for the last width and
/// text. QLabel lays its text out again on every heightForWidth call, and a
/// layout asks each wrapped label several times per pass; a panel whose
/// numbers change with every slider step (and a stacked widget asking all
/// of its pages) spent more time measuring unchanged help texts than
/// drawing anything.
class WrapLabel : public QLabel {
public:
    explicit WrapLabel(const QString& text = {}, QWidget* parent = nullptr) : QLabel(text, parent) {
        setWordWrap(true);
    }

    int heightForWidth(int width) const override {
        if (width != m_width || text() != m_text) {
            m_width = width;
            m_text = text();
            m_height = QLabel::heightForWidth(width);
        }
        return m_height;
    }

protected:
    void changeEvent(QEvent* event) override {
        // Font, style and margins all change the height.
        m_width = -1;
        QLabel::changeEvent(event);
    }

private:
    mutable int m_width = -1;
    mutable int m_height = 0;
    mutable QString m_text;
};

} // namespace exitscope::widgets
