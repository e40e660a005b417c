#include "widgets/network/network_view.h"

#include "widgets/network/network_view_style.h"

#include "core/common/error.h"
#include "core/policy/confidence.h"
#include "core/trace/trace.h"

#include <QEvent>
#include <QHelpEvent>
#include <QLocale>
#include <QToolTip>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace exitscope::widgets {

using namespace network_style;


std::vector<std::vector<ScaleShape>> msdnetScales(const core::Trace& trace) {
    // The trace records only each block's total output bytes; the scales come
    // from the construction options (core/model/msdnet.cpp), and are shown
    // only when they add up to the measured bytes of every block.
    const auto model = trace.metadata.find("model");
    const auto specText = trace.metadata.find("model_spec");
    if (model == trace.metadata.end() || model->second != "msdnet" || specText == trace.metadata.end()) return {};
    const auto spec = nlohmann::json::parse(specText->second, nullptr, false);
    if (spec.is_discarded() || !spec.contains("options") || !spec.contains("input_shape")) return {};
    try {
        const auto& o = spec["options"];
        const auto shape = spec["input_shape"].get<std::vector<int64_t>>();
        const int64_t blocks = o.at("blocks").get<int64_t>(), base = o.at("base_channels").get<int64_t>();
        const int64_t growth = o.at("growth").get<int64_t>(), layers = o.at("layers_per_block").get<int64_t>();
        if (shape.size() != 3 || blocks != trace.numBlocks || blocks < 3) return {};
        constexpr int64_t kScales = 3;
        int64_t h[kScales], w[kScales], channels[kScales];
        h[0] = shape[1];
        w[0] = shape[2];
        for (int s = 1; s < kScales; ++s) {  // 3x3 conv, stride 2, padding 1
            h[s] = (h[s - 1] + 1) / 2;
            w[s] = (w[s - 1] + 1) / 2;
        }
        for (int s = 0; s < kScales; ++s) channels[s] = base << s;
        std::vector<std::vector<ScaleShape>> out;
        for (int64_t b = 0; b < blocks; ++b) {
            const int64_t finest = std::min<int64_t>(kScales - 1, b * kScales / blocks);
            std::vector<ScaleShape> held;
            int64_t bytes = 0;
            for (int64_t s = finest; s < kScales; ++s) {
                channels[s] += layers * (growth << s);
                held.push_back({static_cast<int>(s), channels[s], h[s], w[s]});
                bytes += 4 * channels[s] * h[s] * w[s];
            }
            if (sz(b) >= trace.blockOutBytes.size() || bytes != trace.blockOutBytes[sz(b)]) return {};
            out.push_back(held);
        }
        return out;
    } catch (const nlohmann::json::exception&) {
        return {};
    }
}

NetworkView::NetworkView(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMinimumSize(minimumSizeHint());
}

QSize NetworkView::sizeHint() const { return {900, 380}; }
QSize NetworkView::minimumSizeHint() const { return {480, 300}; }

void NetworkView::setModel(const core::Trace& trace) {
    m_numBlocks = trace.numBlocks;
    const auto get = [&](const char* key) {
        const auto it = trace.metadata.find(key);
        return it == trace.metadata.end() ? QString() : QString::fromStdString(it->second);
    };
    m_modelName = get("model");
    m_inputShape.clear();
    m_classNames.clear();
    const auto spec = nlohmann::json::parse(get("model_spec").toStdString(), nullptr, false);
    if (!spec.is_discarded() && spec.is_object()) {
        if (spec.contains("input_shape") && spec["input_shape"].is_array()) {
            QStringList dims;
            for (const auto& d : spec["input_shape"]) dims << QString::number(d.get<int64_t>());
            m_inputShape = dims.join(QStringLiteral("\u00d7"));
        }
        if (spec.contains("class_names") && spec["class_names"].is_array())
            for (const auto& c : spec["class_names"]) m_classNames << QString::fromStdString(c.get<std::string>());
    }
    m_blockMacs = trace.blockMacs;
    m_blockParams = trace.blockParams;
    m_blockOutBytes = trace.blockOutBytes;
    m_blockMs = trace.blockMs;
    m_blockRelu = trace.blockRelu;
    m_exitBlock = trace.exitBlock;
    m_headMacs = trace.headMacs;
    m_headParams = trace.headParams;
    m_exitMacs = trace.exitMacs;
    m_exitParams = trace.exitParams;
    m_exitMs = trace.exitMs;
    m_headMs = trace.headMs;
    m_exitAccuracy = trace.numSamples > 0 ? core::perExitAccuracy(trace) : std::vector<double>{};
    m_scales = msdnetScales(trace);
    // Keep every per-block array the right size even for a sparse trace.
    for (auto* v : {&m_blockMacs, &m_blockParams, &m_blockOutBytes}) v->resize(sz(m_numBlocks), 0);
    m_blockMs.resize(sz(m_numBlocks), 0.0f);
    m_blockRelu.resize(sz(m_numBlocks), 0);
    const std::size_t K = m_exitBlock.size();
    for (auto* v : {&m_headMacs, &m_headParams, &m_exitMacs, &m_exitParams}) v->resize(K, 0);
    m_exitMs.resize(K, 0.0f);
    m_headMs.resize(K, 0.0f);
    m_path = SamplePath{};
    layoutDiagram();
    update();
}

void NetworkView::clearModel() {
    m_numBlocks = 0;
    m_exitBlock.clear();
    m_scales.clear();
    m_path = SamplePath{};
    layoutDiagram();
    update();
}

namespace {

/// Equal but for the thresholds, which are drawn over the cached picture.
bool samePathDrawing(const SamplePath& a, const SamplePath& b) {
    return a.exitsEvaluated == b.exitsEvaluated && a.confidences == b.confidences && a.exitTaken == b.exitTaken &&
           a.predicted == b.predicted && a.label == b.label && a.blocksOnDevice == b.blocksOnDevice &&
           a.live == b.live && a.title == b.title && a.thresholds.empty() == b.thresholds.empty();
}

} // namespace

void NetworkView::setPath(const SamplePath& path) {
    const SamplePath shown = path.isValid() && path.exitTaken < numExits() ? path : SamplePath{};
    if (!samePathDrawing(shown, m_path)) m_cacheValid = false;
    m_path = shown;
    update();
}

void NetworkView::clearPath() {
    m_path = SamplePath{};
    m_cacheValid = false;
    update();
}

void NetworkView::setSplit(int64_t blocksOnDevice) {
    m_split = blocksOnDevice < 0 ? -1 : std::min(blocksOnDevice, m_numBlocks);
    m_cacheValid = false;
    update();
}

void NetworkView::changeEvent(QEvent* e) {
    // Fonts, palette and style are part of the picture.
    m_cacheValid = false;
    QWidget::changeEvent(e);
}

int64_t NetworkView::effectiveSplit() const {
    if (m_path.isValid() && m_path.blocksOnDevice >= 0) return std::min(m_path.blocksOnDevice, m_numBlocks);
    return m_split;
}

QRectF NetworkView::blockRect(int64_t b) const {
    return b >= 0 && sz(b) < m_blockRects.size() ? m_blockRects[sz(b)] : QRectF();
}

QRectF NetworkView::exitRect(int64_t k) const {
    return k >= 0 && sz(k) < m_exitRects.size() ? m_exitRects[sz(k)] : QRectF();
}

std::vector<QRectF> NetworkView::scaleRects(int64_t b) const {
    return b >= 0 && sz(b) < m_scaleRects.size() ? m_scaleRects[sz(b)] : std::vector<QRectF>{};
}

void NetworkView::resizeEvent(QResizeEvent* e) {
    QWidget::resizeEvent(e);
    layoutDiagram();
}

void NetworkView::layoutDiagram() {
    m_cacheValid = false;
    m_blockRects.clear();
    m_exitRects.clear();
    m_scaleRects.clear();
    const QRectF all = QRectF(rect()).adjusted(kMargin, kMargin, -kMargin, -kMargin);
    m_legendRect = QRectF(all.left(), all.bottom() - kLegend, all.width(), kLegend);
    m_diagramRect = QRectF(all.left(), all.top() + kHeadline, all.width(), all.height() - kHeadline - kLegend - 6);
    if (m_numBlocks <= 0) return;

    const double B = static_cast<double>(m_numBlocks);
    const double top = m_diagramRect.top() + 22;  // room for the device / server labels
    const double blockH = std::max(60.0, m_diagramRect.height() * 0.5);
    m_inputRect = QRectF(m_diagramRect.left(), top + blockH / 2 - 22, kInputWidth, 44);
    // Many blocks (32 exits) shrink the gaps and the narrowest block alike,
    // so that the whole network stays in view.
    const double room = m_diagramRect.right() - m_inputRect.right();
    const double shrink = std::min(1.0, room / (B * kGap + B * kMinBlock));
    m_gap = kGap * shrink;
    const double minBlock = kMinBlock * shrink;
    const double x0 = m_inputRect.right() + m_gap;
    const double free = std::max(0.0, m_diagramRect.right() - x0 - (B - 1) * m_gap - B * minBlock);
    const double macsSum = std::accumulate(m_blockMacs.begin(), m_blockMacs.end(), 0.0);
    double x = x0;
    for (int64_t b = 0; b < m_numBlocks; ++b) {
        const double share = macsSum > 0 ? static_cast<double>(m_blockMacs[sz(b)]) / macsSum : 1.0 / B;
        const double w = minBlock + free * share;
        m_blockRects.emplace_back(x, top, w, blockH);
        x += w + m_gap;
    }
    // MSDNet: one row per scale, finest on top; a row stays (dashed) where the scale was dropped.
    if (!m_scales.empty()) {
        for (int64_t b = 0; b < m_numBlocks; ++b) {
            const QRectF r = m_blockRects[sz(b)].adjusted(3, 18, -3, -3);
            const double rowH = r.height() / 3.0;
            std::vector<QRectF> rows;
            for (int s = 0; s < 3; ++s) rows.emplace_back(r.left(), r.top() + s * rowH + 1, r.width(), rowH - 2);
            m_scaleRects.push_back(rows);
        }
    }
    // Exit heads below their block; several heads after one block share its width.
    const double exitTop = top + blockH + 26;
    const double exitH = std::max(46.0, std::min(64.0, m_diagramRect.bottom() - exitTop));
    const std::size_t K = m_exitBlock.size();
    for (std::size_t k = 0; k < K; ++k) {
        const int64_t b = std::clamp<int64_t>(m_exitBlock[k], 0, m_numBlocks - 1);
        int64_t first = static_cast<int64_t>(k), n = 0;
        while (first > 0 && m_exitBlock[sz(first - 1)] == m_exitBlock[k]) --first;
        for (std::size_t j = sz(first); j < K && m_exitBlock[j] == m_exitBlock[k]; ++j) ++n;
        const QRectF& br = m_blockRects[sz(b)];
        const double slot = br.width() / static_cast<double>(n);
        const double w = std::min(slot - 4, 110.0);
        const double cx = br.left() + slot * (static_cast<double>(static_cast<int64_t>(k) - first) + 0.5);
        m_exitRects.emplace_back(cx - w / 2, exitTop, w, exitH);
    }
}

NetworkView::Hit NetworkView::hitTest(const QPointF& pos) const {
    for (std::size_t k = 0; k < m_exitRects.size(); ++k)
        if (m_exitRects[k].contains(pos)) return {Hit::Exit, static_cast<int64_t>(k)};
    for (std::size_t b = 0; b < m_blockRects.size(); ++b)
        if (m_blockRects[b].contains(pos)) return {Hit::Block, static_cast<int64_t>(b)};
    return {};
}

QString NetworkView::toolTipAt(const QPointF& pos) const {
    const Hit hit = hitTest(pos);
    if (hit.kind == Hit::Block) return blockToolTip(hit.index);
    if (hit.kind == Hit::Exit) return exitToolTip(hit.index);
    return {};
}

bool NetworkView::event(QEvent* e) {
    if (e->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(e);
        const QString text = toolTipAt(help->pos());
        if (text.isEmpty()) {
            QToolTip::hideText();
            e->ignore();
        } else {
            QToolTip::showText(help->globalPos(), text, this);
        }
        return true;
    }
    return QWidget::event(e);
}

QString NetworkView::className(int64_t c) const {
    if (c >= 0 && c < m_classNames.size()) return m_classNames[static_cast<int>(c)];
    return QStringLiteral("class %1").arg(c);
}

QString NetworkView::blockToolTip(int64_t b) const {
    const double total = std::accumulate(m_blockMacs.begin(), m_blockMacs.end(), 0.0);
    const auto i = sz(b);
    QStringList lines{QStringLiteral("<b>Block %1</b>").arg(b)};
    lines << QStringLiteral("MACs: %1 (%2, %3% of the backbone)")
                 .arg(exact(m_blockMacs[i]), count(static_cast<double>(m_blockMacs[i])))
                 .arg(total > 0 ? 100.0 * static_cast<double>(m_blockMacs[i]) / total : 0.0, 0, 'f', 1);
    lines << QStringLiteral("Parameters: %1 (%2)")
                 .arg(exact(m_blockParams[i]), count(static_cast<double>(m_blockParams[i])));
    lines << QStringLiteral("Output: %1 bytes per image (fp32 state leaving the block)").arg(exact(m_blockOutBytes[i]));
    lines << QStringLiteral("Time on the profiling machine: %1 ms").arg(m_blockMs[i], 0, 'f', 3);
    if (i < m_scales.size()) {
        QStringList held;
        for (const ScaleShape& s : m_scales[i])
            held << QStringLiteral("scale %1: %2\u00d7%3\u00d7%4").arg(s.scale).arg(s.channels).arg(s.height).arg(s.width);
        lines << QStringLiteral("Scales held: ") + held.join(QStringLiteral(", "));
    }
    lines << (m_blockRelu[i] ? QStringLiteral("A split can follow this block (it ends in a ReLU).")
                             : QStringLiteral("Not a split candidate (no ReLU at its end)."));
    const int64_t split = effectiveSplit();
    if (split >= 0) lines << (b < split ? QStringLiteral("Runs on the device.") : QStringLiteral("Runs on the server."));
    if (m_path.isValid()) lines << (blockRan(b) ? QStringLiteral("Ran for the selected image.")
                                                : QStringLiteral("Not run: the selected image had already left."));
    return lines.join(QStringLiteral("<br>"));
}

QString NetworkView::exitToolTip(int64_t k) const {
    const auto i = sz(k);
    QStringList lines{QStringLiteral("<b>Exit %1</b>, after block %2").arg(k).arg(m_exitBlock[i])};
    lines << QStringLiteral("Head alone: %1 MACs (%2), %3 parameters, %4 ms")
                 .arg(exact(m_headMacs[i]), count(static_cast<double>(m_headMacs[i])), exact(m_headParams[i]))
                 .arg(m_headMs[i], 0, 'f', 3);
    lines << QStringLiteral("To reach it (blocks and earlier heads): %1 MACs, %2 parameters, %3 ms")
                 .arg(count(static_cast<double>(m_exitMacs[i])), count(static_cast<double>(m_exitParams[i])))
                 .arg(m_exitMs[i], 0, 'f', 3);
    if (i < m_exitAccuracy.size() && std::isfinite(m_exitAccuracy[i]))
        lines << QStringLiteral("Accuracy if every image left here: %1%").arg(100.0 * m_exitAccuracy[i], 0, 'f', 2);
    const int64_t slot = evaluatedSlot(k);
    if (slot >= 0) {
        QString line = QStringLiteral("Selected image: ") + stepText(m_path, sz(slot));
        if (k == m_path.exitTaken) line += QStringLiteral(" and answered %1").arg(className(m_path.predicted));
        lines << line.toHtmlEscaped();
    }
    return lines.join(QStringLiteral("<br>"));
}

bool NetworkView::blockRan(int64_t b) const {
    if (!m_path.isValid()) return true;
    return b <= m_exitBlock[sz(m_path.exitTaken)];
}

int64_t NetworkView::evaluatedSlot(int64_t k) const {
    if (!m_path.isValid()) return -1;
    for (std::size_t j = 0; j < m_path.exitsEvaluated.size() && j < m_path.confidences.size(); ++j)
        if (m_path.exitsEvaluated[j] == k) return static_cast<int64_t>(j);
    return -1;
}

QString NetworkView::headline() const {
    if (!hasModel()) return QStringLiteral("No model loaded: open a trace to see its blocks and exits.");
    QString first = QStringLiteral("%1 \u00b7 %2 blocks \u00b7 %3 exits")
                        .arg(m_modelName.isEmpty() ? QStringLiteral("model") : m_modelName)
                        .arg(m_numBlocks)
                        .arg(numExits());
    if (!m_inputShape.isEmpty()) first += QStringLiteral(" \u00b7 input %1").arg(m_inputShape);
    first += QStringLiteral(" \u2014 hover a block or an exit for its cost");
    if (!m_path.isValid()) return first + QStringLiteral("\nSelect an image to see the way it takes through the network.");
    const int64_t k = m_path.exitTaken;
    const int64_t slot = evaluatedSlot(k);
    QString second = m_path.title.isEmpty() ? QStringLiteral("Selected image") : m_path.title;
    second += QStringLiteral(": left at exit %1").arg(k);
    if (slot >= 0) second += QStringLiteral(" (%1 %2)").arg(m_path.scoreName).arg(m_path.confidences[sz(slot)], 0, 'f', 2);
    second += QStringLiteral(" \u2192 %1").arg(className(m_path.predicted));
    if (m_path.label >= 0)
        second += m_path.label == m_path.predicted ? QStringLiteral(" \u2714 correct")
                                                   : QStringLiteral(" \u2718 label %1").arg(className(m_path.label));
    const int64_t split = effectiveSplit();
    if (split == 0) second += QStringLiteral(" \u00b7 all blocks on the server");
    else if (split >= m_numBlocks) second += QStringLiteral(" \u00b7 all blocks on the device");
    else if (split > 0) second += QStringLiteral(" \u00b7 blocks 0\u2013%1 on the device, the rest on the server").arg(split - 1);
    return first + QLatin1Char('\n') + second;
}

} // namespace exitscope::widgets
