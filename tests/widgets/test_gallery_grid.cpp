// The gallery's grid view: geometry by hand, keyboard moves, and that only
// the cells on screen are asked for data, however many rows the model has.
#include "widgets/gallery/gallery_grid.h"

#include <QAbstractListModel>
#include <QScrollBar>
#include <QStyledItemDelegate>
#include <QTest>

#include <gtest/gtest.h>

using exitscope::widgets::GalleryGrid;

namespace {

/// `rows` rows, each showing its number; counts which rows were asked for data.
class CountingModel : public QAbstractListModel {
public:
    explicit CountingModel(int rows) : m_rows(rows) {}
    int rowCount(const QModelIndex& parent = QModelIndex()) const override { return parent.isValid() ? 0 : m_rows; }
    QVariant data(const QModelIndex& index, int role) const override {
        if (role == Qt::DisplayRole) m_asked.insert(index.row());
        return role == Qt::DisplayRole ? QVariant(index.row()) : QVariant();
    }
    void reset(int rows) {
        beginResetModel();
        m_rows = rows;
        m_asked.clear();
        endResetModel();
    }
    mutable QSet<int> m_asked;

private:
    int m_rows;
};

/// Every item is `size`; paints its number so that data() is really read.
class FixedDelegate : public QStyledItemDelegate {
public:
    explicit FixedDelegate(QSize size) : m_size(size) {}
    QSize sizeHint(const QStyleOptionViewItem&, const QModelIndex&) const override { return m_size; }
    QSize m_size;
};

/// A grid whose viewport is exactly `width` x `height` pixels.
struct Grid {
    CountingModel model;
    GalleryGrid view;
    Grid(int rows, int width, int height) : model(rows) {
        view.setItemDelegate(new FixedDelegate(QSize(20, 30)));
        view.setSpacing(1);  // cells of 22 x 32
        view.setFrameShape(QFrame::NoFrame);
        view.setModel(&model);
        view.setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
        view.resize(width, height);
        view.show();
        EXPECT_TRUE(QTest::qWaitForWindowExposed(&view));
        QCoreApplication::processEvents();
    }
};

} // namespace

TEST(GalleryGrid, CellsFollowTheRowNumberLeftToRightThenDown) {
    Grid g(10, 100, 200);  // 100 / 22 = 4 columns
    ASSERT_EQ(g.view.cellSize(), QSize(22, 32));
    ASSERT_EQ(g.view.columns(), 4);
    EXPECT_EQ(g.view.visualRect(g.model.index(0)), QRect(0, 0, 22, 32));
    EXPECT_EQ(g.view.visualRect(g.model.index(5)), QRect(22, 32, 22, 32));  // line 1, column 1
    EXPECT_EQ(g.view.visualRect(g.model.index(9)), QRect(22, 64, 22, 32));  // line 2, column 1
    EXPECT_EQ(g.view.indexAt(QPoint(23, 33)).row(), 5);
    EXPECT_EQ(g.view.indexAt(QPoint(87, 0)).row(), 3);
    // Past the fourth column, and after the last row of an unfilled line: nothing.
    EXPECT_FALSE(g.view.indexAt(QPoint(90, 0)).isValid());
    EXPECT_FALSE(g.view.indexAt(QPoint(50, 70)).isValid());  // would be row 10
    EXPECT_FALSE(g.view.visualRect(g.model.index(10)).isValid());
}

TEST(GalleryGrid, ArrowKeysMoveByACellOrALineAndStopAtTheEnds) {
    Grid g(10, 100, 200);
    g.view.setCurrentIndex(g.model.index(1));
    QTest::keyClick(&g.view, Qt::Key_Down);
    EXPECT_EQ(g.view.currentIndex().row(), 5);
    QTest::keyClick(&g.view, Qt::Key_Right);
    EXPECT_EQ(g.view.currentIndex().row(), 6);
    QTest::keyClick(&g.view, Qt::Key_Down);  // row 10 does not exist: stays
    EXPECT_EQ(g.view.currentIndex().row(), 6);
    QTest::keyClick(&g.view, Qt::Key_End);
    EXPECT_EQ(g.view.currentIndex().row(), 9);
    QTest::keyClick(&g.view, Qt::Key_Right);
    EXPECT_EQ(g.view.currentIndex().row(), 9);
    QTest::keyClick(&g.view, Qt::Key_Home);
    EXPECT_EQ(g.view.currentIndex().row(), 0);
    QTest::keyClick(&g.view, Qt::Key_Up);
    EXPECT_EQ(g.view.currentIndex().row(), 0);
    EXPECT_TRUE(g.view.selectionModel()->isSelected(g.model.index(0)));
}

TEST(GalleryGrid, ScrollingToARowBringsItsLineIntoView) {
    Grid g(1000, 100, 100);  // 250 lines of 32 px, 100 px visible
    EXPECT_EQ(g.view.verticalScrollBar()->maximum(), 250 * 32 - 100);
    g.view.scrollTo(g.model.index(401));  // line 100: y 3200..3232
    EXPECT_EQ(g.view.verticalScrollBar()->value(), 3232 - 100);
    EXPECT_EQ(g.view.visualRect(g.model.index(401)), QRect(22, 100 - 32, 22, 32));
    g.view.scrollTo(g.model.index(8), QAbstractItemView::PositionAtTop);  // line 2
    EXPECT_EQ(g.view.verticalScrollBar()->value(), 64);
    EXPECT_EQ(g.view.indexAt(QPoint(0, 0)).row(), 8);
}

TEST(GalleryGrid, OnlyCellsOnScreenAreAskedForDataEvenForAMillionRows) {
    Grid g(10, 100, 100);
    g.model.reset(1000000);
    QCoreApplication::processEvents();  // the layout after a reset is queued, as in every item view
    g.view.viewport()->repaint();
    // 4 columns x ceil(100 / 32) = 4 lines on screen: rows 0..15.
    ASSERT_FALSE(g.model.m_asked.isEmpty());
    EXPECT_LE(*std::max_element(g.model.m_asked.begin(), g.model.m_asked.end()), 15);
    EXPECT_EQ(g.view.verticalScrollBar()->maximum(), 250000 * 32 - 100);
    g.model.m_asked.clear();
    g.view.verticalScrollBar()->setValue(250000 * 32 - 100);
    g.view.viewport()->repaint();
    ASSERT_FALSE(g.model.m_asked.isEmpty());
    EXPECT_GE(*std::min_element(g.model.m_asked.begin(), g.model.m_asked.end()), 1000000 - 16);
}

TEST(GalleryGrid, ANewItemSizeLaysTheGridOutAgain) {
    Grid g(10, 100, 200);
    static_cast<FixedDelegate*>(g.view.itemDelegate())->m_size = QSize(40, 40);
    emit g.model.layoutChanged();
    QCoreApplication::processEvents();
    EXPECT_EQ(g.view.cellSize(), QSize(42, 42));
    EXPECT_EQ(g.view.columns(), 2);
    EXPECT_EQ(g.view.visualRect(g.model.index(3)), QRect(42, 42, 42, 42));
}
