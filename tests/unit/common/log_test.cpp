#include <catch2/catch.hpp>

#include "common/log.h"
#include "common/trace.h"
#include "tests/support/process.h"

using namespace hisgate;

TEST_CASE("log: PHI keys are redacted whatever their value") {
    nlohmann::json f = {{"name", "ZHANG WEI"}, {"phone", "13800000000"}, {"id_number", "110101199003074512"},
                        {"report_id", "R-DEMO-1"}, {"nested", {{"patient_name", "LI NA"}}}};
    log::redact(f);
    CHECK(f["name"] == "[redacted]");
    CHECK(f["phone"] == "[redacted]");
    CHECK(f["id_number"] == "[redacted]");
    CHECK(f["nested"]["patient_name"] == "[redacted]");
    CHECK(f["report_id"] == "R-DEMO-1");
}

TEST_CASE("log: digit runs that look like phone or ID numbers are scrubbed from any text") {
    CHECK(log::scrub("call 13800000000 now") == "call [redacted] now");
    CHECK(log::scrub("id 11010119900307451X ok") == "id [redacted] ok");
    CHECK(log::scrub("+86 138-0000-0000") == "+[redacted]");
    CHECK(log::scrub("port 1883 took 25 ms") == "port 1883 took 25 ms");
    CHECK(log::scrub("control id 4f3a9b2c1d") == "control id 4f3a9b2c1d");
}

TEST_CASE("log: every line is JSON with time, level, process, event and the current trace id") {
    std::string dir = test::make_temp_dir("log");
    log::init("unit", dir + "/u.log");
    auto ctx = TraceContext::start();
    {
        ScopedTrace scope(ctx);
        log::info("thing.happened", {{"count", 3}, {"phone", "13912345678"}});
    }
    log::init("unit", "");  // back to stderr
    auto text = test::read_file(dir + "/u.log");
    auto line = nlohmann::json::parse(text.substr(0, text.find('\n')));
    CHECK(line["event"] == "thing.happened");
    CHECK(line["proc"] == "unit");
    CHECK(line["level"] == "info");
    CHECK(line["trace_id"] == ctx.trace_id);
    CHECK(line["count"] == 3);
    CHECK(line["phone"] == "[redacted]");
    CHECK(text.find("13912345678") == std::string::npos);
}
