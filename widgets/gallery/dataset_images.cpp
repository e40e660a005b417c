#include "widgets/gallery/dataset_images.h"

#include "core/common/error.h"
#include "core/data/corruption.h"

#include "core/data/registry.h"
#include "widgets/common/job_runner.h"
#include "widgets/common/vector_state.h"

#include <QPainter>
#include <QVariant>

#include <exception>

namespace {
using DatasetPtr = std::shared_ptr<exitscope::core::Dataset>;
}
Q_DECLARE_METATYPE(DatasetPtr)

namespace exitscope::widgets {

namespace {

constexpr int kThumbnailCacheEntries = 30000;

const core::ImageSet* imagesIn(const core::Dataset* data, const core::ImageSet* direct, core::SplitKind split) {
    if (direct) return direct;
    return data ? &data->imagesOf(split) : nullptr;
}

} // namespace

DatasetImages::DatasetImages(QObject* parent)
    : QObject(parent), m_runner(new JobRunner(this)), m_thumbnails(kThumbnailCacheEntries) {
    qRegisterMetaType<DatasetPtr>();
    // JobRunner drops the result of a load that a newer request or setImages() replaced.
    connect(m_runner, &JobRunner::finished, this,
            [this](const QVariant& result) { finish(result.value<DatasetPtr>(), QString()); });
    connect(m_runner, &JobRunner::failed, this, [this](const QString& error) { finish(nullptr, error); });
}

DatasetImages::~DatasetImages() = default;

void DatasetImages::request(const QString& nameOrPath, core::SplitKind split, quint64 seed,
                            std::array<int64_t, 3> shape) {
    // The split is not part of the key: one load holds the train and test
    // images, so a trace of the other split only looks elsewhere in it.
    const QString key =
        QStringLiteral("%1|%2|%3x%4x%5").arg(nameOrPath).arg(seed).arg(shape[0]).arg(shape[1]).arg(shape[2]);
    m_split = split;
    m_thumbnails.clear();
    if (key == m_requested) {
        if (m_data) {
            validate();
            applyCorruption();
            emit changed();
            return;
        }
        // Still loading: finish() checks against the split asked for last.
        if (m_state == State::Loading) return;
        // A load that failed is tried again.
    }
    m_requested = key;
    m_state = State::Loading;
    m_message = QStringLiteral("Loading the images of %1...").arg(nameOrPath);
    m_direct.reset();
    m_data.reset();
    m_corrupted.reset();
    emit changed();

    const std::string name = nameOrPath.toStdString();
    m_runner->start(
        [name, seed, shape](const core::ProgressFn& progress, const core::CancelFlag&) -> QVariant {
            clearUpperVectorState();
            progress({0.0, "loading the images of " + name});
            core::DatasetOptions options;
            options.seed = seed;
            // Only the images are needed (a trace indexes its split's images
            // directly), so no validation carve-out that a small set could not afford.
            options.numVal = 0;
            options.channels = shape[0];
            options.height = shape[1];
            options.width = shape[2];
            return QVariant::fromValue(std::make_shared<core::Dataset>(core::loadDataset(name, options)));
        },
        QStringLiteral("Loading the images of %1").arg(nameOrPath));
}

void DatasetImages::finish(std::shared_ptr<core::Dataset> data, const QString& error) {
    m_thumbnails.clear();
    if (!data) {
        m_state = State::Failed;
        m_message = QStringLiteral("No images: %1. Open the data set with File \u2192 Open Data Set.").arg(error);
        emit changed();
        return;
    }
    m_data = std::move(data);
    m_source = QString::fromStdString(m_data->name);
    validate();
    applyCorruption();
    emit changed();
}

void DatasetImages::validate() {
    const core::ImageSet& images = m_data->imagesOf(m_split);
    for (const auto& [index, label] : m_expected) {
        if (index < 0 || index >= static_cast<int64_t>(images.size()) ||
            images.labels[static_cast<std::size_t>(index)] != label) {
            m_state = State::Failed;
            m_message = QStringLiteral("The images of %1 do not match the trace (image %2 has another label or "
                                       "is missing); open the data set the trace was profiled on.")
                            .arg(m_source)
                            .arg(index);
            return;
        }
    }
    m_state = State::Ready;
    m_message = QStringLiteral("Images from %1 (%2 split)").arg(m_source, QString::fromStdString(core::toString(m_split)));
}

void DatasetImages::setExpectedLabels(std::vector<std::pair<int64_t, int64_t>> sampleLabels) {
    m_expected = std::move(sampleLabels);
}

void DatasetImages::setImages(const core::ImageSet& images, const QString& source) {
    m_runner->cancel();
    m_requested.clear();
    m_data.reset();
    m_direct = std::make_shared<core::ImageSet>(images);
    m_source = source;
    m_state = State::Ready;
    m_message = QStringLiteral("Images from %1").arg(source);
    m_thumbnails.clear();
    emit changed();
}

void DatasetImages::setCorruption(const QString& corruption, quint64 seed, std::vector<int64_t> indices) {
    if (corruption == m_corruption && seed == m_corruptionSeed && indices == m_corruptIndices) return;
    m_corruption = corruption;
    m_corruptionSeed = seed;
    m_corruptIndices = std::move(indices);
    applyCorruption();
    emit changed();
}

void DatasetImages::applyCorruption() {
    m_corrupted.reset();
    m_thumbnails.clear();
    if (m_direct || !m_data) return;
    validate();  // the state and the message as for clean images, then the corruption's note
    if (m_corruption.isEmpty() || m_state != State::Ready) return;
    try {
        const auto c = core::parseCorruption(m_corruption.toStdString(), m_corruptionSeed);
        auto copy = std::make_shared<core::ImageSet>(m_data->imagesOf(m_split));
        // About 10 us an image: a test split of 10,000 takes a tenth of a second.
        core::corruptImages(*copy, m_corruptIndices, c);
        m_corrupted = std::move(copy);
        m_message += QStringLiteral(", corrupted as the trace was (%1)").arg(m_corruption);
    } catch (const core::Error& e) {
        m_message = QStringLiteral("The trace's corruption cannot be shown: %1").arg(QString::fromStdString(e.what()));
    }
}

std::shared_ptr<const core::ImageSet> DatasetImages::imageSet() const {
    if (m_state != State::Ready) return nullptr;
    if (m_direct) return m_direct;
    if (m_corrupted) return m_corrupted;
    if (!m_data) return nullptr;
    return std::shared_ptr<const core::ImageSet>(m_data, &m_data->imagesOf(m_split));
}

QImage DatasetImages::image(int64_t index) const {
    if (m_state != State::Ready) return {};
    const core::ImageSet* images = m_corrupted && !m_direct ? m_corrupted.get() : imagesIn(m_data.get(), m_direct.get(), m_split);
    if (!images || index < 0 || index >= static_cast<int64_t>(images->size())) return {};
    const int w = static_cast<int>(images->width), h = static_cast<int>(images->height);
    const uint8_t* pixels = images->image(static_cast<std::size_t>(index));
    if (images->channels == 1) {
        return QImage(pixels, w, h, w, QImage::Format_Grayscale8).copy();
    }
    // Planar C x H x W to interleaved RGB; a fourth channel and beyond are not shown.
    QImage out(w, h, QImage::Format_RGB888);
    const int plane = w * h;
    for (int y = 0; y < h; ++y) {
        uchar* line = out.scanLine(y);
        for (int x = 0; x < w; ++x) {
            for (int c = 0; c < 3; ++c) {
                const int channel = images->channels >= 3 ? c : 0;
                line[x * 3 + c] = pixels[channel * plane + y * w + x];
            }
        }
    }
    return out;
}

QPixmap DatasetImages::thumbnail(int64_t index, int side) const {
    const qint64 key = (static_cast<qint64>(index) << 12) | side;
    if (const QPixmap* cached = m_thumbnails.object(key)) return *cached;
    const QImage source = image(index);
    if (source.isNull()) {
        // Not cached: the real thumbnail replaces it once the images arrive.
        QPixmap placeholder(side, side);
        placeholder.fill(QColor(0xe4, 0xe4, 0xe4));
        return placeholder;
    }
    auto* pixmap = new QPixmap(QPixmap::fromImage(source.scaled(side, side, Qt::KeepAspectRatio,
                                                                Qt::SmoothTransformation)));
    m_thumbnails.insert(key, pixmap);
    return *pixmap;
}

} // namespace exitscope::widgets
