#include "core/common/error.h"
#include "simulator/platform/link.h"
#include "simulator/platform/platform.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

namespace fs = std::filesystem;
using exitscope::core::Error;
using namespace exitscope::simulator;

namespace {

/// A fresh folder, removed again at the end of the test.
struct TempDir {
    fs::path path =
        fs::temp_directory_path() / ("exitscope_platform_" + std::to_string(::getpid()) + "_" + std::to_string(next()));
    TempDir() {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int next() {
        static int n = 0;
        return n++;
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return (path / name).string();
    }
};

/// Runs `body`, expecting an Error whose message contains every needle.
void expectError(const std::function<void()>& body, std::initializer_list<std::string> needles) {
    try {
        body();
        ADD_FAILURE() << "no error thrown";
    } catch (const Error& e) {
        for (const auto& n : needles)
            EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "'" << n << "' not in: " << e.what();
    }
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

// ---- Platforms -------------------------------------------------------------

TEST(Platform, GflopsTimeIsTwoFlopsPerMac) {
    // 5e6 MACs = 1e7 FLOP; at 10 GFLOP/s that is 1e-3 s = 1 ms, whatever was measured.
    EXPECT_DOUBLE_EQ(Platform::withGflops("g", 10.0).computeMs(999.0, 5e6), 1.0);
    // 1e9 MACs at 1 GFLOP/s: 2 s.
    EXPECT_DOUBLE_EQ(Platform::withGflops("g", 1.0).computeMs(0.0, 1e9), 2000.0);
}

TEST(Platform, RelativeSpeedDividesMeasuredTime) {
    EXPECT_DOUBLE_EQ(Platform::withRelativeSpeed("fast", 2.0).computeMs(3.0, 1e12), 1.5);
    EXPECT_DOUBLE_EQ(Platform::withRelativeSpeed("slow", 0.25).computeMs(3.0, 0.0), 12.0);
}

TEST(Platform, LoadStretchesTimeByOneOverFreeFraction) {
    // Busy 75% of the time: a quarter is left, so 4x as long.
    EXPECT_DOUBLE_EQ(Platform::withRelativeSpeed("busy", 1.0, 0.75).computeMs(3.0, 0.0), 12.0);
    EXPECT_DOUBLE_EQ(Platform::withGflops("busy", 10.0, 0.5).computeMs(0.0, 5e6), 2.0);
}

TEST(Platform, CodecWorkOnGflopsPlatformScalesByProfilingRate) {
    // A 10 GFLOP/s platform against a 5 GFLOP/s profiling machine is twice as fast.
    EXPECT_DOUBLE_EQ(Platform::withGflops("g", 10.0).measuredWorkMs(3.0, 5.0), 1.5);
    EXPECT_DOUBLE_EQ(Platform::withRelativeSpeed("r", 3.0).measuredWorkMs(3.0, 5.0), 1.0);
}

TEST(Platform, ProfilingGflopsFromTrace) {
    exitscope::core::Trace t;
    t.blockMacs = {1'000'000, 2'000'000, 4'000'000};  // 7e6 MACs = 1.4e7 FLOP
    t.blockMs = {2.0f, 4.0f, 8.0f};                   // in 14 ms: 1e9 FLOP/s
    EXPECT_NEAR(profilingGflops(t), 1.0, 1e-12);
    t.blockMs = {0.0f, 0.0f, 0.0f};
    EXPECT_THROW(profilingGflops(t), Error);
}

TEST(Platform, CheckRejectsBadSpeedAndLoad) {
    for (double bad : {0.0, -1.0, kNaN, std::numeric_limits<double>::infinity()}) {
        expectError([&] { checkPlatform(Platform::withRelativeSpeed("phone", bad), ""); }, {"phone", "relative_speed"});
        expectError([&] { checkPlatform(Platform::withGflops("jetson", bad), ""); }, {"jetson", "gflops"});
    }
    for (double bad : {1.0, 1.5, -0.1, kNaN})
        expectError([&] { checkPlatform(Platform::withRelativeSpeed("pi", 1.0, bad), ""); }, {"pi", "load"});
    EXPECT_NO_THROW(checkPlatform(Platform::withRelativeSpeed("pi", 1.0, 0.99), ""));
}

TEST(Platform, PresetsLoadByNameWithHonestNotes) {
    const auto names = platformPresetNames();
    for (const char* name : {"phone-class", "raspberry-pi-class", "jetson-class", "gpu-server"}) {
        EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
        const Platform p = loadPlatformSpec(name);
        EXPECT_EQ(p.name, name);
        EXPECT_NO_THROW(checkPlatform(p, name));
        EXPECT_NE(p.note.find("Rough guess"), std::string::npos) << name << ": " << p.note;
    }
    // A phone is slower than the x86 profiling thread, a GPU server far faster.
    EXPECT_LT(loadPlatformSpec("phone-class").relativeSpeed, 1.0);
    EXPECT_EQ(loadPlatformSpec("gpu-server").speedModel, SpeedModel::Gflops);
}

TEST(Platform, SpecLoadsAFileByPath) {
    TempDir d;
    const auto path = d.write("my-board.json", R"({"gflops": 12.5, "load": 0.2, "note": "measured"})");
    const Platform p = loadPlatformSpec(path);
    EXPECT_EQ(p.name, "my-board");  // the file's stem when no name is given
    EXPECT_EQ(p.speedModel, SpeedModel::Gflops);
    EXPECT_DOUBLE_EQ(p.gflops, 12.5);
    EXPECT_DOUBLE_EQ(p.load, 0.2);
}

TEST(Platform, UnknownPresetListsKnownOnes) {
    expectError([] { loadPlatformSpec("toaster"); }, {"toaster", "phone-class", "gpu-server"});
}

TEST(Platform, BadJsonRejectedNamingFileAndField) {
    TempDir d;
    struct Case {
        const char* file;
        const char* text;
        const char* field;
    };
    const Case cases[] = {
        {"missing.json", R"({"name": "x"})", "relative_speed"},
        {"both.json", R"({"relative_speed": 1, "gflops": 2})", "not both"},
        {"zero.json", R"({"relative_speed": 0})", "relative_speed"},
        {"negative.json", R"({"gflops": -3})", "gflops"},
        {"string.json", R"({"gflops": "fast"})", "gflops"},
        {"typo.json", R"({"relative_speed": 1, "laod": 0.5})", "laod"},
        {"full.json", R"({"relative_speed": 1, "load": 1.0})", "load"},
        {"name.json", R"({"relative_speed": 1, "name": 7})", "name"},
        {"array.json", R"([1, 2])", "object"},
        {"broken.json", R"({"relative_speed": )", "not valid JSON"},
    };
    for (const Case& c : cases) {
        const auto path = d.write(c.file, c.text);
        expectError([&] { loadPlatform(path); }, {path, c.field});
    }
    expectError([&] { loadPlatform((d.path / "absent.json").string()); }, {"absent.json"});
}

TEST(Platform, JsonRoundTrip) {
    Platform p = Platform::withGflops("edge", 42.0, 0.3);
    p.note = "from a datasheet";
    const Platform q = platformFromJson(platformToJson(p), "round trip");
    EXPECT_EQ(q.name, "edge");
    EXPECT_EQ(q.note, "from a datasheet");
    EXPECT_EQ(q.speedModel, SpeedModel::Gflops);
    EXPECT_DOUBLE_EQ(q.gflops, 42.0);
    EXPECT_DOUBLE_EQ(q.load, 0.3);
}

// ---- Links -----------------------------------------------------------------

TEST(Link, TransferIsSerialisationPlusRtt) {
    const Link link{8.0, 10.0, 0.0, 4.0};  // 8 Mbit/s = 1000 bytes per ms
    EXPECT_DOUBLE_EQ(link.serialisationMs(1000.0), 1.0);
    EXPECT_DOUBLE_EQ(link.transferMs(1000.0), 11.0);
    EXPECT_DOUBLE_EQ(link.replyMs(), 0.004);  // 4 bytes, propagation already in the RTT
}

TEST(Link, ZeroBandwidthIsAnError) {
    for (double bad : {0.0, -5.0, kNaN})
        expectError([&] { checkLink(Link{bad, 10.0, 0.0, 4.0}, "uplink"); }, {"uplink", "bandwidth", "> 0"});
    expectError([] { checkLink(Link{10.0, -1.0, 0.0, 4.0}); }, {"RTT"});
    expectError([] { checkLink(Link{10.0, 1.0, -2.0, 4.0}); }, {"jitter"});
    expectError([] { BandwidthSchedule::constant(0.0); }, {"bandwidth 0", "> 0"});
}

TEST(Link, JitteredRttStaysInItsRangeAndIsSeeded) {
    const Link link{10.0, 20.0, 5.0, 4.0};
    std::mt19937_64 a(7), b(7);
    for (int i = 0; i < 1000; ++i) {
        const double r = link.sampleRttMs(a);
        EXPECT_GE(r, 15.0);
        EXPECT_LE(r, 25.0);
        EXPECT_EQ(r, link.sampleRttMs(b));
    }
    std::mt19937_64 c(1);
    const Link nearZero{10.0, 2.0, 5.0, 4.0};
    EXPECT_GE(nearZero.sampleRttMs(c), 0.0);  // clipped at 0, never negative
}

TEST(BandwidthSchedule, StepsArePiecewiseConstant) {
    const auto s = BandwidthSchedule::fromSteps({{2.0, 10.0}, {5.0, 2.0}, {10.0, 50.0}});
    EXPECT_EQ(s.mbpsAt(0.0), 10.0);  // before the first step: the first value
    EXPECT_EQ(s.mbpsAt(4.99), 10.0);
    EXPECT_EQ(s.mbpsAt(5.0), 2.0);
    EXPECT_EQ(s.mbpsAt(9.0), 2.0);
    EXPECT_EQ(s.mbpsAt(10.0), 50.0);
    EXPECT_EQ(s.mbpsAt(1e6), 50.0);
    EXPECT_EQ(BandwidthSchedule::constant(3.5).mbpsAt(123.0), 3.5);
}

TEST(BandwidthSchedule, StepsValidated) {
    expectError([] { BandwidthSchedule::fromSteps({{0.0, 10.0}, {0.0, 5.0}}); }, {"step 2", "increase"});
    expectError([] { BandwidthSchedule::fromSteps({{0.0, 10.0}, {1.0, 0.0}}); }, {"step 2", "> 0"});
    expectError([] { BandwidthSchedule::fromSteps({{-1.0, 10.0}}); }, {"step 1", ">= 0"});
    expectError([] { BandwidthSchedule::fromSteps({}); }, {"no bandwidth steps"});
}

TEST(BandwidthSchedule, CsvWithHeaderCommentsAndCrlf) {
    const auto s = BandwidthSchedule::parseCsv("time_s,mbps\r\n0,10\r\n# a dip\n\n5, 2.5\n12.5,40\n", "trace.csv");
    ASSERT_EQ(s.steps().size(), 3u);
    EXPECT_EQ(s.steps()[1].timeS, 5.0);
    EXPECT_EQ(s.steps()[1].mbps, 2.5);
    EXPECT_EQ(s.mbpsAt(13.0), 40.0);
    EXPECT_EQ(BandwidthSchedule::parseCsv("1,7", "x").mbpsAt(0.0), 7.0);  // header optional
}

// Spreadsheets save CSV with a UTF-8 byte-order mark: the header is still a
// header, a first data line still data.
TEST(BandwidthSchedule, CsvWithAByteOrderMarkReadsAsWithout) {
    const auto s = BandwidthSchedule::parseCsv("\xEF\xBB\xBFtime_s,mbps\n0,10\n5,2.5\n", "bw.csv");
    ASSERT_EQ(s.steps().size(), 2u);
    EXPECT_EQ(s.mbpsAt(6.0), 2.5);
    EXPECT_EQ(BandwidthSchedule::parseCsv("\xEF\xBB\xBF" "0,7\n", "bw.csv").mbpsAt(0.0), 7.0);
    TempDir d;
    EXPECT_EQ(BandwidthSchedule::loadCsv(d.write("bw.csv", "\xEF\xBB\xBF" "0,7\n3,9\n")).mbpsAt(4.0), 9.0);
    // A mark anywhere else is a character like any other.
    expectError([] { BandwidthSchedule::parseCsv("0,10\n\xEF\xBB\xBF" "5,2\n", "bw.csv"); }, {"bw.csv:2:"});
}

TEST(Platform, ProfileWithAByteOrderMarkLoads) {
    TempDir d;
    const Platform p = loadPlatformSpec(d.write("board.json", "\xEF\xBB\xBF{\"gflops\": 12.5, \"load\": 0.2}"));
    EXPECT_DOUBLE_EQ(p.gflops, 12.5);
    EXPECT_DOUBLE_EQ(p.load, 0.2);
}

TEST(BandwidthSchedule, CsvErrorsNameTheLine) {
    expectError([] { BandwidthSchedule::parseCsv("0,10\n5,3\n4,2\n", "bw.csv"); }, {"bw.csv:3:", "sorted"});
    expectError([] { BandwidthSchedule::parseCsv("0,10\n1,0\n", "bw.csv"); }, {"bw.csv:2:", "bandwidth 0", "> 0"});
    expectError([] { BandwidthSchedule::parseCsv("0,10\n1,-3\n", "bw.csv"); }, {"bw.csv:2:", "> 0"});
    expectError([] { BandwidthSchedule::parseCsv("time_s,mbps\n0,fast\n", "bw.csv"); }, {"bw.csv:2:", "'fast'"});
    expectError([] { BandwidthSchedule::parseCsv("0,1,2\n", "bw.csv"); }, {"bw.csv:1:", "two fields"});
    expectError([] { BandwidthSchedule::parseCsv("0 10\n", "bw.csv"); }, {"bw.csv:1:", "two fields"});
    expectError([] { BandwidthSchedule::parseCsv("0,10\ntime_s,mbps\n", "bw.csv"); }, {"bw.csv:2:", "'time_s'"});
    expectError([] { BandwidthSchedule::parseCsv("-1,10\n", "bw.csv"); }, {"bw.csv:1:", ">= 0"});
    expectError([] { BandwidthSchedule::parseCsv("time_s,mbps\n# nothing\n", "bw.csv"); }, {"bw.csv", "no"});
    expectError([] { BandwidthSchedule::loadCsv("/nonexistent/bw.csv"); }, {"/nonexistent/bw.csv"});
}

TEST(BandwidthSchedule, CsvFileLoads) {
    TempDir d;
    const auto path = d.write("bw.csv", "time_s,mbps\n0,1\n30,100\n");
    const auto s = BandwidthSchedule::loadCsv(path);
    EXPECT_EQ(s.mbpsAt(29.9), 1.0);
    EXPECT_EQ(s.mbpsAt(30.0), 100.0);
}

TEST(BandwidthSchedule, RandomWalkIsDeterministicForASeed) {
    RandomWalkParams p;
    p.startMbps = 20.0;
    p.minMbps = 5.0;
    p.maxMbps = 40.0;
    p.stepS = 0.5;
    p.durationS = 100.0;
    p.volatility = 0.3;
    const auto a = BandwidthSchedule::randomWalk(p, 1234), b = BandwidthSchedule::randomWalk(p, 1234);
    const auto c = BandwidthSchedule::randomWalk(p, 1235);
    ASSERT_EQ(a.steps().size(), 200u);  // t = 0, 0.5, ..., 99.5
    EXPECT_EQ(a.steps().front().mbps, 20.0);
    EXPECT_EQ(a.steps().back().timeS, 99.5);
    bool differs = false;
    for (std::size_t i = 0; i < a.steps().size(); ++i) {
        EXPECT_EQ(a.steps()[i].mbps, b.steps()[i].mbps);
        EXPECT_GE(a.steps()[i].mbps, 5.0);
        EXPECT_LE(a.steps()[i].mbps, 40.0);
        differs = differs || a.steps()[i].mbps != c.steps()[i].mbps;
    }
    EXPECT_TRUE(differs);
    p.volatility = 0.0;
    EXPECT_EQ(BandwidthSchedule::randomWalk(p, 9).mbpsAt(77.0), 20.0);
    p.startMbps = 50.0;
    expectError([&] { BandwidthSchedule::randomWalk(p, 1); }, {"start 50"});
}
