// exactNumber: integers as integers, everything else reading back exactly.
#include "core/common/format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

using exitscope::core::exactNumber;
using exitscope::core::firstLineOf;
using exitscope::core::printable;
using exitscope::core::shortened;

TEST(ExactNumber, IntegersAreWrittenAsIntegers) {
    EXPECT_EQ(exactNumber(16494272.0), "16494272");
    EXPECT_EQ(exactNumber(2384900.0), "2384900");
    EXPECT_EQ(exactNumber(0.0), "0");
    EXPECT_EQ(exactNumber(-7.0), "-7");
    EXPECT_EQ(exactNumber(9007199254740992.0), "9007199254740992");
}

TEST(ExactNumber, FractionsAreTheShortestFormThatReadsBack) {
    EXPECT_EQ(exactNumber(0.1), "0.1");
    EXPECT_EQ(exactNumber(0.921), "0.921");
    EXPECT_EQ(exactNumber(2.5e-7), "2.5e-07");
    EXPECT_EQ(exactNumber(std::nan("")), "nan");
    EXPECT_EQ(exactNumber(std::numeric_limits<double>::infinity()), "inf");
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-1e9, 1e9);
    for (int i = 0; i < 10000; ++i) {
        const double v = u(rng) / (1 + (rng() % 1000));
        EXPECT_EQ(std::strtod(exactNumber(v).c_str(), nullptr), v) << exactNumber(v);
    }
}

// Messages quote names and values read from files: control characters are
// shown as escapes so that an error stays one line and cannot drive the
// terminal; UTF-8 text stays readable.
TEST(Printable, EscapesControlCharactersOnly) {
    EXPECT_EQ(printable("plain"), "plain");
    EXPECT_EQ(printable("a\nb\rc\td"), "a\\nb\\rc\\td");
    EXPECT_EQ(printable(std::string("x\x1b[31my\x7f") + '\0'), "x\\x1b[31my\\x7f\\x00");
    EXPECT_EQ(printable("T-shirt/top \xc2\xb5"), "T-shirt/top \xc2\xb5");
}

TEST(Shortened, KeepsBothEndsAndNeverCutsACharacter) {
    EXPECT_EQ(shortened("short", 160), "short");
    const std::string path = "/data/" + std::string(5000, 'a') + "/trace.safetensors";
    const std::string s = shortened(path, 100);
    EXPECT_LE(s.size(), 100u);
    EXPECT_EQ(s.rfind("/data/aaa", 0), 0u) << s;
    EXPECT_NE(s.find("..."), std::string::npos) << s;
    EXPECT_EQ(s.substr(s.size() - 18), "/trace.safetensors") << s;
    // 2-byte characters around the cut: the result stays valid UTF-8.
    std::string mu;
    for (int i = 0; i < 200; ++i) mu += "\xc2\xb5";
    const std::string m = shortened(mu, 51);
    for (std::size_t i = 0; i < m.size();) {
        if (m[i] == '.') { ++i; continue; }
        ASSERT_EQ(static_cast<unsigned char>(m[i]), 0xc2u) << i;
        ASSERT_EQ(static_cast<unsigned char>(m[i + 1]), 0xb5u) << i;
        i += 2;
    }
}

TEST(FirstLineOf, SkipsBlankLinesAndStackDumps) {
    EXPECT_EQ(firstLineOf("\n  Expected 4D input\nException raised from ...\nframe #0"), "Expected 4D input");
    EXPECT_EQ(firstLineOf(""), "(no message)");
    EXPECT_EQ(firstLineOf("\n\n \t\n"), "(no message)");
    EXPECT_LE(firstLineOf(std::string(1000, 'x'), 50).size(), 50u);
}

// Windows editors and spreadsheets save JSON and CSV with a UTF-8 byte-order
// mark; it is dropped at the start of a text, and only there.
TEST(WithoutUtf8Bom, DropsTheMarkAtTheStartOnly) {
    using exitscope::core::withoutUtf8Bom;
    EXPECT_EQ(withoutUtf8Bom("\xEF\xBB\xBF{\"a\": 1}"), "{\"a\": 1}");
    EXPECT_EQ(withoutUtf8Bom("{\"a\": 1}"), "{\"a\": 1}");
    EXPECT_EQ(withoutUtf8Bom("\xEF\xBB\xBF"), "");
    EXPECT_EQ(withoutUtf8Bom(""), "");
    EXPECT_EQ(withoutUtf8Bom("\xEF\xBB"), "\xEF\xBB");  // a cut mark is not a mark
    EXPECT_EQ(withoutUtf8Bom("x\xEF\xBB\xBF"), "x\xEF\xBB\xBF");
    EXPECT_EQ(withoutUtf8Bom("\xEF\xBB\xBF\xEF\xBB\xBFy"), "\xEF\xBB\xBFy");  // one mark, not every one
}
