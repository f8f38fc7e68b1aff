// The engine's TZif reader against glibc's localtime_r/mktime, and its documented choices
// for wall-clock times that occur twice or never.
#include <fstream>

#include "common/time_zone.h"
#include "fixtures.h"

using namespace hisgate;
using namespace hisgate::appointments;
using namespace hisgate::appointments::test;
using namespace std::chrono;

namespace {

TimeZone zone(const std::string& name) {
    auto z = TimeZone::load(name);
    if (!z) FAIL(z.error().message);
    return *z;
}

}  // namespace

TEST_CASE("time zone: an instant's wall clock matches glibc in every test zone") {
    SEEDED(draw);
    for (const auto& name : test_zones()) {
        TimeZone z = zone(name);
        for (int i = 0; i < 2000; ++i) {
            // 1975..2036: inside the transitions Debian's fat TZif files list explicitly.
            sys_seconds t{seconds{int64_t(draw.between(0, 62 * 365)) * 86400 + 157766400 + draw.between(0, 86399)}};
            INFO(name << " at " << t.time_since_epoch().count());
            local_seconds local = z.to_local(t);
            auto day = floor<days>(local);
            Wall w = wall_clock(name, t);
            REQUIRE(Date{day} == w.date);
            REQUIRE(duration_cast<minutes>(local - day).count() == w.minute);
        }
    }
}

TEST_CASE("time zone: a wall-clock time that exists once names the instant glibc names") {
    SEEDED(draw);
    for (const auto& name : test_zones()) {
        TimeZone z = zone(name);
        for (int i = 0; i < 1000; ++i) {
            Date d = random_date(draw, year{2026} / 6 / 1, 365 * 50, 365 * 10);
            int minute = draw.between(0, minutes_per_day - 1);
            auto expected = instant_of(name, d, minute);
            if (!expected) continue;
            INFO(name << " " << format_date(d) << " " << format_time_of_day(minute));
            REQUIRE(z.to_utc(d, minute) == *expected);
        }
    }
}

TEST_CASE("time zone: a repeated wall-clock time gives the earlier instant, a skipped one the jump") {
    TimeZone berlin = zone("Europe/Berlin");
    // 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST at 01:00 UTC.
    CHECK(berlin.to_utc(year{2026} / 3 / 29, 150) == sys_days{year{2026} / 3 / 29} + hours{1});
    // 2026-10-25: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    CHECK(berlin.to_utc(year{2026} / 10 / 25, 150) == sys_days{year{2026} / 10 / 25} + minutes{30});
    TimeZone shanghai = zone("Asia/Shanghai");
    CHECK(shanghai.offset_at(sys_days{year{2026} / 1 / 1}) == hours{8});
}

TEST_CASE("time zone: bad names and bad files are Config errors naming the zone") {
    for (std::string bad : {"../../etc/passwd", "/etc/localtime", "Asia//Shanghai", "Asia/Shanghai.", ""}) {
        auto z = TimeZone::load(bad);
        REQUIRE_FALSE(z.ok());
        CHECK(z.error().cls == ErrorClass::Config);
        CHECK_THAT(z.error().message, Catch::Contains("not a tz database name"));
    }
    auto missing = TimeZone::load("Mars/Olympus_Mons");
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error().message, Catch::Contains("not found"));
    // Every truncation of a real file is refused, never read past its end.
    std::ifstream in("/usr/share/zoneinfo/Europe/Berlin", std::ios::binary);
    std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(TimeZone::from_tzif("Europe/Berlin", whole).ok());
    size_t data_end = whole.rfind('\n', whole.size() - 2);  // the footer ("\nCET-1CEST,...\n") is not needed
    for (size_t n = 0; n < data_end; ++n) CHECK_FALSE(TimeZone::from_tzif("Europe/Berlin", whole.substr(0, n)).ok());
    auto garbage = TimeZone::from_tzif("X", "TZif2 but nothing after");
    REQUIRE_FALSE(garbage.ok());
    CHECK_THAT(garbage.error().message, Catch::Contains("time zone 'X'"));
}
