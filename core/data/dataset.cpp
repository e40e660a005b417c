#include "core/data/dataset.h"

#include "core/common/error.h"

namespace exitscope::core {

SplitKind parseSplitKind(const std::string& text) {
    if (text == "train") return SplitKind::Train;
    if (text == "val") return SplitKind::Val;
    if (text == "test") return SplitKind::Test;
    throw Error("unknown split '" + text + "' (expected train, val or test)");
}

std::string toString(SplitKind kind) {
    switch (kind) {
    case SplitKind::Train: return "train";
    case SplitKind::Val: return "val";
    case SplitKind::Test: return "test";
    }
    return "unknown";
}

} // namespace exitscope::core
