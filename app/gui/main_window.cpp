#include "app/gui/main_window.h"

#include "core/common/error.h"
#include "core/model/checkpoint.h"
#include "widgets/model_summary.h"
#include "widgets/trace_overview.h"

#include <QAction>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

#include <exception>

namespace exitscope::app {

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent), m_model(new widgets::ModelSummary), m_banner(new QLabel),
      m_stack(new QStackedWidget), m_empty(new QLabel), m_tabs(new QTabWidget) {
    setWindowTitle(QStringLiteral("ExitScope"));
    resize(1200, 780);

    m_banner->setWordWrap(true);
    m_banner->setTextFormat(Qt::PlainText);
    m_banner->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_banner->setMargin(8);
    m_banner->setStyleSheet(
        QStringLiteral("QLabel { background: #fff4d6; border: 1px solid #e0b050; color: #402800; }"));
    m_banner->hide();

    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setText(QStringLiteral("No trace loaded. Open one with File \u2192 Open Trace..."));

    m_tabs->setTabsClosable(true);
    m_tabs->setDocumentMode(true);
    connect(m_tabs, &QTabWidget::tabCloseRequested, this, [this](int index) {
        QWidget* page = m_tabs->widget(index);
        m_tabs->removeTab(index);
        page->deleteLater();
        updateCentralPage();
    });

    m_stack->addWidget(m_empty);
    m_stack->addWidget(m_tabs);

    auto* central = new QWidget;
    auto* layout = new QVBoxLayout(central);
    layout->addWidget(m_banner);
    layout->addWidget(m_model);
    layout->addWidget(m_stack, 1);
    setCentralWidget(central);

    createMenus();
    statusBar()->showMessage(QStringLiteral("Ready"));
}

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(QStringLiteral("&File"));
    QAction* openWeights = file->addAction(QStringLiteral("Open &Weights..."), this, &MainWindow::chooseWeights);
    openWeights->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    QAction* openTrace = file->addAction(QStringLiteral("Open &Trace..."), this, &MainWindow::chooseTrace);
    openTrace->setShortcut(QKeySequence::Open);
    file->addSeparator();
    QAction* quit = file->addAction(QStringLiteral("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
}

bool MainWindow::openWeights(const QString& path) {
    try {
        const core::ModelSpec spec = core::readCheckpointSpec(path.toStdString());
        m_model->setSpec(spec, QFileInfo(path).absoluteFilePath());
    } catch (const std::exception& e) {
        // core::Error carries a message naming the file; anything else still
        // must not take the window down.
        reportError(QString::fromStdString(e.what()));
        return false;
    }
    for (int i = 0; i < m_tabs->count(); ++i) {
        static_cast<widgets::TraceOverview*>(m_tabs->widget(i))->setReferenceWeightsHash(m_model->weightsHash());
    }
    m_lastDir = QFileInfo(path).absolutePath();
    statusBar()->showMessage(QStringLiteral("Loaded weights %1").arg(path));
    return true;
}

bool MainWindow::openTrace(const QString& path) {
    const QString absolute = QFileInfo(path).absoluteFilePath();
    widgets::TraceOverview* existing = nullptr;
    for (int i = 0; i < m_tabs->count() && !existing; ++i) {
        auto* page = static_cast<widgets::TraceOverview*>(m_tabs->widget(i));
        if (page->source() == absolute) existing = page;
    }
    auto* overview = existing ? existing : new widgets::TraceOverview;
    if (!overview->loadFile(absolute)) {
        reportError(overview->errorString());
        if (!existing) delete overview;
        return false;
    }
    overview->setReferenceWeightsHash(m_model->weightsHash());
    const QString split = overview->summaryValue(QStringLiteral("split"));
    QString title = split.isEmpty() ? QFileInfo(path).completeBaseName() : split;
    for (int i = 0; i < m_tabs->count(); ++i) {
        // Two "val" tabs (two models, say) must be told apart at a glance.
        if (m_tabs->widget(i) != overview && m_tabs->tabText(i) == title) {
            const QFileInfo info(absolute);
            title = QStringLiteral("%1 (%2)").arg(title, split.isEmpty() ? info.dir().dirName() : info.fileName());
            break;
        }
    }
    int index = m_tabs->indexOf(overview);
    if (index < 0) index = m_tabs->addTab(overview, title);
    m_tabs->setTabText(index, title);
    m_tabs->setTabToolTip(index, absolute);
    m_tabs->setCurrentIndex(index);
    updateCentralPage();
    m_lastDir = QFileInfo(path).absolutePath();
    statusBar()->showMessage(QStringLiteral("Loaded trace %1 (%2 samples)")
                                 .arg(path, overview->summaryValue(QStringLiteral("samples"))));
    return true;
}

void MainWindow::showNotice(const QString& text) {
    m_banner->setText(text);
    m_banner->setVisible(!text.isEmpty());
    if (!text.isEmpty()) statusBar()->showMessage(text.section(QLatin1Char('\n'), 0, 0));
}

void MainWindow::chooseWeights() {
    const QString path = QFileDialog::getOpenFileName(this, QStringLiteral("Open Weights"), m_lastDir,
                                                      QStringLiteral("ExitScope checkpoints (*.pt);;All files (*)"));
    if (!path.isEmpty()) openWeights(path);
}

void MainWindow::chooseTrace() {
    const QString path = QFileDialog::getOpenFileName(this, QStringLiteral("Open Trace"), m_lastDir,
                                                      QStringLiteral("Traces (*.safetensors);;All files (*)"));
    if (!path.isEmpty()) openTrace(path);
}

void MainWindow::reportError(const QString& message) {
    m_lastError = message;
    statusBar()->showMessage(message);
    if (m_errorPopups) {
        // open() rather than exec(): errors found during start-up must not
        // block before the event loop runs.
        auto* box = new QMessageBox(QMessageBox::Warning, QStringLiteral("ExitScope"), message, QMessageBox::Ok, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
    }
}

void MainWindow::updateCentralPage() {
    m_stack->setCurrentWidget(m_tabs->count() > 0 ? static_cast<QWidget*>(m_tabs) : m_empty);
}

} // namespace exitscope::app
