// Values as HIS interfaces write them, read into the platform's terms.
#include <catch2/catch.hpp>

#include "adapters/his_values.h"

using namespace hisgate;
using namespace std::chrono;
using namespace std::chrono_literals;

TEST_CASE("his values: HL7 times with and without an offset") {
    auto shanghai = TimeZone::load("Asia/Shanghai");
    REQUIRE(shanghai);
    bool had_offset = true;
    auto local = hl7_instant("20260301083000", shanghai.value(), &had_offset);
    REQUIRE(local);
    CHECK_FALSE(had_offset);
    CHECK(*local == sys_days(2026y / March / 1) + 0h + 30min);  // 08:30 in UTC+8

    auto with_offset = hl7_instant("202603010830+0100", shanghai.value(), &had_offset);
    REQUIRE(with_offset);
    CHECK(had_offset);
    CHECK(*with_offset == sys_days(2026y / March / 1) + 7h + 30min);

    CHECK(hl7_instant("20260301083000.1234-0500", shanghai.value(), &had_offset));
    for (const char* bad : {"", "2026030108", "20261301083000", "20260301083000+01", "2026-03-01T08:30:00", "20260301253000"}) {
        INFO(bad);
        auto r = hl7_instant(bad, shanghai.value(), &had_offset);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == "his.unreadable_time");
    }
}

