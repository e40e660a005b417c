// Drawing of the network diagram; layout, hit tests and tooltips are in network_view.cpp.
#include "widgets/network/network_view.h"

#include "widgets/network/network_view_style.h"

#include <QPainter>

#include <algorithm>
#include <cmath>

namespace exitscope::widgets {

using namespace network_style;

void NetworkView::paintEvent(QPaintEvent*) {
    // Everything but the threshold marks is drawn once into a picture and
    // kept while the model, the split, the size and the path stay the same:
    // moving a threshold only moves the marks (with 32 exits, drawing the
    // rounded boxes again was a third of a control change).
    const qreal dpr = devicePixelRatioF();
    const QSize pixels = (QSizeF(size()) * dpr).toSize();
    if (!m_cacheValid || m_cache.size() != pixels) {
        m_cache = QPixmap(pixels);
        m_cache.setDevicePixelRatio(dpr);
        QPainter cache(&m_cache);
        paintDiagram(cache);
        m_cacheValid = true;
    }
    QPainter p(this);
    p.drawPixmap(0, 0, m_cache);
    p.setRenderHint(QPainter::Antialiasing);
    paintThresholdMarks(p);
}

void NetworkView::paintThresholdMarks(QPainter& p) const {
    const std::size_t K = m_exitRects.size();
    if (!hasModel() || !m_path.isValid()) return;
    p.setPen(QPen(Qt::black, 2));
    for (std::size_t k = 0; k + 1 < K && k < m_path.thresholds.size(); ++k) {
        if (evaluatedSlot(static_cast<int64_t>(k)) < 0) continue;
        const QRectF gauge = gaugeRect(k);
        const double tx = gauge.left() + gauge.width() * std::clamp(static_cast<double>(m_path.thresholds[k]), 0.0, 1.0);
        p.drawLine(QPointF(tx, gauge.top() - 3), QPointF(tx, gauge.bottom() + 3));
    }
}

QRectF NetworkView::gaugeRect(std::size_t k) const {
    const QRectF& r = m_exitRects[k];
    return {r.left() + 6, r.top() + 20, r.width() - 12, 9};
}

void NetworkView::paintDiagram(QPainter& p) const {
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect(), palette().base());
    QFont base = font();
    QFont small = base;
    small.setPointSizeF(base.pointSizeF() * 0.85);
    QFont bold = base;
    bold.setBold(true);

    const QRectF all = QRectF(rect()).adjusted(kMargin, kMargin, -kMargin, -kMargin);
    p.setPen(palette().text().color());
    p.drawText(QRectF(all.left(), all.top(), all.width() - 170, kHeadline), Qt::AlignLeft | Qt::AlignTop, headline());
    if (m_path.isValid() && m_path.live) {
        const QRectF badge(all.right() - 160, all.top(), 160, 22);
        p.setPen(Qt::NoPen);
        p.setBrush(kLive);
        p.drawRoundedRect(badge, 11, 11);
        p.setPen(Qt::white);
        p.setFont(bold);
        p.drawText(badge, Qt::AlignCenter, QStringLiteral("\u25cf LIVE: real executor"));
        p.setFont(base);
    }
    if (!hasModel()) {
        paintLegend(p, m_legendRect);
        return;
    }
    const QColor accent = m_path.isValid() && m_path.live ? kLive : kBlockLine;

    // Device and server sides behind the blocks.
    const int64_t split = effectiveSplit();
    if (split >= 0) {
        const double top = m_diagramRect.top(), bottom = m_diagramRect.bottom();
        const double cut = split == 0 ? m_inputRect.right() + m_gap / 2
                           : split >= m_numBlocks ? m_blockRects.back().right() + m_gap / 2
                                                  : m_blockRects[sz(split)].left() - m_gap / 2;
        const QRectF dev(m_inputRect.left() - 4, top, cut - m_inputRect.left() + 4, bottom - top);
        const QRectF srv(cut, top, m_diagramRect.right() - cut, bottom - top);
        p.fillRect(dev, kDevice);
        if (srv.width() > 1) p.fillRect(srv, kServer);
        p.setPen(QPen(kServerText, 1.5, Qt::DashLine));
        if (split < m_numBlocks) p.drawLine(QPointF(cut, top), QPointF(cut, bottom));
        p.setFont(bold);
        p.setPen(kDeviceText);
        p.drawText(QRectF(dev.left() + 4, top + 2, std::max(dev.width() - 8, 60.0), 18), Qt::AlignLeft,
                   QStringLiteral("DEVICE"));
        if (srv.width() > 60) {
            p.setPen(kServerText);
            p.drawText(QRectF(srv.left() + 6, top + 2, srv.width() - 10, 18), Qt::AlignLeft,
                       split == 0 ? QStringLiteral("SERVER (the input is sent)") : QStringLiteral("SERVER"));
        }
        p.setFont(base);
    }

    // Input and the backbone arrows.
    p.setPen(QPen(kBlockLine, 1.2));
    p.setBrush(Qt::white);
    p.drawRoundedRect(m_inputRect, 5, 5);
    p.setFont(small);
    p.drawText(m_inputRect, Qt::AlignCenter,
               QStringLiteral("input\n%1").arg(m_inputShape.isEmpty() ? QStringLiteral("image") : m_inputShape));
    auto arrow = [&](QPointF a, QPointF b, const QColor& c) {
        p.setPen(QPen(c, 1.6));
        p.drawLine(a, b);
        const QPointF d = (b - a) / std::max(1.0, std::hypot(b.x() - a.x(), b.y() - a.y()));
        const QPointF n(-d.y(), d.x());
        QPolygonF head{b, b - d * 7 + n * 3.5, b - d * 7 - n * 3.5};
        p.setBrush(c);
        p.drawPolygon(head);
    };
    const double midY = m_blockRects.front().center().y();
    arrow(QPointF(m_inputRect.right(), midY), QPointF(m_blockRects.front().left(), midY), accent);
    for (int64_t b = 0; b + 1 < m_numBlocks; ++b) {
        const bool ran = blockRan(b + 1);
        arrow(QPointF(m_blockRects[sz(b)].right(), midY), QPointF(m_blockRects[sz(b + 1)].left(), midY),
              ran ? accent : kFaded);
    }

    // Blocks.
    for (int64_t b = 0; b < m_numBlocks; ++b) {
        const QRectF& r = m_blockRects[sz(b)];
        const bool ran = blockRan(b);
        p.setPen(QPen(ran ? accent : kFaded, ran && m_path.isValid() ? 2.2 : 1.2));
        p.setBrush(ran ? kBlockFill : faded(kBlockFill));
        p.drawRoundedRect(r, 6, 6);
        p.setFont(bold);
        p.setPen(ran ? palette().text().color() : kFaded);
        QString name = r.width() > 90 ? QStringLiteral("block %1").arg(b) : QStringLiteral("B%1").arg(b);
        const QString withMacs =
            name + QStringLiteral(" \u00b7 %1 MACs").arg(count(static_cast<double>(m_blockMacs[sz(b)])));
        const bool macsInHeader = !m_scaleRects.empty() && QFontMetricsF(bold).horizontalAdvance(withMacs) < r.width() - 8;
        if (macsInHeader) name = withMacs;
        p.drawText(QRectF(r.left(), r.top() + 1, r.width(), 16), Qt::AlignHCenter | Qt::AlignTop, name);
        p.setFont(small);
        if (sz(b) < m_scaleRects.size()) {
            for (int s = 0; s < 3; ++s) {
                const QRectF& row = m_scaleRects[sz(b)][sz(s)];
                const ScaleShape* held = nullptr;
                for (const ScaleShape& sh : m_scales[sz(b)])
                    if (sh.scale == s) held = &sh;
                if (held) {
                    p.setPen(QPen(ran ? kBlockLine : kFaded, 0.8));
                    p.setBrush(ran ? kScaleFill[s] : faded(kScaleFill[s]));
                    p.drawRect(row);
                    p.setPen(ran ? palette().text().color() : kFaded);
                    const QString text = row.width() > 80
                                             ? QStringLiteral("%1\u00d7%2\u00d7%3").arg(held->channels).arg(held->height).arg(held->width)
                                             : QString::number(held->height) + QStringLiteral("\u00b2");
                    p.drawText(row, Qt::AlignCenter, text);
                } else {
                    p.setPen(QPen(kFaded, 0.8, Qt::DashLine));
                    p.setBrush(Qt::NoBrush);
                    p.drawRect(row);
                    p.setPen(kFaded);
                    p.drawText(row, Qt::AlignCenter, r.width() > 70 ? QStringLiteral("dropped") : QStringLiteral("\u2013"));
                }
            }
        } else {
            p.setPen(ran ? palette().text().color() : kFaded);
            p.drawText(r.adjusted(2, 18, -2, -2), Qt::AlignCenter | Qt::TextWordWrap,
                       QStringLiteral("%1\nMACs").arg(count(static_cast<double>(m_blockMacs[sz(b)]))));
        }
        if (!m_scaleRects.empty() && !macsInHeader) {
            // Narrow block: the MACs go below it, left of the exit's arrow.
            p.setPen(ran ? palette().text().color() : kFaded);
            p.drawText(QRectF(r.left(), r.bottom() + 1, r.width() / 2 - 4, 14), Qt::AlignRight,
                       count(static_cast<double>(m_blockMacs[sz(b)])));
        }
    }

    // Exit heads with their confidence gauges.
    const std::size_t K = m_exitRects.size();
    for (std::size_t k = 0; k < K; ++k) {
        const QRectF& r = m_exitRects[k];
        const QRectF& br = m_blockRects[sz(std::clamp<int64_t>(m_exitBlock[k], 0, m_numBlocks - 1))];
        const int64_t slot = evaluatedSlot(static_cast<int64_t>(k));
        const bool taken = m_path.isValid() && static_cast<int64_t>(k) == m_path.exitTaken;
        const bool active = !m_path.isValid() || slot >= 0;
        const bool correct = taken && m_path.label >= 0 && m_path.label == m_path.predicted;
        const QColor ring = taken ? (m_path.label < 0 ? accent : correct ? kCorrect : kWrong) : (active ? kExitLine : kFaded);
        // The head reads the block's output (MSDNet: the coarsest scale).
        const double fromY = m_scaleRects.empty() ? br.bottom() : m_scaleRects[sz(m_exitBlock[k])][2].bottom() + 3;
        arrow(QPointF(r.center().x(), fromY), QPointF(r.center().x(), r.top()), active ? kExitLine : kFaded);
        p.setPen(QPen(ring, taken ? 3.0 : 1.2));
        p.setBrush(active ? kExitFill : faded(kExitFill));
        p.drawRoundedRect(r, 8, 8);
        p.setFont(bold);
        p.setPen(active ? palette().text().color() : kFaded);
        p.drawText(QRectF(r.left(), r.top() + 2, r.width(), 15), Qt::AlignHCenter,
                   r.width() > 60 ? QStringLiteral("exit %1").arg(k) : QStringLiteral("E%1").arg(k));
        p.setFont(small);
        const QRectF gauge = gaugeRect(k);
        if (slot >= 0) {
            const double conf = std::clamp(static_cast<double>(m_path.confidences[sz(slot)]), 0.0, 1.0);
            p.setPen(Qt::NoPen);
            p.setBrush(QColor(0xe8, 0xe8, 0xe8));
            p.drawRect(gauge);
            p.setBrush(m_path.live ? kLive : kGauge);
            p.drawRect(QRectF(gauge.left(), gauge.top(), gauge.width() * conf, gauge.height()));
            // The threshold mark comes on top, from paintThresholdMarks.
            p.setPen(palette().text().color());
            QString text = QString::number(conf, 'f', 2);
            if (taken) text += QStringLiteral(" \u2192 ") + className(m_path.predicted);
            p.drawText(QRectF(r.left() + 2, gauge.bottom() + 2, r.width() - 4, r.bottom() - gauge.bottom() - 3),
                       Qt::AlignHCenter | Qt::AlignTop | Qt::TextWordWrap, text);
        } else if (!m_path.isValid()) {
            const bool acc = k < m_exitAccuracy.size() && std::isfinite(m_exitAccuracy[k]);
            p.drawText(QRectF(r.left() + 2, r.top() + 18, r.width() - 4, r.height() - 20), Qt::AlignCenter | Qt::TextWordWrap,
                       acc ? QStringLiteral("alone: %1%").arg(100.0 * m_exitAccuracy[k], 0, 'f', 1)
                           : count(static_cast<double>(m_headMacs[k])) + QStringLiteral(" MACs"));
        } else {
            p.setPen(kFaded);
            p.drawText(QRectF(r.left() + 2, r.top() + 18, r.width() - 4, r.height() - 20), Qt::AlignCenter,
                       QFontMetricsF(small).horizontalAdvance(QStringLiteral("not reached")) < r.width() - 6
                                 ? QStringLiteral("not reached")
                                 : QStringLiteral("\u2013"));
        }
    }
    p.setFont(base);
    paintLegend(p, m_legendRect);
}

void NetworkView::paintLegend(QPainter& p, const QRectF& area) const {
    struct Entry {
        enum Swatch { Box, Scale, Dropped, Head, Gauge, Ring, Faded, Device, Server, Live } swatch;
        QColor color;
        QString text;
    };
    std::vector<Entry> entries{{Entry::Box, kBlockFill, QStringLiteral("block (width \u221d MACs)")}};
    if (!m_scaleRects.empty()) {
        entries.push_back({Entry::Scale, kScaleFill[1], QStringLiteral("feature maps at a scale (channels\u00d7h\u00d7w)")});
        entries.push_back({Entry::Dropped, kFaded, QStringLiteral("scale dropped")});
    }
    entries.push_back({Entry::Head, kExitFill, QStringLiteral("exit head (classifier)")});
    entries.push_back({Entry::Gauge, kGauge, QStringLiteral("confidence, | threshold")});
    entries.push_back({Entry::Ring, kCorrect, QStringLiteral("left here, correct")});
    entries.push_back({Entry::Ring, kWrong, QStringLiteral("left here, wrong")});
    entries.push_back({Entry::Faded, kFaded, QStringLiteral("not reached")});
    entries.push_back({Entry::Device, kDevice, QStringLiteral("device side")});
    entries.push_back({Entry::Server, kServer, QStringLiteral("server side")});
    entries.push_back({Entry::Live, kLive, QStringLiteral("live run")});

    QFont small = font();
    small.setPointSizeF(font().pointSizeF() * 0.85);
    p.setFont(small);
    const QFontMetricsF fm(small);
    double x = area.left(), y = area.top() + 4;
    const double rowH = 19;
    p.setPen(QPen(palette().mid().color(), 1));
    p.drawLine(QPointF(area.left(), area.top()), QPointF(area.right(), area.top()));
    for (const Entry& e : entries) {
        const double w = 22 + fm.horizontalAdvance(e.text) + 16;
        if (x + w > area.right() && x > area.left()) {
            x = area.left();
            y += rowH;
        }
        const QRectF sw(x, y + 3, 16, 11);
        switch (e.swatch) {
        case Entry::Box: p.setPen(kBlockLine); p.setBrush(e.color); p.drawRoundedRect(sw, 2, 2); break;
        case Entry::Scale: p.setPen(kBlockLine); p.setBrush(e.color); p.drawRect(sw); break;
        case Entry::Dropped: p.setPen(QPen(kFaded, 1, Qt::DashLine)); p.setBrush(Qt::NoBrush); p.drawRect(sw); break;
        case Entry::Head: p.setPen(kExitLine); p.setBrush(e.color); p.drawRoundedRect(sw, 4, 4); break;
        case Entry::Gauge:
            p.setPen(Qt::NoPen);
            p.setBrush(QColor(0xe8, 0xe8, 0xe8));
            p.drawRect(sw);
            p.setBrush(e.color);
            p.drawRect(QRectF(sw.left(), sw.top(), sw.width() * 0.7, sw.height()));
            p.setPen(QPen(Qt::black, 2));
            p.drawLine(QPointF(sw.left() + 12, sw.top() - 2), QPointF(sw.left() + 12, sw.bottom() + 2));
            break;
        case Entry::Ring: p.setPen(QPen(e.color, 2.5)); p.setBrush(kExitFill); p.drawRoundedRect(sw, 4, 4); break;
        case Entry::Faded: p.setPen(kFaded); p.setBrush(faded(kBlockFill)); p.drawRect(sw); break;
        case Entry::Device:
        case Entry::Server: p.setPen(Qt::NoPen); p.setBrush(e.color); p.drawRect(sw); break;
        case Entry::Live: p.setPen(Qt::NoPen); p.setBrush(e.color); p.drawEllipse(sw.adjusted(3, 0, -2, 0)); break;
        }
        p.setPen(palette().text().color());
        p.drawText(QRectF(x + 20, y, w - 20, rowH), Qt::AlignLeft | Qt::AlignVCenter, e.text);
        x += w;
    }
}

} // namespace exitscope::widgets
