#include "widgets/gallery/gallery_grid.h"

#include <QCursor>
#include <QPaintEvent>
#include <QPainter>
#include <QScrollBar>

#include <algorithm>

namespace exitscope::widgets {

GalleryGrid::GalleryGrid(QWidget* parent) : QAbstractItemView(parent) {
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollMode(ScrollPerPixel);
    setSelectionBehavior(SelectItems);
    viewport()->setAttribute(Qt::WA_Hover);
}

void GalleryGrid::setSpacing(int spacing) {
    m_spacing = std::max(0, spacing);
    scheduleDelayedItemsLayout();
}

int GalleryGrid::count() const {
    return model() ? model()->rowCount(rootIndex()) : 0;
}

int GalleryGrid::columns() const {
    return std::max(1, viewport()->width() / m_cell.width());
}

QRect GalleryGrid::cellRect(int row) const {
    const int cols = columns();
    return {(row % cols) * m_cell.width(), (row / cols) * m_cell.height(), m_cell.width(), m_cell.height()};
}

std::pair<int, int> GalleryGrid::rowsIn(const QRect& rect) const {
    const int n = count();
    const QRect r = rect.translated(0, verticalOffset()).intersected(
        QRect(0, 0, columns() * m_cell.width(), (n + columns() - 1) / columns() * m_cell.height()));
    if (r.isEmpty() || n == 0) return {0, -1};
    const int cols = columns();
    const int firstLine = r.top() / m_cell.height(), lastLine = r.bottom() / m_cell.height();
    const int firstCol = r.left() / m_cell.width(), lastCol = std::min(cols - 1, r.right() / m_cell.width());
    return {firstLine * cols + firstCol, std::min(n - 1, lastLine * cols + lastCol)};
}

QRect GalleryGrid::visualRect(const QModelIndex& index) const {
    if (!index.isValid() || index.parent() != rootIndex() || index.row() >= count()) return {};
    return cellRect(index.row()).translated(-horizontalOffset(), -verticalOffset());
}

void GalleryGrid::scrollTo(const QModelIndex& index, ScrollHint hint) {
    if (!index.isValid() || index.row() >= count()) return;
    const QRect cell = cellRect(index.row());
    const int height = viewport()->height();
    int top = verticalOffset();
    switch (hint) {
    case PositionAtTop: top = cell.top(); break;
    case PositionAtBottom: top = cell.bottom() + 1 - height; break;
    case PositionAtCenter: top = cell.center().y() - height / 2; break;
    case EnsureVisible:
        if (cell.top() < top) top = cell.top();
        else if (cell.bottom() + 1 > top + height) top = cell.bottom() + 1 - height;
        break;
    }
    verticalScrollBar()->setValue(top);
}

QModelIndex GalleryGrid::indexAt(const QPoint& point) const {
    if (point.x() < 0 || point.y() < 0 || point.x() >= columns() * m_cell.width()) return {};
    const int line = (point.y() + verticalOffset()) / m_cell.height();
    const int row = line * columns() + point.x() / m_cell.width();
    return row < count() ? model()->index(row, 0, rootIndex()) : QModelIndex();
}

QModelIndex GalleryGrid::moveCursor(CursorAction cursorAction, Qt::KeyboardModifiers) {
    const int n = count();
    if (n == 0) return {};
    const QModelIndex current = currentIndex();
    if (!current.isValid()) return model()->index(0, 0, rootIndex());
    const int cols = columns();
    const int page = std::max(1, viewport()->height() / m_cell.height()) * cols;
    int row = current.row();
    switch (cursorAction) {
    case MoveLeft:
    case MovePrevious: row -= 1; break;
    case MoveRight:
    case MoveNext: row += 1; break;
    case MoveUp: row = row >= cols ? row - cols : row; break;
    case MoveDown: row = row + cols < n ? row + cols : row; break;
    case MovePageUp: row -= page; break;
    case MovePageDown: row += page; break;
    case MoveHome: row = 0; break;
    case MoveEnd: row = n - 1; break;
    }
    return model()->index(std::clamp(row, 0, n - 1), 0, rootIndex());
}

int GalleryGrid::horizontalOffset() const {
    return 0;
}

int GalleryGrid::verticalOffset() const {
    return verticalScrollBar()->value();
}

bool GalleryGrid::isIndexHidden(const QModelIndex&) const {
    return false;
}

void GalleryGrid::setSelection(const QRect& rect, QItemSelectionModel::SelectionFlags command) {
    if (!selectionModel()) return;
    // A click arrives as a one-pixel rectangle; a rubber band as a larger one.
    // Cells between the first and the last line are whole rows of the grid;
    // the selection is one range per line, so it stays small for any model.
    const QRect r = rect.normalized();
    const auto [first, last] = rowsIn(r);
    QItemSelection selection;
    if (first <= last) {
        const int cols = columns();
        const int left = std::clamp(r.left() / m_cell.width(), 0, cols - 1);
        const int right = std::clamp(r.right() / m_cell.width(), 0, cols - 1);
        for (int line = first / cols; line <= last / cols; ++line) {
            const int a = line * cols + left, b = std::min(last, line * cols + right);
            if (a <= b) selection.select(model()->index(a, 0, rootIndex()), model()->index(b, 0, rootIndex()));
        }
    }
    selectionModel()->select(selection, command);
}

QRegion GalleryGrid::visualRegionForSelection(const QItemSelection& selection) const {
    // Only cells on screen can need repainting: clip every range to them.
    const auto [first, last] = rowsIn(viewport()->rect());
    QRegion region;
    for (const QItemSelectionRange& range : selection) {
        if (range.parent() != rootIndex()) continue;
        for (int row = std::max(first, range.top()); row <= std::min(last, range.bottom()); ++row) {
            region += cellRect(row).translated(0, -verticalOffset());
        }
    }
    return region;
}

void GalleryGrid::updateGeometries() {
    if (count() > 0 && itemDelegate()) {
        QStyleOptionViewItem option;
        initViewItemOption(&option);
        const QSize item = itemDelegate()->sizeHint(option, model()->index(0, 0, rootIndex()));
        m_cell = (item + QSize(2 * m_spacing, 2 * m_spacing)).expandedTo(QSize(1, 1));
    }
    const int lines = (count() + columns() - 1) / columns();
    const int height = viewport()->height();
    verticalScrollBar()->setSingleStep(m_cell.height());
    verticalScrollBar()->setPageStep(std::max(1, height));
    verticalScrollBar()->setRange(0, std::max(0, lines * m_cell.height() - height));
    QAbstractItemView::updateGeometries();
}

void GalleryGrid::resizeEvent(QResizeEvent* event) {
    // Keep the first visible cell at the top when the column count changes.
    const QModelIndex top = indexAt(QPoint(0, 0));
    QAbstractItemView::resizeEvent(event);  // lays the grid out again (updateGeometries)
    if (top.isValid()) scrollTo(top, PositionAtTop);
}

void GalleryGrid::scrollContentsBy(int dx, int dy) {
    viewport()->scroll(dx, dy);
}

void GalleryGrid::paintEvent(QPaintEvent* event) {
    if (!model() || !itemDelegate()) return;
    QPainter painter(viewport());
    const auto [first, last] = rowsIn(event->rect());
    QStyleOptionViewItem base;
    initViewItemOption(&base);
    const QModelIndex current = currentIndex();
    const QPoint mouse = viewport()->mapFromGlobal(QCursor::pos());
    const bool focused = hasFocus();
    for (int row = first; row <= last; ++row) {
        const QModelIndex index = model()->index(row, 0, rootIndex());
        QStyleOptionViewItem option = base;
        option.rect = cellRect(row).translated(0, -verticalOffset()).adjusted(m_spacing, m_spacing, -m_spacing, -m_spacing);
        if (selectionModel() && selectionModel()->isSelected(index)) option.state |= QStyle::State_Selected;
        if (focused && index == current) option.state |= QStyle::State_HasFocus;
        if (viewport()->underMouse() && option.rect.contains(mouse)) option.state |= QStyle::State_MouseOver;
        itemDelegate()->paint(&painter, option, index);
    }
}

} // namespace exitscope::widgets
