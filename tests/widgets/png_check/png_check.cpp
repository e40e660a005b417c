// Checks that a screenshot is a real picture of the window, not a blank or
// half-drawn one: png_check FILE MIN_WIDTH MIN_HEIGHT MIN_COLOURS [MAX_WIDTH MAX_HEIGHT]
// (the maximum: the screen the window must fit).
#include <cstdlib>
#include <QImage>
#include <QSet>

#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 5 && argc != 7) {
        std::fprintf(stderr, "usage: png_check FILE MIN_WIDTH MIN_HEIGHT MIN_COLOURS [MAX_WIDTH MAX_HEIGHT]\n");
        return 2;
    }
    const QImage image(QString::fromLocal8Bit(argv[1]));
    if (image.isNull()) {
        std::fprintf(stderr, "%s: cannot read the image\n", argv[1]);
        return 1;
    }
    QSet<QRgb> colours;
    const QImage rgb = image.convertToFormat(QImage::Format_RGB32);
    for (int y = 0; y < rgb.height(); ++y) {
        const auto* line = reinterpret_cast<const QRgb*>(rgb.constScanLine(y));
        for (int x = 0; x < rgb.width(); ++x) colours.insert(line[x]);
    }
    std::printf("%s: %d x %d, %lld distinct colours\n", argv[1], rgb.width(), rgb.height(),
                static_cast<long long>(colours.size()));
    const bool ok = rgb.width() >= atoi(argv[2]) && rgb.height() >= atoi(argv[3]) && colours.size() >= atoi(argv[4]);
    if (!ok) std::fprintf(stderr, "%s: too small or too few colours for a drawn window\n", argv[1]);
    const bool fits = argc != 7 || (rgb.width() <= atoi(argv[5]) && rgb.height() <= atoi(argv[6]));
    if (!fits) std::fprintf(stderr, "%s: larger than the %sx%s screen\n", argv[1], argv[5], argv[6]);
    return ok && fits ? 0 : 1;
}
