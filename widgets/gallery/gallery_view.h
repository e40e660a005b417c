#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QTabBar;

namespace exitscope::widgets {

class DatasetImages;
class Explorer;
class GalleryGrid;
class GalleryModel;

/// The early-exit gallery: thumbnails of the test images grouped by the exit
/// they took (a tab per exit with its count, or all of them), with filters
/// for correct / wrong answers and the true class and an order by
/// confidence. Clicking a thumbnail selects that image everywhere. A green
/// bar under a thumbnail marks a correct answer, a red one a wrong answer.
class GalleryView : public QWidget {
    Q_OBJECT

public:
    QSize sizeHint() const override { return {600, 480}; }
    GalleryView(Explorer* explorer, DatasetImages* images, QWidget* parent = nullptr);

    GalleryModel* model() const { return m_model; }
    GalleryGrid* grid() const { return m_list; }
    /// The line above the thumbnails ("1,234 images left at exit 0, ...").
    QString summaryText() const;

private:
    void rebuildTabs();
    void rebuildClasses();
    void updateSummary();
    void showSelection(int sample);

    Explorer* m_explorer;
    bool m_followPolicy = false;  // the next model reset follows a policy change
    DatasetImages* m_images;
    GalleryModel* m_model;
    QTabBar* m_tabs;
    QComboBox* m_correctness;
    QComboBox* m_class;
    QComboBox* m_sort;
    QLabel* m_summary;
    QLabel* m_note;
    GalleryGrid* m_list;
};

} // namespace exitscope::widgets
