#pragma once

#include <QAbstractItemView>

namespace exitscope::widgets {

/// A grid of equal cells over a flat list model, filled left to right and
/// top to bottom, scrolled vertically. Every query is arithmetic on the row
/// number, so a model reset, a resize or a scroll costs the same for 100
/// rows as for 1,000,000; only visible cells are painted and asked for data.
/// (QListView lays out and remembers every item after each reset, which
/// dominated a control change with 100,000 images.) Selection, the current
/// item, keyboard moves, tooltips and the delegate come from
/// QAbstractItemView.
class GalleryGrid : public QAbstractItemView {
    Q_OBJECT

public:
    explicit GalleryGrid(QWidget* parent = nullptr);

    /// Empty pixels around every cell's delegate-drawn item.
    void setSpacing(int spacing);
    /// One cell: the delegate's size hint for the first row (every cell is
    /// assumed the same size) plus the spacing on each side.
    QSize cellSize() const { return m_cell; }
    /// Cells per grid row at the current width (at least 1).
    int columns() const;

    QRect visualRect(const QModelIndex& index) const override;
    void scrollTo(const QModelIndex& index, ScrollHint hint = EnsureVisible) override;
    QModelIndex indexAt(const QPoint& point) const override;

protected:
    QModelIndex moveCursor(CursorAction cursorAction, Qt::KeyboardModifiers modifiers) override;
    int horizontalOffset() const override;
    int verticalOffset() const override;
    bool isIndexHidden(const QModelIndex& index) const override;
    void setSelection(const QRect& rect, QItemSelectionModel::SelectionFlags command) override;
    QRegion visualRegionForSelection(const QItemSelection& selection) const override;
    void updateGeometries() override;
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void scrollContentsBy(int dx, int dy) override;

private:
    int count() const;
    /// The cell of model row `row` in content coordinates (before scrolling).
    QRect cellRect(int row) const;
    /// The first and last model rows with a cell meeting `rect` (viewport
    /// coordinates); first > last when none does.
    std::pair<int, int> rowsIn(const QRect& rect) const;

    int m_spacing = 1;
    QSize m_cell{1, 1};
};

} // namespace exitscope::widgets
