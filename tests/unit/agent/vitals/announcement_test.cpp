#include <catch2/catch.hpp>

#include "agent/vitals/announcement.h"

using namespace hisgate::vitals;

TEST_CASE("vitals announcements: read within bounds, every field checked") {
    auto ok = parse_announcement(
        R"({"v":1,"device":"MON-0001","model":"PM-9000","ward":"ICU","bed":"BED-001","address":"10.40.1.17","port":4601})");
    REQUIRE(ok.ok());
    CHECK(ok->device == "MON-0001");
    CHECK(ok->port == 4601);
    CHECK(ok->address == "10.40.1.17");

    for (const std::string& bad : {
             std::string("not json"),
             std::string(R"([1,2])"),
             std::string(R"({"v":2,"device":"M","model":"x","bed":"b","address":"10.0.0.1","port":1})"),
             std::string(R"({"v":1,"device":"M 1","model":"x","bed":"b","address":"10.0.0.1","port":1})"),
             std::string(R"({"v":1,"device":"M","model":"x","bed":"b","address":"host.example","port":1})"),
             std::string(R"({"v":1,"device":"M","model":"x","bed":"b","address":"10.0.0.0/8","port":1})"),
             std::string(R"({"v":1,"device":"M","model":"x","bed":"b","address":"10.0.0.1","port":70000})"),
             std::string(R"({"v":1,"device":"M","model":"x","bed":"","address":"10.0.0.1","port":1})"),
             std::string(R"({"v":1,"device":"M","model":"x\u0001","bed":"b","address":"10.0.0.1","port":1})"),
             std::string(600, ' '),
         }) {
        INFO(bad.substr(0, 80));
        auto r = parse_announcement(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "vitals.bad_announcement");
    }
}
