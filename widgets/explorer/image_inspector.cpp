#include "widgets/explorer/image_inspector.h"

#include "widgets/gallery/dataset_images.h"
#include "widgets/explorer/explorer.h"
#include "widgets/common/plot_export.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLayoutItem>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace exitscope::widgets {

namespace {

enum Column { ExitColumn, PredictionColumn, ConfidenceColumn, Top3Column, DecisionColumn, ColumnCount };

constexpr int kPictureSide = 150;

// The `count` most probable classes of one distribution, most probable first.
std::vector<int> topClasses(const float* probs, int numClasses, int count) {
    std::vector<int> order(static_cast<std::size_t>(numClasses));
    std::iota(order.begin(), order.end(), 0);
    count = std::min(count, numClasses);
    std::partial_sort(order.begin(), order.begin() + count, order.end(),
                      [probs](int a, int b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); });
    order.resize(static_cast<std::size_t>(count));
    return order;
}

// "an" before a vowel sound as written ("an Ankle boot", "an 8"), else "a".
QString indefiniteArticle(const QString& noun) {
    const QString n = noun.trimmed().toLower();
    if (n.isEmpty()) return QStringLiteral("a");
    if (n.startsWith(QStringLiteral("uni")) || n.startsWith(QStringLiteral("one")) || n.startsWith(QStringLiteral("eu")))
        return QStringLiteral("a");
    if (n.startsWith(QStringLiteral("hour")) || n.startsWith(QStringLiteral("honest"))) return QStringLiteral("an");
    const QChar c = n.front();
    if (QStringLiteral("aeiou8").contains(c) || n.startsWith(QStringLiteral("11")) || n.startsWith(QStringLiteral("18")))
        return QStringLiteral("an");
    return QStringLiteral("a");
}

} // namespace

ImageInspector::ImageInspector(Explorer* explorer, DatasetImages* images, QWidget* parent)
    : QWidget(parent), m_explorer(explorer), m_images(images), m_picture(new QLabel), m_header(new QLabel),
      m_plot(new QCustomPlot), m_plotTitle(nullptr), m_table(new QTableWidget), m_walk(new QWidget), m_caption(new QLabel),
      m_prev(new QPushButton(QStringLiteral("\u25c0 Previous exit"))),
      m_next(new QPushButton(QStringLiteral("Next exit \u25b6"))) {
    m_picture->setFixedSize(kPictureSide, kPictureSide);
    m_picture->setAlignment(Qt::AlignCenter);
    m_picture->setStyleSheet(QStringLiteral("QLabel { background: #202020; color: #c0c0c0; }"));
    m_header->setWordWrap(true);
    m_header->setTextFormat(Qt::RichText);
    m_header->setAlignment(Qt::AlignTop | Qt::AlignLeft);

    m_plot->setMinimumHeight(150);
    m_plot->xAxis->setLabel(QStringLiteral("Exit (earliest = 0)"));
    m_plot->yAxis->setLabel(QStringLiteral("Confidence"));
    m_plot->yAxis->setRange(0.0, 1.05);
    m_plot->plotLayout()->insertRow(0);
    m_plotTitle = new QCPTextElement(m_plot, QStringLiteral("Confidence at each exit; dashed: threshold"));
    m_plot->plotLayout()->addElement(0, 0, m_plotTitle);
    m_plot->setToolTip(QStringLiteral("The policy's confidence in its answer at every exit. The image leaves at "
                                      "the first exit whose confidence reaches the dashed threshold."));
    QCPGraph* scores = m_plot->addGraph();
    scores->setPen(QPen(QColor(0x1f, 0x77, 0xb4), 2));
    scores->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(QColor(0x1f, 0x77, 0xb4), 1.5),
                                            QBrush(Qt::white), 8));
    QCPGraph* thresholds = m_plot->addGraph();
    thresholds->setPen(QPen(QColor(0xd6, 0x27, 0x28), 1.5, Qt::DashLine));
    thresholds->setLineStyle(QCPGraph::lsStepCenter);
    QCPGraph* taken = m_plot->addGraph();
    taken->setLineStyle(QCPGraph::lsNone);
    taken->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(0x2c, 0xa0, 0x2c), 14));
    // The three curves get a buffer of their own: a new threshold or budget
    // moves only them, and redrawing that layer skips the axes, grid and
    // title (a full replot was most of a control change's time).
    m_plot->addLayer(QStringLiteral("curves"), m_plot->layer(QStringLiteral("main")), QCustomPlot::limAbove);
    m_plot->layer(QStringLiteral("curves"))->setMode(QCPLayer::lmBuffered);
    for (QCPGraph* graph : {scores, thresholds, taken}) graph->setLayer(QStringLiteral("curves"));

    m_table->setColumnCount(ColumnCount);
    m_table->setHorizontalHeaderLabels({QStringLiteral("Exit"), QStringLiteral("Answer"),
                                        QStringLiteral("Confidence"), QStringLiteral("Top 3 classes"),
                                        QStringLiteral("Decision")});
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    // Sized once per refresh (resizeColumnToContents): ResizeToContents would
    // re-measure every column on each of the cells' updates.
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_table->horizontalHeader()->setSectionResizeMode(Top3Column, QHeaderView::Stretch);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->setMinimumHeight(4 * (m_table->fontMetrics().height() + 6) + 4);

    QFont captionFont = m_caption->font();
    captionFont.setPointSizeF(captionFont.pointSizeF() * 1.6);
    m_caption->setFont(captionFont);
    m_caption->setWordWrap(true);
    // The caption gets the whole width, the buttons a row of their own: beside
    // a large caption they were clipped in a narrow dock.
    auto* walkLayout = new QVBoxLayout(m_walk);
    walkLayout->setContentsMargins(0, 0, 0, 0);
    walkLayout->addWidget(m_caption);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_prev);
    buttons->addStretch(1);
    buttons->addWidget(m_next);
    walkLayout->addLayout(buttons);
    m_walk->hide();

    // What each exit saw: a button, then one overlay per exit reached.
    m_attentionBox = new QWidget;
    auto* attentionLayout = new QVBoxLayout(m_attentionBox);
    attentionLayout->setContentsMargins(0, 0, 0, 0);
    auto* explainLine = new QHBoxLayout;
    auto* explain = new QPushButton(QStringLiteral("What each exit saw (Grad-CAM)"));
    explain->setToolTip(QStringLiteral("Runs the selected image through the real network and shows, for every exit it "
                                       "reached, where that exit looked (red: most)"));
    m_attentionNote = new QLabel;
    m_attentionNote->setWordWrap(true);
    explainLine->addWidget(explain);
    explainLine->addWidget(m_attentionNote, 1);
    attentionLayout->addLayout(explainLine);
    m_attentionRow = new QHBoxLayout;
    m_attentionRow->setContentsMargins(0, 0, 0, 0);
    attentionLayout->addLayout(m_attentionRow);
    connect(explain, &QPushButton::clicked, this, &ImageInspector::explainRequested);

    auto* top = new QHBoxLayout;
    top->addWidget(m_picture);
    top->addWidget(m_header, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    layout->addWidget(m_attentionBox);
    layout->addWidget(m_walk);
    layout->addWidget(m_plot, 1);
    layout->addWidget(m_table, 1);

    connect(m_prev, &QPushButton::clicked, this, &ImageInspector::previousStep);
    connect(m_next, &QPushButton::clicked, this, &ImageInspector::nextStep);
    connect(explorer, &Explorer::outcomeChanged, this, &ImageInspector::refresh);
    connect(explorer, &Explorer::selectionChanged, this, [this] {
        m_step = 0;
        clearAttention();
        refresh();
    });
    connect(images, &DatasetImages::changed, this, &ImageInspector::refresh);
    connect(explorer, &Explorer::liveResultChanged, this, [this] {
        clearAttention();
        refresh();
    });
    refresh();
}

ImageInspector::~ImageInspector() = default;

void ImageInspector::setPresentationMode(bool on) {
    m_presenting = on;
    m_step = 0;
    m_walk->setVisible(on);
    showAttention();
    refresh();
}

void ImageInspector::setAttention(int row, const QList<QImage>& overlays, const QStringList& captions) {
    if (row != m_explorer->selectedSample()) return;  // the selection moved on while it ran
    m_attention = overlays;
    m_attentionCaptions = captions;
    showAttention();
}

void ImageInspector::clearAttention() {
    m_attention.clear();
    m_attentionCaptions.clear();
    showAttention();
}

void ImageInspector::showAttention() {
    while (QLayoutItem* item = m_attentionRow->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    m_attentionNote->setText(m_attention.isEmpty() ? QString()
                                                   : QStringLiteral("Where each exit looked for its answer (red: most)."));
    // Larger in presentation mode, for the back of the room.
    const int side = m_presenting ? 200 : 104;
    for (int i = 0; i < m_attention.size(); ++i) {
        auto* tile = new QLabel;
        tile->setAlignment(Qt::AlignHCenter | Qt::AlignTop);
        tile->setTextFormat(Qt::PlainText);
        auto* picture = new QLabel;
        picture->setPixmap(QPixmap::fromImage(m_attention[i].scaled(side, side, Qt::KeepAspectRatio, Qt::SmoothTransformation)));
        auto* column = new QVBoxLayout;
        column->addWidget(picture, 0, Qt::AlignHCenter);
        tile->setText(m_attentionCaptions.value(i));
        tile->setWordWrap(true);
        if (m_presenting) {
            QFont f = tile->font();
            f.setPointSizeF(f.pointSizeF() * 1.4);
            tile->setFont(f);
        }
        column->addWidget(tile);
        auto* holder = new QWidget;
        holder->setLayout(column);
        m_attentionRow->addWidget(holder);
    }
    m_attentionRow->addStretch(1);
}

void ImageInspector::nextStep() {
    m_step = std::min(m_step + 1, std::max(0, m_explorer->numExits() - 1));
    refresh();
}

void ImageInspector::previousStep() {
    m_step = std::max(0, m_step - 1);
    refresh();
}

QString ImageInspector::caption() const {
    return m_caption->text();
}

QString ImageInspector::headerText() const {
    return m_header->text();
}

QString ImageInspector::cellText(int exit, int column) const {
    const QTableWidgetItem* item = m_table->item(exit, column);
    return item ? item->text() : QString();
}

bool ImageInspector::savePlot(const QString& path, QString* error) const {
    return savePlotFile(m_plot, path, error);
}

QWidget* ImageInspector::plotWidget() const {
    return m_plot;
}

void ImageInspector::refreshLive() {
    const Explorer::LiveImage& live = *m_explorer->liveResult();
    const SamplePath& path = live.path;
    const QStringList names = m_explorer->classNames();
    const int K = std::max(m_explorer->numExits(), static_cast<int>(path.thresholds.size()) + 1);
    for (int g = 0; g < m_plot->graphCount(); ++g) m_plot->graph(g)->data()->clear();
    if (live.image.isNull()) {
        m_picture->setPixmap({});
        m_picture->setText(QStringLiteral("no image"));
    } else {
        m_picture->setPixmap(QPixmap::fromImage(
            live.image.scaled(kPictureSide, kPictureSide, Qt::KeepAspectRatio, Qt::FastTransformation)));
    }
    const QString answer = names.value(static_cast<int>(path.predicted), QStringLiteral("class %1").arg(path.predicted));
    QString header = QStringLiteral("<b>LIVE: %1</b> (run through the real network)<br>").arg(path.title.toHtmlEscaped());
    header += path.label >= 0 ? QStringLiteral("True class: <b>%1</b><br>").arg(names.value(static_cast<int>(path.label)).toHtmlEscaped())
                              : QStringLiteral("True class: unknown<br>");
    header += QStringLiteral("Answer: <b>%1</b> at exit %2 of %3").arg(answer.toHtmlEscaped()).arg(path.exitTaken).arg(K - 1);
    m_header->setText(header);
    const QString scoreTitle = path.scoreName.left(1).toUpper() + path.scoreName.mid(1);
    m_plotTitle->setText(path.thresholds.empty() ? QStringLiteral("%1 at each exit (nothing compared)").arg(scoreTitle)
                                                 : QStringLiteral("%1 at each exit; dashed: %2").arg(scoreTitle, path.boundaryName));
    m_plot->yAxis->setLabel(scoreTitle);
    m_table->setRowCount(K);
    for (int k = 0; k < K; ++k) {
        int slot = -1;
        for (std::size_t j = 0; j < path.exitsEvaluated.size(); ++j)
            if (path.exitsEvaluated[j] == k) slot = static_cast<int>(j);
        const bool left = k == path.exitTaken;
        QString decision = slot < 0 ? (k < path.exitTaken ? QStringLiteral("skipped") : QStringLiteral("not run"))
                                    : left ? QStringLiteral("leaves here") : QStringLiteral("continues");
        if (slot >= 0 && !path.comparison.isEmpty() && k < static_cast<int>(path.thresholds.size()))
            decision += QStringLiteral(" (%1 %2 %3)")
                            .arg(left ? path.comparison
                                      : (path.comparison == QStringLiteral(">") ? QStringLiteral("\u2264") : QStringLiteral("<")),
                                 path.boundaryName)
                            .arg(path.thresholds[static_cast<std::size_t>(k)], 0, 'f', 3);
        const QStringList cells = {QString::number(k), left ? answer : QString(),
                                   slot >= 0 ? QString::number(path.confidences[static_cast<std::size_t>(slot)], 'f', 3) : QString(),
                                   QString(), decision};
        for (int c = 0; c < ColumnCount; ++c) {
            QTableWidgetItem* item = m_table->item(k, c);
            if (!item) {
                item = new QTableWidgetItem;
                m_table->setItem(k, c, item);
            }
            item->setText(cells[c]);
            item->setBackground(left ? QBrush(QColor(0xdf, 0xf0, 0xd8)) : QBrush());
            item->setForeground(k > path.exitTaken ? QBrush(QColor(0x90, 0x90, 0x90)) : QBrush());
        }
        if (slot >= 0) m_plot->graph(0)->addData(k, path.confidences[static_cast<std::size_t>(slot)]);
        if (k < static_cast<int>(path.thresholds.size()))
            m_plot->graph(1)->addData(k, std::min(path.thresholds[static_cast<std::size_t>(k)], 1.0f));
        if (left && slot >= 0) m_plot->graph(2)->addData(k, path.confidences[static_cast<std::size_t>(slot)]);
    }
    for (int c = 0; c < ColumnCount; ++c)
        if (c != Top3Column) m_table->resizeColumnToContents(c);
    m_plot->xAxis->setRange(-0.5, K - 0.5);
    m_plottedTitle.clear();  // the next trace refresh lays the plot out again
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    m_caption->clear();
}

void ImageInspector::refresh() {
    if (m_explorer->liveResult()) {
        refreshLive();
        return;
    }
    const int n = m_explorer->selectedSample();
    const core::Trace* t = m_explorer->testTrace();
    const int K = m_explorer->numExits();
    for (int g = 0; g < m_plot->graphCount(); ++g) m_plot->graph(g)->data()->clear();
    if (!t || n < 0 || static_cast<std::size_t>(n) >= m_explorer->outcome().exitTaken.size()) {
        m_header->setText(QStringLiteral("Click an image in the gallery to see its path through the exits."));
        m_picture->setText(QStringLiteral("no image"));
        m_picture->setPixmap({});
        m_table->setRowCount(0);
        m_caption->clear();
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const auto s = static_cast<std::size_t>(n);
    const QStringList names = m_explorer->classNames();
    const int label = static_cast<int>(t->labels[s]);
    const int exitTaken = static_cast<int>(m_explorer->outcome().exitTaken[s]);
    const int answer = static_cast<int>(m_explorer->outcome().prediction[s]);
    const bool correct = answer == label;

    const QImage image = m_images->image(t->sampleIndex[s]);
    if (image.isNull()) {
        m_picture->setPixmap({});
        m_picture->setText(m_images->state() == DatasetImages::State::Loading ? QStringLiteral("loading...")
                                                                              : QStringLiteral("no image"));
    } else {
        m_picture->setPixmap(QPixmap::fromImage(image.scaled(kPictureSide, kPictureSide, Qt::KeepAspectRatio,
                                                             Qt::FastTransformation)));
    }
    m_header->setText(QStringLiteral("<b>Image %1</b> (row %2 of the test trace)<br>True class: <b>%3</b><br>"
                                     "Answer: <b>%4</b> at exit %5 of %6 &mdash; <span style='color:%7'>%8</span>")
                          .arg(t->sampleIndex[s])
                          .arg(n)
                          .arg(names.value(label).toHtmlEscaped(), names.value(answer).toHtmlEscaped())
                          .arg(exitTaken)
                          .arg(K - 1)
                          .arg(correct ? QStringLiteral("#2ca02c") : QStringLiteral("#d62728"),
                               correct ? QStringLiteral("correct") : QStringLiteral("wrong")));

    // Every number here comes from the decision API, so it is what the policy compared.
    const core::Decider& decider = *m_explorer->decider();
    const core::SampleDecision decision = m_explorer->decision(n);
    const QString scoreName = QString::fromStdString(decider.scoreName());
    const std::vector<float> thresholds = decider.boundaries();
    const bool gates = decider.rule() == core::DecisionRule::GateAbove;
    // Short enough for a narrow dock: the plot's title does not wrap.
    const QString scoreTitle = scoreName.left(1).toUpper() + scoreName.mid(1);
    m_plotTitle->setText(thresholds.empty()
                             ? QStringLiteral("%1 at each exit (nothing compared)").arg(scoreTitle)
                             : QStringLiteral("%1 at each exit; dashed: %2")
                                   .arg(scoreTitle, QString::fromStdString(decider.boundaryName())));
    m_plot->yAxis->setLabel(scoreTitle);
    if (QTableWidgetItem* head = m_table->horizontalHeaderItem(ConfidenceColumn);
        head && head->text() != scoreTitle)
        head->setText(scoreTitle);
    auto stepOf = [&](int k) -> const core::ExitStep* {
        for (const core::ExitStep& step : decision.steps)
            if (step.exit == k) return &step;
        return nullptr;
    };
    auto plotted = [&](int k) { return m_explorer->score(n, k); };
    const int shownExits = m_presenting ? m_step + 1 : K;
    bool textChanged = m_table->rowCount() != K;
    m_table->setRowCount(K);
    for (int k = 0; k < K; ++k) {
        const float* probs = t->probsOf(n, k);
        const std::vector<int> top = topClasses(probs, static_cast<int>(t->numClasses), 3);
        QStringList topText;
        for (int c : top) topText << QStringLiteral("%1 %2").arg(names.value(c)).arg(probs[c], 0, 'f', 2);
        const core::ExitStep* step = stepOf(k);
        const float score = m_explorer->score(n, k);
        QString decisionText = !step                 ? (k < exitTaken ? QStringLiteral("skipped") : QStringLiteral("not run"))
                               : step->leaves        ? QStringLiteral("leaves here")
                                                     : QStringLiteral("continues");
        if (step && step->compared)
            decisionText += QStringLiteral(" (%1 %2 %3)")
                                .arg(step->leaves ? QString::fromStdString(decider.comparison())
                                                  : (gates ? QStringLiteral("\u2264") : QStringLiteral("<")))
                                .arg(QString::fromStdString(decider.boundaryName()))
                                .arg(step->boundary, 0, 'f', 3);
        const bool shown = k < shownExits;
        const QStringList cells = {QString::number(k), shown ? names.value(top.front()) : QString(),
                                   shown ? QString::number(score, 'f', 3) : QString(),
                                   shown ? topText.join(QStringLiteral(", ")) : QString(), shown ? decisionText : QString()};
        for (int c = 0; c < ColumnCount; ++c) {
            QTableWidgetItem* item = m_table->item(k, c);
            if (!item) {
                item = new QTableWidgetItem;
                m_table->setItem(k, c, item);
            }
            if (item->text() != cells[c]) {
                item->setText(cells[c]);
                textChanged = true;
            }
            item->setBackground(k == exitTaken && shown ? QBrush(QColor(0xdf, 0xf0, 0xd8)) : QBrush());
            item->setForeground(k > exitTaken ? QBrush(QColor(0x90, 0x90, 0x90)) : QBrush());
        }
        if (shown && !(gates && k + 1 == K)) m_plot->graph(0)->addData(k, plotted(k));
        if (k < static_cast<int>(thresholds.size())) m_plot->graph(1)->addData(k, std::min(thresholds[static_cast<std::size_t>(k)], 1.0f));
    }
    if (exitTaken < shownExits && !(gates && exitTaken + 1 == K)) m_plot->graph(2)->addData(exitTaken, plotted(exitTaken));
    // Measuring every cell is costly with many exits; only new text can need new widths.
    for (int c = 0; textChanged && c < ColumnCount; ++c) {
        if (c != Top3Column) m_table->resizeColumnToContents(c);
    }
    if (m_plot->xAxis->range() == QCPRange(-0.5, K - 0.5) && m_plotTitle->text() == m_plottedTitle) {
        m_plot->layer(QStringLiteral("curves"))->replot();
    } else {
        m_plot->xAxis->setRange(-0.5, K - 0.5);
        QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
        // Every exit numbered up to 16 exits, then every 2nd, 4th, ...: 32 numbers do not fit.
        ticker->setTickStep(std::ceil(K / 16.0));
        m_plot->xAxis->setTicker(ticker);
        m_plottedTitle = m_plotTitle->text();
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    }
    updateCaption();
}

void ImageInspector::updateCaption() {
    const int n = m_explorer->selectedSample();
    const core::Trace* t = m_explorer->testTrace();
    if (!m_presenting || !t || n < 0) {
        m_caption->clear();
        return;
    }
    const int k = m_step;
    const QStringList names = m_explorer->classNames();
    const int exitTaken = static_cast<int>(m_explorer->outcome().exitTaken[static_cast<std::size_t>(n)]);
    const float* probs = t->probsOf(n, k);
    const int best = topClasses(probs, static_cast<int>(t->numClasses), 1).front();
    const core::Decider& decider = *m_explorer->decider();
    const core::SampleDecision decision = m_explorer->decision(n);
    const core::ExitStep* step = nullptr;
    for (const core::ExitStep& s : decision.steps)
        if (s.exit == k) step = &s;
    const QString className = names.value(best);
    QString text = QStringLiteral("Exit %1: it looks like %2 %3 (%4 %5")
                       .arg(k)
                       .arg(indefiniteArticle(className), className,
                            QString::fromStdString(decider.scoreName()))
                       .arg(m_explorer->score(n, k), 0, 'f', 2);
    if (step && step->compared) {
        text += QStringLiteral(", leaves %1 %2").arg(decider.rule() == core::DecisionRule::GateAbove
                                                         ? QStringLiteral("above")
                                                         : QStringLiteral("at"))
                    .arg(step->boundary, 0, 'f', 2);
    }
    text += QStringLiteral(") ");
    if (step && !step->leaves) {
        text += decider.rule() == core::DecisionRule::GateAbove
                    ? QStringLiteral("\u2192 the gate sends it on to the next exit.")
                    : QStringLiteral("\u2192 not sure enough, on to the next exit.");
    } else if (k == exitTaken) {
        text += best == t->labels[static_cast<std::size_t>(n)] ? QStringLiteral("\u2192 leaves here, correctly.")
                                                                : QStringLiteral("\u2192 leaves here, but wrongly.");
    } else if (k < exitTaken) {
        text += QStringLiteral("(skipped: the policy takes exit %1).").arg(exitTaken);
    } else {
        text += QStringLiteral("(never reached: the image has already left).");
    }
    m_caption->setText(text);
    m_prev->setEnabled(k > 0);
    m_next->setEnabled(k + 1 < m_explorer->numExits());
}

} // namespace exitscope::widgets
