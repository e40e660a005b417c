// The main window's docks: one per view, arranged for a first look and
// movable by the user.
#include "app/gui/main_window.h"

#include "widgets/explorer/controls_panel.h"
#include "widgets/explorer/exit_histogram.h"
#include "widgets/explorer/explorer.h"
#include "widgets/gallery/gallery_view.h"
#include "widgets/explorer/image_inspector.h"
#include "widgets/common/model_summary.h"
#include "widgets/explorer/tradeoff_plot.h"

#include <QDockWidget>
#include <QLabel>
#include <QScrollArea>
#include <QTabWidget>
#include <QVBoxLayout>

namespace exitscope::app {

namespace {

QWidget* scrollable(QWidget* panel) {
    auto* area = new QScrollArea;
    area->setWidget(panel);
    area->setWidgetResizable(true);
    area->setFrameShape(QFrame::NoFrame);
    return area;
}

} // namespace

void MainWindow::createDocks() {
    setDockNestingEnabled(true);
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowNestedDocks | QMainWindow::AllowTabbedDocks);

    // The banner and a one-line explanation sit on top; every view is a dock.
    m_banner = new QLabel;
    m_banner->setWordWrap(true);
    m_banner->setTextFormat(Qt::PlainText);
    m_banner->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_banner->setMargin(8);
    m_banner->setStyleSheet(
        QStringLiteral("QLabel { background: #fff4d6; border: 1px solid #e0b050; color: #402800; }"));
    m_banner->hide();
    auto* intro = new QLabel(QStringLiteral(
        "An early-exit network has several exits: easy images can answer at an early one and save compute, "
        "hard ones go deeper. Pick a policy on the left and move its controls: the accuracy-cost plot, the "
        "gallery of images grouped by exit and the histogram follow live. Click an image to follow its path."));
    intro->setWordWrap(true);
    intro->setMargin(6);
    intro->setTextFormat(Qt::PlainText);
    intro->setStyleSheet(QStringLiteral("QLabel { background: #eef4fb; color: #1c3550; }"));
    // No central widget: every view is a dock. The banner is a fixed strip on
    // top that only shows when there is something to say.
    auto* bannerDock = new QDockWidget(this);
    bannerDock->setObjectName(QStringLiteral("BannerDock"));
    bannerDock->setTitleBarWidget(new QWidget);
    bannerDock->setFeatures(QDockWidget::NoDockWidgetFeatures);
    bannerDock->setWidget(m_banner);
    addDockWidget(Qt::TopDockWidgetArea, bannerDock);
    m_bannerDock = bannerDock;
    bannerDock->hide();

    m_controls = new widgets::ControlsPanel(m_explorer);
    m_tradeoff = new widgets::TradeoffPlot(m_explorer);
    m_gallery = new widgets::GalleryView(m_explorer, m_images);
    m_inspector = new widgets::ImageInspector(m_explorer, m_images);
    m_histogram = new widgets::ExitHistogram(m_explorer);

    m_model = new widgets::ModelSummary;
    m_traceTabs = new QTabWidget;
    m_traceTabs->setTabsClosable(false);
    m_traceTabs->setDocumentMode(true);
    auto* details = new QWidget;
    auto* detailsLayout = new QVBoxLayout(details);
    detailsLayout->setContentsMargins(4, 4, 4, 4);
    detailsLayout->addWidget(m_model);
    detailsLayout->addWidget(m_traceTabs, 1);

    auto* controlsPage = new QWidget;
    auto* controlsLayout = new QVBoxLayout(controlsPage);
    controlsLayout->setContentsMargins(0, 0, 0, 0);
    controlsLayout->addWidget(intro);
    controlsLayout->addWidget(m_controls, 1);
    QWidget* controlsArea = scrollable(controlsPage);
    controlsArea->setMinimumWidth(340);
    addPanelDock(controlsArea, QStringLiteral("Controls"), Qt::LeftDockWidgetArea,
                 QStringLiteral("ControlsDock"));
    QDockWidget* tradeoff = addPanelDock(m_tradeoff, QStringLiteral("Accuracy vs cost"), Qt::RightDockWidgetArea,
                                         QStringLiteral("TradeoffDock"));
    m_inspectorDock = new QDockWidget(QStringLiteral("Image inspector"), this);
    m_inspectorDock->setObjectName(QStringLiteral("InspectorDock"));
    // Docks scroll rather than push the window past a laptop screen (1280x800).
    m_inspectorDock->setWidget(scrollable(m_inspector));
    splitDockWidget(tradeoff, m_inspectorDock, Qt::Horizontal);
    auto* gallery = new QDockWidget(QStringLiteral("Early-exit gallery"), this);
    gallery->setObjectName(QStringLiteral("GalleryDock"));
    gallery->setWidget(m_gallery);
    splitDockWidget(tradeoff, gallery, Qt::Vertical);
    auto* histogram = new QDockWidget(QStringLiteral("Exit histogram and classes"), this);
    histogram->setObjectName(QStringLiteral("HistogramDock"));
    histogram->setWidget(scrollable(m_histogram));
    splitDockWidget(m_inspectorDock, histogram, Qt::Vertical);
    auto* detailsDock = new QDockWidget(QStringLiteral("Model and traces"), this);
    detailsDock->setObjectName(QStringLiteral("DetailsDock"));
    detailsDock->setWidget(scrollable(details));
    tabifyDockWidget(histogram, detailsDock);
    histogram->raise();
    m_controls->setMinimumWidth(300);
}

} // namespace exitscope::app
