#pragma once

#include <QGroupBox>
#include <QString>

class QLabel;

namespace exitscope::core {
struct ModelSpec;
}

namespace exitscope::widgets {

class KeyValueForm;

/// Shows which model weights are loaded: zoo name, data set, input shape,
/// classes, construction options and weights hash, read from a checkpoint's
/// spec. Before any weights are loaded it shows a message instead.
class ModelSummary : public QGroupBox {
    Q_OBJECT

public:
    explicit ModelSummary(QWidget* parent = nullptr);

    /// Shows `spec`, read from the checkpoint at `path`.
    void setSpec(const core::ModelSpec& spec, const QString& path);
    /// Forgets the shown spec and shows `message` instead.
    void showMessage(const QString& message);

    bool hasSpec() const { return m_hasSpec; }
    QString weightsHash() const;
    /// The full value shown for a field ("model", "dataset", "input",
    /// "classes", "options", "weights_hash", "file"), or a null QString.
    QString value(const QString& key) const;

private:
    KeyValueForm* m_form;
    QLabel* m_message;
    bool m_hasSpec = false;
};

} // namespace exitscope::widgets
