#include <catch2/catch.hpp>

#include "agent/vitals/drop_log.h"
#include "common/log.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
std::vector<nlohmann::json> lines(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::string text = test::read_file(path);
    std::size_t at = 0;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        auto j = nlohmann::json::parse(text.substr(at, end - at), nullptr, false);
        if (!j.is_discarded() && j.value("event", "") == "vitals.dropped") out.push_back(j);
        at = end == std::string::npos ? text.size() : end + 1;
    }
    return out;
}
}  // namespace

TEST_CASE("vitals drop log: every drop counted, one line a minute per reason with the count since the last") {
    auto path = test::make_temp_dir("vitals-drops") + "/agent.log";
    log::init("unit", path);
    ManualClock clock;
    vitals::DropLog drops(clock);
    for (int i = 0; i < 100; ++i) drops.drop("garbage_bytes", {{"device", "MON-1"}}, 10);
    drops.drop("unknown_code", {{"device", "MON-1"}});
    clock.advance(59s);
    drops.drop("garbage_bytes", {{"device", "MON-1"}}, 10);
    CHECK(lines(path).size() == 2);  // one per reason so far
    clock.advance(1s);
    drops.drop("garbage_bytes", {{"device", "MON-2"}}, 10);
    log::init("unit", "");  // back to stderr

    auto logged = lines(path);
    REQUIRE(logged.size() == 3);
    CHECK(logged[0]["reason"] == "garbage_bytes");
    CHECK(logged[0]["dropped_since_last_line"] == 10);
    CHECK(logged[1]["reason"] == "unknown_code");
    // The minute's line carries what was dropped since the last one: 99 + 1 + 1 drops of 10.
    CHECK(logged[2]["dropped_since_last_line"] == 1010);
    CHECK(drops.total("garbage_bytes") == 1020);
    CHECK(drops.total("unknown_code") == 1);
}
