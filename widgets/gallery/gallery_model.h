#pragma once

#include <QAbstractListModel>

#include <vector>

namespace exitscope::widgets {

class DatasetImages;
class Explorer;

/// The early-exit gallery as an item model: one row per test sample that
/// passes the filters, grouped by the exit it took under the explorer's
/// current policy (exit 0 first) and, within an exit, in the chosen order.
/// Rebuilt (a model reset) whenever the outcome changes. Thumbnails come
/// from DatasetImages on demand (Qt::DecorationRole).
class GalleryModel : public QAbstractListModel {
    Q_OBJECT

public:
    enum Role {
        SampleRole = Qt::UserRole + 1,  ///< row of the test trace (int)
        ExitRole,                       ///< exit taken (int)
        CorrectRole,                    ///< prediction == label (bool)
        ConfidenceRole,                 ///< the policy's score at the exit taken (double)
        LabelRole,                      ///< true class (int)
        PredictionRole,                 ///< predicted class (int)
    };
    enum class Correctness { All, Correct, Wrong };
    enum class Sort { SampleOrder, ConfidenceAscending, ConfidenceDescending };

    explicit GalleryModel(Explorer* explorer, QObject* parent = nullptr);

    void setImages(DatasetImages* images);
    void setThumbnailSide(int side);
    int thumbnailSide() const { return m_side; }

    /// Show only samples that left at `exit` (-1: every exit).
    void setExitFilter(int exit);
    void setCorrectness(Correctness correctness);
    /// Show only samples whose true class is `cls` (-1: every class).
    void setClassFilter(int cls);
    void setSort(Sort sort);
    int exitFilter() const { return m_exit; }

    /// The trace row shown in model row `row` (-1 outside).
    int sampleAt(int row) const;
    /// The model row that shows trace row `sample`, or -1 when filtered out.
    int rowOfSample(int sample) const;
    /// Per exit, how many samples left there and pass the correctness and
    /// class filters (the exit filter aside): the size of each group.
    const std::vector<int>& groupSizes() const { return m_groupSizes; }
    /// How many of the shown rows are answered correctly.
    int correctCount() const { return m_correct; }

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

public slots:
    void rebuild();

private:
    Explorer* m_explorer;
    DatasetImages* m_images = nullptr;
    std::vector<int> m_rows;
    std::vector<int> m_rowOf;
    std::vector<int> m_groupSizes;
    int m_correct = 0;
    int m_exit = -1;
    int m_class = -1;
    Correctness m_correctness = Correctness::All;
    Sort m_sort = Sort::SampleOrder;
    int m_side = 56;
};

} // namespace exitscope::widgets
