#include "core/data/class_match.h"

#include "core/common/error.h"

#include <map>

namespace exitscope::core {

namespace {

/// "'a', 'b', 'c'" for at most `most` names, then "... (N in all)".
std::string listOf(const std::vector<std::string>& names, std::size_t most = 12) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < most; ++i) out += (i ? ", '" : "'") + names[i] + "'";
    if (names.size() > most) out += ", ... (" + std::to_string(names.size()) + " in all)";
    return out.empty() ? "none" : out;
}

/// A class name as a folder can hold it: lower case, and every run of '/',
/// '\\', '_', '-' and spaces as one '_' ("T-shirt/top" and "t-shirt_top"
/// meet as "t_shirt_top").
std::string folderForm(const std::string& name) {
    std::string out;
    for (char c : name) {
        const bool sep = c == '/' || c == '\\' || c == '_' || c == '-' || c == ' ';
        if (sep) {
            if (!out.empty() && out.back() != '_') out += '_';
        } else {
            out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
    return out;
}

/// The model class of every data-set class, by exact name, else by folder
/// form; empty when a class has no partner or two share one.
std::vector<int64_t> byName(const std::vector<std::string>& dataClasses, const std::vector<std::string>& modelClasses,
                            bool& exact) {
    exact = true;
    std::map<std::string, int64_t> exactIndex, formIndex;
    std::map<std::string, int> formCount;
    for (std::size_t k = 0; k < modelClasses.size(); ++k) {
        exactIndex.emplace(modelClasses[k], static_cast<int64_t>(k));
        formIndex.emplace(folderForm(modelClasses[k]), static_cast<int64_t>(k));
        ++formCount[folderForm(modelClasses[k])];
    }
    std::vector<int64_t> toModel;
    std::vector<bool> taken(modelClasses.size(), false);
    for (const auto& name : dataClasses) {
        int64_t k = -1;
        if (auto it = exactIndex.find(name); it != exactIndex.end()) {
            k = it->second;
        } else if (auto f = formIndex.find(folderForm(name)); f != formIndex.end() && formCount[f->first] == 1) {
            k = f->second;
            exact = false;
        }
        if (k < 0 || taken[static_cast<std::size_t>(k)]) return {};
        taken[static_cast<std::size_t>(k)] = true;
        toModel.push_back(k);
    }
    return toModel;
}

void renumber(ImageSet& images, const std::vector<int64_t>& toModel, const std::vector<std::string>& modelClasses) {
    for (auto& label : images.labels) {
        if (label < 0 || static_cast<std::size_t>(label) >= toModel.size())
            throw Error(images.name + ": label " + std::to_string(label) + " has no class name");
        label = toModel[static_cast<std::size_t>(label)];
    }
    images.classNames = modelClasses;
}

} // namespace

ClassMatch matchClassesToModel(Dataset& data, const std::vector<std::string>& modelClasses, bool byOrder,
                               std::string& note) {
    note.clear();
    const std::vector<std::string> dataClasses = data.testImages.classNames;
    if (data.trainImages.classNames != dataClasses)
        throw Error(data.name + ": its train and test images name different classes");
    if (dataClasses == modelClasses) return ClassMatch::Same;

    const std::string counts = data.name + " has " + std::to_string(dataClasses.size()) + " classes (" +
                               listOf(dataClasses) + "), the model " + std::to_string(modelClasses.size()) + " (" +
                               listOf(modelClasses) + ")";
    if (dataClasses.size() != modelClasses.size()) throw Error(counts + ": the labels cannot fit the model");

    bool exact = true;
    std::vector<int64_t> toModel = byName(dataClasses, modelClasses, exact);
    if (!toModel.empty()) {
        renumber(data.trainImages, toModel, modelClasses);
        renumber(data.testImages, toModel, modelClasses);
        note = data.name + (exact ? ": the model's classes in another order; labels mapped by name"
                                  : ": the model's classes under folder-safe names (case, '/', '_', '-' and spaces "
                                    "aside); labels mapped by name");
        return ClassMatch::ByName;
    }
    if (!byOrder)
        throw Error(counts + ": the names differ (--classes-by-order takes the data set's classes in their order)");
    for (std::size_t k = 0; k < dataClasses.size(); ++k) toModel.push_back(static_cast<int64_t>(k));
    renumber(data.trainImages, toModel, modelClasses);
    renumber(data.testImages, toModel, modelClasses);
    note = data.name + ": classes taken in order as the model's (--classes-by-order): " + listOf(dataClasses) +
           " as " + listOf(modelClasses);
    return ClassMatch::ByOrder;
}

} // namespace exitscope::core
