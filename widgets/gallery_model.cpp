#include "widgets/gallery_model.h"

#include "widgets/dataset_images.h"
#include "widgets/explorer.h"

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
    m_side = std::clamp(side, 16, 256);
    if (!m_rows.empty()) emit dataChanged(index(0), index(static_cast<int>(m_rows.size()) - 1), {Qt::DecorationRole});
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
    m_groupSizes.assign(static_cast<std::size_t>(std::max(0, m_explorer->numExits())), 0);
    const core::Trace* trace = m_explorer->testTrace();
    const core::ExitOutcome& outcome = m_explorer->outcome();
    const int n = m_explorer->numSamples();
    m_rowOf.assign(static_cast<std::size_t>(n), -1);
    if (trace && static_cast<int>(outcome.exitTaken.size()) == n) {
        std::vector<std::vector<int>> groups(m_groupSizes.size());
        for (int i = 0; i < n; ++i) {
            const auto s = static_cast<std::size_t>(i);
            const bool correct = outcome.prediction[s] == trace->labels[s];
            if (m_correctness == Correctness::Correct && !correct) continue;
            if (m_correctness == Correctness::Wrong && correct) continue;
            if (m_class >= 0 && trace->labels[s] != m_class) continue;
            const auto exit = static_cast<std::size_t>(outcome.exitTaken[s]);
            ++m_groupSizes[exit];
            if (m_exit >= 0 && static_cast<int>(exit) != m_exit) continue;
            groups[exit].push_back(i);
            if (correct) ++m_correct;
        }
        for (std::vector<int>& group : groups) {
            if (m_sort != Sort::SampleOrder) {
                std::vector<std::pair<float, int>> keyed;
                keyed.reserve(group.size());
                for (int i : group) keyed.emplace_back(m_explorer->scoreAtExit(i), i);
                if (m_sort == Sort::ConfidenceAscending) {
                    std::stable_sort(keyed.begin(), keyed.end(),
                                     [](const auto& a, const auto& b) { return a.first < b.first; });
                } else {
                    std::stable_sort(keyed.begin(), keyed.end(),
                                     [](const auto& a, const auto& b) { return a.first > b.first; });
                }
                for (std::size_t j = 0; j < group.size(); ++j) group[j] = keyed[j].second;
            }
            m_rows.insert(m_rows.end(), group.begin(), group.end());
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
