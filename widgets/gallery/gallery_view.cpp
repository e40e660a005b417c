#include "widgets/gallery/gallery_view.h"

#include "widgets/gallery/dataset_images.h"
#include "widgets/explorer/explorer.h"
#include "widgets/gallery/gallery_grid.h"
#include "widgets/gallery/gallery_model.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QItemSelectionModel>
#include <QPainter>
#include <QStyledItemDelegate>
#include <QTabBar>
#include <QVBoxLayout>

#include <cstdlib>

namespace exitscope::widgets {

namespace {

/// Draws a thumbnail with a bar under it: green for a correct answer, red
/// for a wrong one, and the exit number when every exit is shown.
class ThumbnailDelegate : public QStyledItemDelegate {
public:
    ThumbnailDelegate(GalleryModel* model, QObject* parent) : QStyledItemDelegate(parent), m_model(model) {}

    QSize sizeHint(const QStyleOptionViewItem&, const QModelIndex&) const override {
        const int side = m_model->thumbnailSide();
        return {side + 6, side + 10};
    }

    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
        const QRect r = option.rect.adjusted(1, 1, -1, -1);
        if (option.state & QStyle::State_Selected) {
            painter->fillRect(r, option.palette.highlight());
        }
        const QPixmap pixmap = index.data(Qt::DecorationRole).value<QPixmap>();
        const int side = m_model->thumbnailSide();
        const QRect imageRect(r.left() + 2, r.top() + 2, side, side);
        painter->drawPixmap(imageRect, pixmap);
        const bool correct = index.data(GalleryModel::CorrectRole).toBool();
        painter->fillRect(QRect(imageRect.left(), imageRect.bottom() + 2, side, 4),
                          correct ? QColor(0x2c, 0xa0, 0x2c) : QColor(0xd6, 0x27, 0x28));
        if (m_model->exitFilter() < 0) {
            painter->setPen(Qt::white);
            const QRect badge(imageRect.left(), imageRect.top(), 14, 13);
            painter->fillRect(badge, QColor(0, 0, 0, 150));
            painter->drawText(badge, Qt::AlignCenter, QString::number(index.data(GalleryModel::ExitRole).toInt()));
        }
    }

private:
    GalleryModel* m_model;
};

} // namespace

GalleryView::GalleryView(Explorer* explorer, DatasetImages* images, QWidget* parent)
    : QWidget(parent), m_explorer(explorer), m_images(images), m_model(new GalleryModel(explorer, this)),
      m_tabs(new QTabBar), m_correctness(new QComboBox), m_class(new QComboBox), m_sort(new QComboBox),
      m_summary(new QLabel), m_note(new QLabel), m_list(new GalleryGrid) {
    m_model->setImages(images);

    m_tabs->setExpanding(false);
    m_tabs->setDrawBase(false);
    m_tabs->setToolTip(QStringLiteral("Images grouped by the exit where they left the network"));
    m_correctness->addItems({QStringLiteral("All answers"), QStringLiteral("Correct only"), QStringLiteral("Wrong only")});
    m_correctness->setToolTip(QStringLiteral("Show every image, or only those answered correctly / wrongly"));
    m_class->setToolTip(QStringLiteral("Show only images of one true class"));
    m_sort->addItems({QStringLiteral("Data set order"), QStringLiteral("Least confident first"),
                      QStringLiteral("Most confident first")});
    m_sort->setToolTip(QStringLiteral("Order within each exit by the confidence at the exit taken"));

    m_summary->setTextFormat(Qt::PlainText);
    m_note->setTextFormat(Qt::PlainText);
    m_note->setWordWrap(true);
    m_note->setStyleSheet(QStringLiteral("color: #805000;"));
    m_note->hide();

    m_list->setModel(m_model);
    m_list->setSelectionMode(QAbstractItemView::SingleSelection);
    m_list->setSpacing(1);
    m_list->setItemDelegate(new ThumbnailDelegate(m_model, m_list));
    m_list->setMouseTracking(true);

    auto* filters = new QHBoxLayout;
    filters->addWidget(m_correctness);
    filters->addWidget(m_class);
    filters->addWidget(m_sort);
    filters->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_tabs);
    layout->addLayout(filters);
    layout->addWidget(m_summary);
    layout->addWidget(m_note);
    layout->addWidget(m_list, 1);

    connect(m_tabs, &QTabBar::currentChanged, this, [this](int tab) { m_model->setExitFilter(tab - 1); });
    connect(m_correctness, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_model->setCorrectness(static_cast<GalleryModel::Correctness>(i)); });
    connect(m_class, &QComboBox::currentIndexChanged, this, [this](int i) { m_model->setClassFilter(i - 1); });
    connect(m_sort, &QComboBox::currentIndexChanged, this,
            [this](int i) { m_model->setSort(static_cast<GalleryModel::Sort>(i)); });
    // Clicks and arrow keys both move the current thumbnail; a model reset
    // clears it, which is no choice of the user's and is ignored.
    connect(m_list->selectionModel(), &QItemSelectionModel::currentChanged, this, [this](const QModelIndex& index) {
        if (index.isValid()) m_explorer->selectSample(m_model->sampleAt(index.row()));
    });
    // After a policy change the exit on view may hold no image any more:
    // follow the selected image to its new exit (or show them all) rather
    // than an empty gallery. A tab the user picks is left alone.
    connect(explorer, &Explorer::policyChanged, this, [this] { m_followPolicy = true; });
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        if (m_followPolicy) {
            m_followPolicy = false;
            const int exit = m_model->exitFilter();
            const std::vector<int>& sizes = m_model->groupSizes();
            if (exit >= 0 && (exit >= static_cast<int>(sizes.size()) || sizes[static_cast<std::size_t>(exit)] == 0)) {
                const int row = m_explorer->selectedSample();
                const auto& taken = m_explorer->outcome().exitTaken;
                const int target =
                    row >= 0 && row < static_cast<int>(taken.size()) ? static_cast<int>(taken[static_cast<std::size_t>(row)]) : -1;
                m_model->setExitFilter(target);  // resets the model again, which lands below
                return;
            }
        }
        rebuildTabs();
        updateSummary();
        showSelection(m_explorer->selectedSample());
    });
    connect(explorer, &Explorer::tracesChanged, this, [this] {
        rebuildClasses();
        rebuildTabs();
    });
    connect(explorer, &Explorer::selectionChanged, this, &GalleryView::showSelection);
    connect(images, &DatasetImages::changed, this, [this] {
        m_note->setText(m_images->state() == DatasetImages::State::Ready ? QString() : m_images->message());
        m_note->setVisible(m_images->state() != DatasetImages::State::Ready && !m_images->message().isEmpty());
    });
    rebuildClasses();
    rebuildTabs();
    updateSummary();
}

void GalleryView::rebuildClasses() {
    const QSignalBlocker block(m_class);
    const int current = m_class->currentIndex();
    m_class->clear();
    m_class->addItem(QStringLiteral("Every class"));
    m_class->addItems(m_explorer->classNames());
    m_class->setCurrentIndex(current >= 0 && current < m_class->count() ? current : 0);
}

void GalleryView::rebuildTabs() {
    const std::vector<int>& sizes = m_model->groupSizes();
    const QSignalBlocker block(m_tabs);
    int total = 0;
    for (int size : sizes) total += size;
    QStringList texts{QStringLiteral("All \u00b7 %1").arg(total)};
    for (std::size_t k = 0; k < sizes.size(); ++k) texts << QStringLiteral("Exit %1 \u00b7 %2").arg(k).arg(sizes[k]);
    // A visible tab bar lays every tab out again after each changed text; with
    // 32 exits that was quadratic. Hidden, it lays out once when shown.
    int changed = std::abs(m_tabs->count() - static_cast<int>(texts.size()));
    for (int i = 0; i < std::min(m_tabs->count(), static_cast<int>(texts.size())); ++i)
        changed += m_tabs->tabText(i) != texts[i] ? 1 : 0;
    const bool relayoutOnce = changed > 1 && m_tabs->isVisible();
    if (relayoutOnce) m_tabs->setVisible(false);
    while (m_tabs->count() > static_cast<int>(texts.size())) m_tabs->removeTab(m_tabs->count() - 1);
    while (m_tabs->count() < static_cast<int>(texts.size())) m_tabs->addTab(QString());
    for (int i = 0; i < static_cast<int>(texts.size()); ++i)
        if (m_tabs->tabText(i) != texts[i]) m_tabs->setTabText(i, texts[i]);
    m_tabs->setCurrentIndex(m_model->exitFilter() + 1);
    if (relayoutOnce) m_tabs->setVisible(true);
}

QString GalleryView::summaryText() const {
    return m_summary->text();
}

void GalleryView::updateSummary() {
    const int shown = m_model->rowCount();
    const int correct = m_model->correctCount();
    const int exit = m_model->exitFilter();
    const QString where = exit < 0 ? QStringLiteral("shown") : QStringLiteral("left at exit %1").arg(exit);
    m_summary->setText(shown == 0 ? QStringLiteral("No image matches the filters.")
                                  : QStringLiteral("%1 images %2, %3 answered correctly (%4 %)")
                                        .arg(shown)
                                        .arg(where)
                                        .arg(correct)
                                        .arg(100.0 * correct / shown, 0, 'f', 1));
}

void GalleryView::showSelection(int sample) {
    const int row = m_model->rowOfSample(sample);
    if (row < 0) {
        m_list->clearSelection();
        return;
    }
    const QModelIndex index = m_model->index(row);
    if (m_list->currentIndex() != index) m_list->setCurrentIndex(index);
    m_list->scrollTo(index);
}

} // namespace exitscope::widgets
