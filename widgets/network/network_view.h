#pragma once

#include "widgets/common/sample_path.h"

#include <QMetaType>
#include <QPixmap>
#include <QRectF>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <vector>

namespace exitscope::core {
struct Trace;
}

namespace exitscope::widgets {

/// One scale of an MSDNet block: its feature maps leaving the block.
struct ScaleShape {
    int scale = 0;  ///< 0 = finest (input resolution)
    int64_t channels = 0, height = 0, width = 0;
};

/// The scales each block of an MSDNet trace holds, from the model_spec
/// options in its metadata; empty when the trace is not an MSDNet or the
/// shapes disagree with the measured block_out_bytes (so a changed
/// architecture turns the drawing of scales off instead of showing wrong ones).
std::vector<std::vector<ScaleShape>> msdnetScales(const core::Trace& trace);

/// The blocks and exits of a multi-exit model as a diagram: blocks as boxes
/// along the backbone (width grows with the block's MACs), each exit head
/// hanging below the block it follows, MSDNet's scales as stacked maps
/// (dropped scales dashed). Hovering a block or exit shows its MACs,
/// parameters and output bytes. For a selected image it draws its path:
/// blocks run, exits evaluated with their confidence against the
/// threshold, the exit it took and its answer; with a split, which side
/// (device or server) ran each block; a live path gets a "LIVE" badge.
/// A legend at the bottom explains the colours.
class NetworkView : public QWidget {
    Q_OBJECT

public:
    explicit NetworkView(QWidget* parent = nullptr);

    /// Shows the model of `trace` (its blocks, exits, costs, metadata); clears the path.
    void setModel(const core::Trace& trace);
    void clearModel();
    /// Shows an image's path; an invalid path (exitTaken < 0) clears it.
    void setPath(const SamplePath& path);
    void clearPath();
    /// The split of the current design: blocks [0, n) on the device; -1 none.
    void setSplit(int64_t blocksOnDevice);

    bool hasModel() const { return m_numBlocks > 0; }
    const SamplePath& path() const { return m_path; }
    int64_t split() const { return m_split; }
    /// The split drawn: the path's own when it has one, else setSplit's.
    int64_t effectiveSplit() const;

    /// Geometry of the last layout (widget coordinates), for hit tests and tests.
    QRectF blockRect(int64_t block) const;
    QRectF exitRect(int64_t exit) const;
    /// The scale boxes of a block (empty without MSDNet scales).
    std::vector<QRectF> scaleRects(int64_t block) const;
    int64_t numBlocks() const { return m_numBlocks; }
    int64_t numExits() const { return static_cast<int64_t>(m_exitBlock.size()); }

    /// What lies under `pos`.
    struct Hit {
        enum Kind { None, Block, Exit } kind = None;
        int64_t index = -1;
    };
    Hit hitTest(const QPointF& pos) const;
    /// The tooltip text shown at `pos` (empty over nothing).
    QString toolTipAt(const QPointF& pos) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    bool event(QEvent* e) override;
    void changeEvent(QEvent* e) override;
    void paintEvent(QPaintEvent* e) override;
    void resizeEvent(QResizeEvent* e) override;

private:
    void layoutDiagram();
    void paintDiagram(class QPainter& p) const;
    void paintThresholdMarks(class QPainter& p) const;
    QRectF gaugeRect(std::size_t exit) const;
    void paintLegend(class QPainter& p, const QRectF& area) const;
    QString blockToolTip(int64_t b) const;
    QString exitToolTip(int64_t k) const;
    QString className(int64_t c) const;
    QString headline() const;
    bool blockRan(int64_t b) const;
    int64_t evaluatedSlot(int64_t k) const;

    // Plain copies of what the diagram needs from the trace.
    int64_t m_numBlocks = 0;
    QString m_modelName;
    QString m_inputShape;
    QStringList m_classNames;
    std::vector<int64_t> m_blockMacs, m_blockParams, m_blockOutBytes;
    std::vector<float> m_blockMs;
    std::vector<uint8_t> m_blockRelu;
    std::vector<int64_t> m_exitBlock, m_headMacs, m_headParams, m_exitMacs, m_exitParams;
    std::vector<float> m_exitMs, m_headMs;
    std::vector<double> m_exitAccuracy;
    std::vector<std::vector<ScaleShape>> m_scales;

    SamplePath m_path;
    int64_t m_split = -1;

    // Layout.
    QRectF m_inputRect, m_outputRect, m_diagramRect, m_legendRect;
    double m_gap = 14.0;  ///< between blocks, smaller when many blocks must fit
    std::vector<QRectF> m_blockRects, m_exitRects;
    std::vector<std::vector<QRectF>> m_scaleRects;

    // The diagram without the threshold marks (see paintEvent).
    QPixmap m_cache;
    bool m_cacheValid = false;
};

} // namespace exitscope::widgets

