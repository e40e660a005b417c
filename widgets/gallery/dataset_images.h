#pragma once

#include "core/data/dataset.h"

#include <QCache>
#include <QImage>
#include <QObject>
#include <QPixmap>
#include <QString>

#include <array>
#include <memory>


namespace exitscope::widgets {

class JobRunner;

/// The images behind a trace, for thumbnails and the inspector: the data
/// set a trace names (Fashion-MNIST from the registry, an IDX or CIFAR-10
/// directory, an image folder) is read on a worker thread, so the window
/// stays responsive; until then placeholders are shown, and a data set that
/// cannot be found or does not match the trace becomes a note, never a crash.
class DatasetImages : public QObject {
    Q_OBJECT

public:
    enum class State { None, Loading, Ready, Failed };

    explicit DatasetImages(QObject* parent = nullptr);
    ~DatasetImages() override;

    /// Loads `nameOrPath` (as core::loadDataset takes it) unless it is
    /// already loaded or loading; the images of `split` are then looked up
    /// (another split of the same data set needs no new load). A newer
    /// request replaces an older one still running. `shape` (channels,
    /// height, width; zeros: 1 x 28 x 28) is what image folders are
    /// converted to: the input shape of the model the trace was profiled
    /// with, so the gallery shows what the network saw.
    void request(const QString& nameOrPath, core::SplitKind split, quint64 seed = 0,
                 std::array<int64_t, 3> shape = {0, 0, 0});
    /// The labels the images must carry (index -> label) to be shown for a
    /// trace: checked once loaded, a mismatch makes the state Failed.
    void setExpectedLabels(std::vector<std::pair<int64_t, int64_t>> sampleLabels);
    /// Installs images directly (tests, the live image).
    void setImages(const core::ImageSet& images, const QString& source);

    State state() const { return m_state; }
    /// What is loaded or why not, in words.
    QString message() const { return m_message; }
    QString source() const { return m_source; }
    /// The image `index` of the split, or a null image when it is not available.
    QImage image(int64_t index) const;
    /// The loaded images of the split (shared, not copied); null unless Ready.
    std::shared_ptr<const core::ImageSet> imageSet() const;
    /// Shows the images as a trace of corrupted data saw them (profile
    /// --corrupt; the trace's metadata `corruption` and `corruption_seed`):
    /// images `indices` of the split corrupted alike, each seeded by its own
    /// index. An empty `corruption` shows the clean images. Error text in
    /// message() when `corruption` cannot be parsed.
    void setCorruption(const QString& corruption, quint64 seed, std::vector<int64_t> indices);
    /// "gaussian-noise:3" while corrupted images are shown, else empty.
    QString corruption() const { return m_corruption; }

    /// A cached square thumbnail of `side` pixels, or a grey placeholder.
    QPixmap thumbnail(int64_t index, int side) const;

signals:
    /// The state or the images changed; views repaint.
    void changed();

private:
    void finish(std::shared_ptr<core::Dataset> data, const QString& error);
    /// Checks the expected labels against the loaded split; sets the state.
    void validate();

    std::shared_ptr<core::Dataset> m_data;
    std::shared_ptr<core::ImageSet> m_direct;
    core::SplitKind m_split = core::SplitKind::Test;
    State m_state = State::None;
    QString m_message;
    QString m_source;
    QString m_requested;
    std::vector<std::pair<int64_t, int64_t>> m_expected;
    /// Applies the corruption asked for to a copy of the split (m_corrupted).
    void applyCorruption();
    QString m_corruption;
    quint64 m_corruptionSeed = 0;
    std::vector<int64_t> m_corruptIndices;
    std::shared_ptr<core::ImageSet> m_corrupted;
    JobRunner* m_runner;  // loads off the GUI thread; the newest request wins
    mutable QCache<qint64, QPixmap> m_thumbnails;
};

} // namespace exitscope::widgets
