#include <QApplication>

#include <gtest/gtest.h>

// Widgets need a QApplication, so this suite has its own main instead of
// gtest_main. Test discovery runs the binary at build time without the test
// environment, hence the offscreen default here.
int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
