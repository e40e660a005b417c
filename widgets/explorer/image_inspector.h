#pragma once

#include <QImage>
#include <QList>
#include <QStringList>
#include <QWidget>

class QCPTextElement;
class QCustomPlot;
class QHBoxLayout;
class QLabel;
class QPushButton;
class QTableWidget;

namespace exitscope::widgets {

class DatasetImages;
class Explorer;

/// One image up close: the image enlarged with its true class, and for every
/// exit the class predicted there, the policy's confidence, the top-3 classes
/// and whether the image left there; a plot of confidence per exit with the
/// threshold(s) drawn and the exit taken marked. In presentation mode a
/// Prev/Next walk reveals one exit at a time with a large caption.
class ImageInspector : public QWidget {
    Q_OBJECT

public:
    QSize sizeHint() const override { return {540, 470}; }
    ImageInspector(Explorer* explorer, DatasetImages* images, QWidget* parent = nullptr);
    ~ImageInspector() override;

    /// Larger fonts and the step-by-step walk through the exits.
    void setPresentationMode(bool on);
    bool presentationMode() const { return m_presenting; }
    /// The exit the walk has reached (presentation mode).
    int step() const { return m_step; }
    void nextStep();
    void previousStep();
    /// The caption of the current step.
    QString caption() const;
    /// The header line ("Image 17: true class Coat, ...").
    QString headerText() const;
    /// The table's text at (exit, column), for tests.
    QString cellText(int exit, int column) const;
    /// Saves the confidence plot as PNG or PDF (by suffix); false with `error` set on failure.
    bool savePlot(const QString& path, QString* error) const;
    QWidget* plotWidget() const;

    /// What each exit saw (Grad-CAM overlays, one per exit reached, with
    /// their captions) for the selected sample `row`; shown until the
    /// selection or the live result changes.
    void setAttention(int row, const QList<QImage>& overlays, const QStringList& captions);
    /// How many overlays are shown (0 when none is, or they were for another sample).
    int attentionCount() const { return static_cast<int>(m_attention.size()); }

signals:
    /// The user asked what each exit of the selected sample saw (the app
    /// computes it with the real network, off the GUI thread).
    void explainRequested();

private:
    void clearAttention();
    void showAttention();
    void refresh();
    /// Shows the explorer's live result (an image run through the real network).
    void refreshLive();
    void updateCaption();

    Explorer* m_explorer;
    DatasetImages* m_images;
    QLabel* m_picture;
    QLabel* m_header;
    QCustomPlot* m_plot;
    QCPTextElement* m_plotTitle;
    QString m_plottedTitle;  ///< the title at the last full replot
    QTableWidget* m_table;
    QWidget* m_walk;
    QLabel* m_caption;
    QPushButton* m_prev;
    QPushButton* m_next;
    bool m_presenting = false;
    int m_step = 0;
    QWidget* m_attentionBox;
    QLabel* m_attentionNote;
    QHBoxLayout* m_attentionRow;
    QList<QImage> m_attention;
    QStringList m_attentionCaptions;
};

} // namespace exitscope::widgets
