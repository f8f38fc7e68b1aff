// The lines of one trace from JSON-lines logs (common/trace_lines.h): picked by trace id
// and by the ids they share with the HIS, in time order, bounded in what is read and kept.
#include <catch2/catch.hpp>

#include <fstream>
#include <vector>

#include "common/trace_lines.h"
#include "tests/support/process.h"

using namespace hisgate;

namespace {
const std::string kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kOther = "00f067aa0ba902b700f067aa0ba902b7";

std::string line(const std::string& ts, const std::string& proc, const std::string& trace, const std::string& extra = "") {
    return R"({"ts":")" + ts + R"(","proc":")" + proc + R"(","event":"e")" +
           (trace.empty() ? "" : R"(,"trace_id":")" + trace + "\"") + extra + "}\n";
}
}  // namespace

TEST_CASE("trace lines: a trace's own lines and the HIS's lines linked by a message id, in time order") {
    std::string dir = test::make_temp_dir("hisgate-trace-lines");
    {
        std::ofstream agent(dir + "/agent.log");
        agent << line("2026-12-03T10:00:00.200Z", "agent:H001", kTrace, R"(,"hl7_control_id":"C42")")
              << line("2026-12-03T10:00:00.100Z", "agent:H001", kTrace)
              << line("2026-12-03T10:00:00.150Z", "agent:H001", kOther, R"(,"hl7_control_id":"C43")")
              << "not json at all\n"
              << R"({"ts":"2026-12-03T10:00:00.900Z","trace_id":")" << kTrace << "\"";  // a torn last line
        std::ofstream sim(dir + "/his-sim.log");
        sim << line("2026-12-03T10:00:00.250Z", "his-sim:H001", "", R"(,"hl7_control_id":"C42")")
            << line("2026-12-03T10:00:00.260Z", "his-sim:H001", "", R"(,"hl7_control_id":"C43")");
    }
    auto found = trace_lines({dir + "/agent.log", dir + "/his-sim.log", dir + "/missing.log"}, kTrace);
    REQUIRE(found.ok());
    CHECK(found->files == 2);
    CHECK_FALSE(found->truncated);
    REQUIRE(found->lines.size() == 3);
    CHECK(found->lines[0]["ts"] == "2026-12-03T10:00:00.100Z");
    CHECK(found->lines[1]["hl7_control_id"] == "C42");
    CHECK(found->lines[2]["proc"] == "his-sim:H001");  // linked by C42, not C43
    std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("trace lines: bounded in what is read and kept, and a malformed trace id is refused") {
    std::string dir = test::make_temp_dir("hisgate-trace-lines");
    {
        std::ofstream log(dir + "/a.log");
        for (int i = 0; i < 1000; ++i)
            log << line("2026-12-03T10:00:" + std::string(i < 10 ? "0" : "") + std::to_string(i % 60) + ".000Z", "p", kTrace);
    }
    auto all = trace_lines({dir + "/a.log"}, kTrace);
    REQUIRE(all.ok());
    CHECK(all->lines.size() == 1000);
    // Only the newest 10 KiB are read: the rest is cut, and said so.
    auto tail = trace_lines({dir + "/a.log"}, kTrace, {.max_scan_bytes = 10 * 1024});
    REQUIRE(tail.ok());
    CHECK(tail->truncated);
    CHECK(tail->lines.size() < 1000);
    CHECK(tail->lines.size() > 50);
    // At most 2 KiB of lines are kept.
    auto kept = trace_lines({dir + "/a.log"}, kTrace, {.max_lines_bytes = 2048});
    REQUIRE(kept.ok());
    CHECK(kept->truncated);
    std::size_t bytes = 0;
    for (const auto& l : kept->lines) bytes += l.dump().size();
    CHECK(bytes <= 2048);

    for (const std::string& bad : std::vector<std::string>{"", "4BF92F3577B34DA6A3CE929D0E0E4736", "4bf92f35", std::string(32, 'g'), kTrace + "0"}) {
        auto refused = trace_lines({dir + "/a.log"}, bad);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().code == "trace.bad_id");
    }
    std::system(("rm -rf " + dir).c_str());
}
