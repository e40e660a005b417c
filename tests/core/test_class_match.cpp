// Class folders against a model's class names (core::matchClassesToModel):
// renumbered by name, refused with both lists, or taken in order on request.
// Every expected label is worked out from the names by hand.
#include "core/common/error.h"
#include "core/data/class_match.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace exitscope::core;

namespace {

const std::vector<std::string> kModel = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// A data set whose class k is `names[k]`, with one train and one test image per class, labelled k.
Dataset dataWith(const std::vector<std::string>& names) {
    Dataset d;
    d.name = "folder";
    for (ImageSet* s : {&d.trainImages, &d.testImages}) {
        s->classNames = names;
        s->channels = s->height = s->width = 1;
        for (std::size_t k = 0; k < names.size(); ++k) {
            s->labels.push_back(static_cast<int64_t>(k));
            s->pixels.push_back(static_cast<uint8_t>(k));
        }
    }
    return d;
}

std::string errorOf(Dataset d, const std::vector<std::string>& model, bool byOrder = false) {
    std::string note;
    try {
        matchClassesToModel(d, model, byOrder, note);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST(ClassMatch, TheSameClassesChangeNothing) {
    Dataset d = dataWith(kModel);
    std::string note = "stale";
    EXPECT_EQ(matchClassesToModel(d, kModel, false, note), ClassMatch::Same);
    EXPECT_TRUE(note.empty());
    EXPECT_EQ(d.testImages.labels, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(ClassMatch, FoldersInNameOrderAreMappedByName) {
    // Folders sort by name: "Ankle boot" (model class 9) comes first, then "Bag" (8), "Coat" (4), ...
    // "T-shirt/top" cannot be a folder name; "T-shirt_top" is its folder-safe form.
    const std::vector<std::string> folders = {"Ankle boot", "Bag",     "Coat",    "Dress",      "Pullover",
                                              "Sandal",     "Shirt",   "Sneaker", "T-shirt_top", "Trouser"};
    Dataset d = dataWith(folders);
    std::string note;
    EXPECT_EQ(matchClassesToModel(d, kModel, false, note), ClassMatch::ByName);
    const std::vector<int64_t> expected = {9, 8, 4, 3, 2, 5, 6, 7, 0, 1};
    EXPECT_EQ(d.trainImages.labels, expected);
    EXPECT_EQ(d.testImages.labels, expected);
    EXPECT_EQ(d.testImages.classNames, kModel);
    // Each image's pixel still says which folder it came from: its new label names that folder's class.
    for (std::size_t i = 0; i < d.testImages.size(); ++i)
        EXPECT_EQ(d.testImages.classNames[static_cast<std::size_t>(d.testImages.labels[i])],
                  folders[d.testImages.pixels[i]] == "T-shirt_top" ? "T-shirt/top" : folders[d.testImages.pixels[i]]);
    EXPECT_NE(note.find("mapped by name"), std::string::npos) << note;
}

TEST(ClassMatch, ExactNamesInAnotherOrderAreMappedByName) {
    Dataset d = dataWith({"b", "c", "a"});
    std::string note;
    EXPECT_EQ(matchClassesToModel(d, {"a", "b", "c"}, false, note), ClassMatch::ByName);
    EXPECT_EQ(d.testImages.labels, (std::vector<int64_t>{1, 2, 0}));
    EXPECT_NE(note.find("another order"), std::string::npos) << note;
}

TEST(ClassMatch, AnotherClassCountIsRefusedWithBothLists) {
    auto eleven = kModel;
    eleven.push_back("Hat");
    const auto e = errorOf(dataWith(eleven), kModel, true);
    EXPECT_NE(e.find("folder has 11 classes ('T-shirt/top', 'Trouser',"), std::string::npos) << e;
    EXPECT_NE(e.find("'Hat'), the model 10 ('T-shirt/top'"), std::string::npos) << e;
    EXPECT_NE(e.find("cannot fit the model"), std::string::npos) << e;
}

TEST(ClassMatch, OtherNamesStopUnlessTakenInOrder) {
    const std::vector<std::string> digits = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    const auto e = errorOf(dataWith(digits), kModel);
    EXPECT_NE(e.find("folder has 10 classes ('0', '1', '2'"), std::string::npos) << e;
    EXPECT_NE(e.find("the model 10 ('T-shirt/top', 'Trouser'"), std::string::npos) << e;
    EXPECT_NE(e.find("--classes-by-order"), std::string::npos) << e;

    Dataset d = dataWith(digits);
    std::string note;
    EXPECT_EQ(matchClassesToModel(d, kModel, true, note), ClassMatch::ByOrder);
    EXPECT_EQ(d.testImages.labels, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(d.testImages.classNames, kModel);
    EXPECT_NE(note.find("--classes-by-order"), std::string::npos) << note;
}

TEST(ClassMatch, AmbiguousFolderFormsAreNotGuessed) {
    // "a-b" and "a_b" are both "a_b" in folder form: "A B" could be either.
    const auto e = errorOf(dataWith({"A B", "c"}), {"a-b", "a_b"});
    EXPECT_NE(e.find("the names differ"), std::string::npos) << e;
    // Two folders may not take one class.
    const auto twice = errorOf(dataWith({"a b", "a_b"}), {"a-b", "c"});
    EXPECT_NE(twice.find("the names differ"), std::string::npos) << twice;
}
