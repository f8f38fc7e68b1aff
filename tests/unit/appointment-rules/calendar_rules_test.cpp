// Closed days: a holiday list, and weekly closed days with make-up working days.
#include <algorithm>

#include "fixtures.h"

using namespace hisgate::appointments;
using namespace hisgate::appointments::test;
using nlohmann::json;

namespace {

// Random dates around 2024..2030 so some slots fall on them.
json random_dates(Draw& d, Date around, int count) {
    json dates = json::array();
    for (int i = 0; i < count; ++i) dates.push_back(format_date(random_date(d, around, 5, 25)));
    return dates;
}

bool listed(const json& dates, Date d) {
    for (const auto& s : dates)
        if (s == format_date(d)) return true;
    return false;
}

// 1970-01-01 was a Thursday; 0 is Sunday.
int weekday_number(Date d) {
    long days = std::chrono::sys_days{d}.time_since_epoch().count();
    return int(((days % 7) + 7 + 4) % 7);
}

const std::vector<std::string> keys = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

}  // namespace

TEST_CASE("holiday_calendar: refused iff the slot's date is listed as closed") {
    SEEDED(draw);
    booking_property(
        draw, "holiday_calendar", 300, [](Draw&) { return json{{"closed", json::array()}}; },
        [](const Trial& t) { return listed(t.params["closed"], t.request.slot.date); },
        [](Draw& d, Trial& t) {
            t.params["closed"] = random_dates(d, Date{std::chrono::floor<std::chrono::days>(t.request.requested_at)}, 8);
        });
}

TEST_CASE("weekday_closed: refused iff the slot falls on a closed weekday that is not an open date") {
    SEEDED(draw);
    booking_property(
        draw, "weekday_closed", 400,
        [](Draw& d) {
            json days = json::array();
            for (const auto& k : keys)
                if (d.chance(30)) days.push_back(k);
            if (days.empty()) days.push_back(d.pick(keys));
            return json{{"weekdays", days}};
        },
        [](const Trial& t) {
            std::string key = keys[size_t(weekday_number(t.request.slot.date))];
            bool closed_weekday = std::find(t.params["weekdays"].begin(), t.params["weekdays"].end(), key) !=
                                  t.params["weekdays"].end();
            return closed_weekday && !listed(t.params.value("open_dates", json::array()), t.request.slot.date);
        },
        [](Draw& d, Trial& t) {
            if (d.chance(50)) t.params["open_dates"] = random_dates(d, t.request.slot.date, 6);
        });
}

TEST_CASE("closed-day messages name the day") {
    BookingRequest b;
    b.slot.date = std::chrono::year{2026} / 10 / 4;  // a Sunday
    auto holiday = rules(json::array({{{"rule", "holiday_calendar"}, {"closed", {"2026-10-04"}}}})).check_booking(b, {});
    require_refused_by(holiday, "holiday_calendar");
    CHECK(holiday->message_for_patient == "The hospital is closed on 2026-10-04 for a holiday. Please choose another day.");
    auto sunday = rules(json::array({{{"rule", "weekday_closed"}, {"weekdays", {"sun"}}}})).check_booking(b, {});
    require_refused_by(sunday, "weekday_closed");
    CHECK(sunday->message_for_patient == "The hospital does not see patients on Sundays. Please choose another day.");
    auto makeup = rules(json::array({{{"rule", "weekday_closed"}, {"weekdays", {"sun"}}, {"open_dates", {"2026-10-04"}}}}));
    CHECK_FALSE(makeup.check_booking(b, {}));
}
