#pragma once

// Colours, sizes and number formats shared by network_view.cpp (layout,
// tooltips) and network_view_paint.cpp (drawing). Internal to the widget.

#include <QColor>
#include <QLocale>
#include <QString>

#include <cstddef>
#include <cstdint>

namespace exitscope::widgets::network_style {

inline std::size_t sz(int64_t v) { return static_cast<std::size_t>(v); }

inline const QColor kBlockFill(0xdb, 0xe9, 0xf6);
inline const QColor kBlockLine(0x3b, 0x6e, 0xa5);
inline const QColor kScaleFill[3] = {QColor(0xc6, 0xdb, 0xef), QColor(0x9e, 0xca, 0xe1), QColor(0x6b, 0xae, 0xd6)};
inline const QColor kExitFill(0xfd, 0xf1, 0xd6);
inline const QColor kExitLine(0xc0, 0x8a, 0x00);
inline const QColor kGauge(0x4c, 0x9b, 0xe8);
inline const QColor kCorrect(0x2c, 0xa0, 0x2c);
inline const QColor kWrong(0xd6, 0x27, 0x28);
inline const QColor kDevice(0xe3, 0xf0, 0xff);
inline const QColor kServer(0xff, 0xee, 0xdb);
inline const QColor kDeviceText(0x1f, 0x5f, 0xa8);
inline const QColor kServerText(0xb3, 0x5c, 0x00);
inline const QColor kLive(0xb0, 0x00, 0x8a);
inline const QColor kFaded(0xc8, 0xc8, 0xc8);

inline constexpr double kMargin = 10.0;
inline constexpr double kHeadline = 40.0;
inline constexpr double kLegend = 44.0;
inline constexpr double kInputWidth = 64.0;
inline constexpr double kGap = 14.0;
inline constexpr double kMinBlock = 34.0;

inline QString count(double v) {
    if (v >= 1e6) return QString::number(v / 1e6, 'f', 2) + QStringLiteral(" M");
    if (v >= 1e3) return QString::number(v / 1e3, 'f', 1) + QStringLiteral(" k");
    return QString::number(v, 'f', 0);
}

inline QString exact(int64_t v) { return QLocale(QLocale::English).toString(static_cast<qlonglong>(v)); }

inline QColor faded(QColor c) {
    c.setAlpha(70);
    return c;
}


} // namespace exitscope::widgets::network_style
