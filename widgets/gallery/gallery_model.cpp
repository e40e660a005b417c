#include "widgets/gallery/gallery_model.h"

#include "widgets/gallery/dataset_images.h"
#include "widgets/explorer/explorer.h"

#include <algorithm>

namespace exitscope::widgets {

GalleryModel::GalleryModel(Explorer* explorer, QObject* parent) : QAbstractListModel(parent), m_explorer(explorer) {
    connect(explorer, &Explorer::outcomeChanged, this, &GalleryModel::rebuild);
    connect(explorer, &Explorer::tracesChanged, this, [this] {
        m_exit = std::min(m_exit, m_explorer->numExits() - 1);
        m_class = std::min(m_class, static_cast<int>(m_explorer->classNames().size()) - 1);
        // Rows of the old trace must not outlive it, even until the outcome follows.
        rebuild();
    });
    rebuild();
}

void GalleryModel::setImages(DatasetImages* images) {
    if (m_images) disconnect(m_images, nullptr, this, nullptr);
    m_images = images;
    if (images) {
        connect(images, &DatasetImages::changed, this, [this] {
            if (!m_rows.empty())
                emit dataChanged(index(0), index(static_cast<int>(m_rows.size()) - 1), {Qt::DecorationRole});
        });
    }
}

void GalleryModel::setThumbnailSide(int side) {
    side = std::clamp(side, 16, 256);
    if (side == m_side) return;
    // Every cell changes size: views lay out again, rows stay where they are.
    emit layoutAboutToBeChanged();
    m_side = side;
    emit layoutChanged();
}

void GalleryModel::setExitFilter(int exit) {
    if (exit == m_exit) return;
    m_exit = exit;
    rebuild();
}

void GalleryModel::setCorrectness(Correctness correctness) {
    if (correctness == m_correctness) return;
    m_correctness = correctness;
    rebuild();
}

void GalleryModel::setClassFilter(int cls) {
    if (cls == m_class) return;
    m_class = cls;
    rebuild();
}

void GalleryModel::setSort(Sort sort) {
    if (sort == m_sort) return;
    m_sort = sort;
    rebuild();
}

void GalleryModel::rebuild() {
    beginResetModel();
    m_rows.clear();
    m_correct = 0;
    const std::size_t K = static_cast<std::size_t>(std::max(0, m_explorer->numExits()));
    m_groupSizes.assign(K, 0);
    const core::Trace* trace = m_explorer->testTrace();
    const core::ExitOutcome& outcome = m_explorer->outcome();
    const int n = m_explorer->numSamples();
    m_rowOf.assign(static_cast<std::size_t>(n), -1);
    if (trace && static_cast<int>(outcome.exitTaken.size()) == n) {
        // Two passes (count, then place) instead of a growing list per exit:
        // with 100,000 images this runs on every control change.
        auto passes = [&](std::size_t s, bool& correct) {
            correct = outcome.prediction[s] == trace->labels[s];
            if (m_correctness == Correctness::Correct && !correct) return false;
            if (m_correctness == Correctness::Wrong && correct) return false;
            return m_class < 0 || trace->labels[s] == m_class;
        };
        for (int i = 0; i < n; ++i) {
            const auto s = static_cast<std::size_t>(i);
            bool correct = false;
            if (!passes(s, correct)) continue;
            ++m_groupSizes[static_cast<std::size_t>(outcome.exitTaken[s])];
            if (m_exit < 0 || outcome.exitTaken[s] == m_exit) m_correct += correct ? 1 : 0;
        }
        std::vector<std::size_t> start(K + 1, 0);
        for (std::size_t k = 0; k < K; ++k) {
            const bool shown = m_exit < 0 || static_cast<int>(k) == m_exit;
            start[k + 1] = start[k] + (shown ? static_cast<std::size_t>(m_groupSizes[k]) : 0);
        }
        m_rows.resize(start[K]);
        std::vector<std::size_t> next(start.begin(), start.end() - 1);
        for (int i = 0; i < n; ++i) {
            const auto s = static_cast<std::size_t>(i);
            const auto exit = static_cast<std::size_t>(outcome.exitTaken[s]);
            bool correct = false;
            if ((m_exit >= 0 && static_cast<int>(exit) != m_exit) || !passes(s, correct)) continue;
            m_rows[next[exit]++] = i;
        }
        if (m_sort != Sort::SampleOrder) {
            const bool ascending = m_sort == Sort::ConfidenceAscending;
            std::vector<float> key(static_cast<std::size_t>(n), 0.0f);
            for (int i : m_rows) key[static_cast<std::size_t>(i)] = m_explorer->scoreAtExit(i);
            for (std::size_t k = 0; k < K; ++k) {
                // Stable, so equal confidences keep the data set order.
                std::stable_sort(m_rows.begin() + static_cast<std::ptrdiff_t>(start[k]),
                                 m_rows.begin() + static_cast<std::ptrdiff_t>(start[k + 1]), [&](int a, int b) {
                                     const float sa = key[static_cast<std::size_t>(a)], sb = key[static_cast<std::size_t>(b)];
                                     return ascending ? sa < sb : sa > sb;
                                 });
            }
        }
        for (std::size_t r = 0; r < m_rows.size(); ++r) m_rowOf[static_cast<std::size_t>(m_rows[r])] = static_cast<int>(r);
    }
    endResetModel();
}

int GalleryModel::sampleAt(int row) const {
    return row >= 0 && row < static_cast<int>(m_rows.size()) ? m_rows[static_cast<std::size_t>(row)] : -1;
}

int GalleryModel::rowOfSample(int sample) const {
    return sample >= 0 && sample < static_cast<int>(m_rowOf.size()) ? m_rowOf[static_cast<std::size_t>(sample)] : -1;
}

int GalleryModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

QVariant GalleryModel::data(const QModelIndex& index, int role) const {
    const int sample = index.isValid() ? sampleAt(index.row()) : -1;
    const core::Trace* trace = m_explorer->testTrace();
    const core::ExitOutcome& outcome = m_explorer->outcome();
    if (sample < 0 || !trace || static_cast<std::size_t>(sample) >= outcome.exitTaken.size()) return {};
    const auto s = static_cast<std::size_t>(sample);
    const int label = static_cast<int>(trace->labels[s]);
    const int prediction = static_cast<int>(outcome.prediction[s]);
    switch (role) {
    case SampleRole: return sample;
    case ExitRole: return static_cast<int>(outcome.exitTaken[s]);
    case CorrectRole: return label == prediction;
    case ConfidenceRole: return static_cast<double>(m_explorer->scoreAtExit(sample));
    case LabelRole: return label;
    case PredictionRole: return prediction;
    case Qt::DecorationRole:
        return m_images ? QVariant(m_images->thumbnail(trace->sampleIndex[s], m_side)) : QVariant();
    case Qt::ToolTipRole: {
        const QStringList names = m_explorer->classNames();
        return QStringLiteral("Image %1 (row %2)\nTrue class: %3\nAnswer: %4 at exit %5, confidence %6\n%7")
            .arg(trace->sampleIndex[s])
            .arg(sample)
            .arg(names.value(label), names.value(prediction))
            .arg(outcome.exitTaken[s])
            .arg(m_explorer->scoreAtExit(sample), 0, 'f', 3)
            .arg(label == prediction ? QStringLiteral("correct") : QStringLiteral("wrong"));
    }
    default: return {};
    }
}

} // namespace exitscope::widgets
