// The bad-input matrix for the files the simulator reads: platform JSON and
// bandwidth-schedule CSV (the codec payload's cells are in test_codec.cpp;
// docs/reliability.md maps every cell to its test). Every case must end in a
// core::Error naming the file and the problem, quickly and without an
// allocation the file cannot justify.
#include "simulator/platform/link.h"
#include "simulator/platform/platform.h"
#include "tests/core/test_bad_inputs.h"

#include <string>
#include <vector>

EXITSCOPE_ALLOCATION_PROBE()

namespace {

using namespace exitscope::simulator;
using exitscope::testing::BadInput;
using exitscope::testing::bitFlips;
using exitscope::testing::bytesOf;
using exitscope::testing::caseName;
using exitscope::testing::expectCleanError;
using exitscope::testing::truncations;

// ---- Platform JSON -------------------------------------------------------------

std::vector<BadInput> platformCases() {
    const auto good = bytesOf(R"({"name": "phone", "note": "rough", "relative_speed": 0.25, "load": 0.1})");
    std::vector<BadInput> cases = {
        {"empty", {}, "not valid JSON"},
        // JSON has no infinity; a number too large for a double is a parse error.
        {"infinite_speed", bytesOf(R"({"relative_speed": 1e999})"), "number overflow"},
        {"huge_negative_gflops", bytesOf(R"({"gflops": -1e308})"), "gflops"},
        {"nan_literal", bytesOf(R"({"relative_speed": NaN})"), "not valid JSON"},
        {"zero_gflops", bytesOf(R"({"gflops": 0})"), "gflops"},
        {"negative_load", bytesOf(R"({"relative_speed": 1, "load": -0.5})"), "load"},
        {"infinite_load", bytesOf(R"({"relative_speed": 1, "load": -1e999})"), "number overflow"},
        {"load_is_an_array", bytesOf(R"({"relative_speed": 1, "load": [0.5]})"), "load"},
        {"note_nested_100000_deep",
         bytesOf(R"({"relative_speed": 1, "note": )" + std::string(100000, '[') + std::string(100000, ']') + "}"), ""},
        {"top_level_nested_100000_deep", bytesOf(std::string(100000, '[') + std::string(100000, ']')), ""},
        {"not_utf8", bytesOf("{\"name\": \"\xff\", \"relative_speed\": 1}"), "not valid JSON"},
    };
    for (auto& c : truncations(good, "not valid JSON")) cases.push_back(std::move(c));
    for (auto& c : bitFlips(good, 16)) cases.push_back(std::move(c));
    return cases;
}

class PlatformBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(PlatformBadInput, IsAnErrorNamingTheFile) {
    expectCleanError("platform", GetParam(), [](const std::string& path) { loadPlatform(path); });
}

INSTANTIATE_TEST_SUITE_P(Matrix, PlatformBadInput, ::testing::ValuesIn(platformCases()), caseName);

// ---- Bandwidth CSV ---------------------------------------------------------------

std::vector<BadInput> bandwidthCases() {
    const auto good = bytesOf("time_s,mbps\n0,10\n2.5,0.5\n7,25\n");
    std::vector<BadInput> cases = {
        {"empty", {}, "no 'time_s,mbps' data lines"},
        {"only_header", bytesOf("time_s,mbps\n"), "no 'time_s,mbps' data lines"},
        {"nan_bandwidth", bytesOf("0,nan\n"), ":1: bandwidth 'nan' is not a number"},
        {"infinite_bandwidth", bytesOf("0,10\n1,inf\n"), ":2: bandwidth 'inf' is not a number"},
        {"bandwidth_overflows_double", bytesOf("0,1e400\n"), ":1: bandwidth '1e400' is not a number"},
        {"infinite_time", bytesOf("0,10\ninfinity,5\n"), ":2: time 'infinity' is not a number"},
        {"nan_time", bytesOf("nan,5\n"), ":1: time 'nan' is not a number"},
        {"hex_float", bytesOf("0,0x1p-2000\n"), ":1: bandwidth"},
        {"bandwidth_zero_after_good_lines", bytesOf("0,10\n5,0\n"), ":2: bandwidth 0"},
        {"negative_zero_bandwidth", bytesOf("0,-0\n"), ":1: bandwidth"},
        {"nul_in_number", bytesOf(std::string("0,1\0" "0\n", 6)), ":1: bandwidth"},
        {"times_not_increasing", bytesOf("0,10\n0,5\n"), ":2: time 0 s is not after"},
    };
    // Truncations of a schedule cut it between lines or inside a number:
    // either a shorter valid schedule or an error naming the line.
    for (auto& c : truncations(good, "")) {
        c.mayLoad = true;
        cases.push_back(std::move(c));
    }
    for (auto& c : bitFlips(good, 16)) cases.push_back(std::move(c));
    return cases;
}

class BandwidthCsvBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(BandwidthCsvBadInput, IsAnErrorNamingTheFile) {
    expectCleanError("bandwidth", GetParam(), [](const std::string& path) {
        const auto schedule = BandwidthSchedule::loadCsv(path);
        // What loads is usable: a positive bandwidth at every time.
        for (const auto& s : schedule.steps()) ASSERT_GT(schedule.mbpsAt(s.timeS), 0.0);
    });
}

INSTANTIATE_TEST_SUITE_P(Matrix, BandwidthCsvBadInput, ::testing::ValuesIn(bandwidthCases()), caseName);

} // namespace
