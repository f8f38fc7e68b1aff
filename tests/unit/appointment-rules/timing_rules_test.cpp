// When a booking may be made, in the hospital's wall-clock time. The oracles place "now"
// and the slot with glibc (mktime/localtime_r under TZ), across zones with and without
// daylight saving, so the engine's own zone arithmetic is checked at the same time.
#include "fixtures.h"

using namespace hisgate::appointments;
using namespace hisgate::appointments::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

std::string random_time(Draw& d) { return format_time_of_day(d.between(0, minutes_per_day - 1)); }
int minute_field(const json& p, const char* field) { return *parse_time_of_day(p[field].get<std::string>()); }

// Moves the slot to the hospital's today or the next day, where same-day rules bite.
void slot_near_today(Draw& d, Trial& t) {
    t.request.slot.date = add_days(wall_clock(t.zone, t.request.requested_at).date, d.between(-1, 1));
}

// Moves "now" to within two hours either side of `instant`.
void now_near(Draw& d, Trial& t, std::optional<sys_seconds> instant) {
    if (instant) t.request.requested_at = *instant + seconds{d.between(-7200, 7200)};
}

}  // namespace

TEST_CASE("past_slots: refused iff the slot's day is before today or its start is not after now") {
    SEEDED(draw);
    booking_property(
        draw, "past_slots", 500, [](Draw&) { return json::object(); },
        [](const Trial& t) -> std::optional<bool> {
            const Slot& s = t.request.slot;
            if (!s.time) return s.date < wall_clock(t.zone, t.request.requested_at).date;
            auto start = instant_of(t.zone, s.date, s.time->start);
            if (!start) return std::nullopt;
            return *start <= t.request.requested_at;
        },
        [](Draw& d, Trial& t) {
            slot_near_today(d, t);
            if (t.request.slot.time) now_near(d, t, instant_of(t.zone, t.request.slot.date, t.request.slot.time->start));
        });
}

TEST_CASE("booking_hours: refused iff the hospital's time of day is outside from..until") {
    SEEDED(draw);
    booking_property(
        draw, "booking_hours", 400,
        [](Draw& d) {
            int from = d.between(0, 12 * 60);
            return json{{"from", format_time_of_day(from)}, {"until", format_time_of_day(d.between(from + 1, minutes_per_day - 1))}};
        },
        [](const Trial& t) {
            int now = wall_clock(t.zone, t.request.requested_at).minute;
            return now < minute_field(t.params, "from") || now >= minute_field(t.params, "until");
        });
}

TEST_CASE("release_window: refused iff now is before opens_at, days_ahead days before the slot's day") {
    SEEDED(draw);
    booking_property(
        draw, "release_window", 600,
        [](Draw& d) { return json{{"days_ahead", d.between(0, 14)}, {"opens_at", random_time(d)}}; },
        [](const Trial& t) -> std::optional<bool> {
            Date opening_day = add_days(t.request.slot.date, -t.params["days_ahead"].get<int>());
            auto opens = instant_of(t.zone, opening_day, minute_field(t.params, "opens_at"));
            if (!opens) return std::nullopt;
            return t.request.requested_at < *opens;
        },
        [](Draw& d, Trial& t) {
            Date opening_day = add_days(t.request.slot.date, -t.params["days_ahead"].get<int>());
            if (d.chance(60)) now_near(d, t, instant_of(t.zone, opening_day, minute_field(t.params, "opens_at")));
        });
}

TEST_CASE("max_days_ahead: refused iff the slot's day is more than days after the hospital's today") {
    SEEDED(draw);
    booking_property(
        draw, "max_days_ahead", 400, [](Draw& d) { return json{{"days", d.between(0, 20)}}; },
        [](const Trial& t) {
            Date today = wall_clock(t.zone, t.request.requested_at).date;
            return sys_days{t.request.slot.date} - sys_days{today} > days{t.params["days"].get<int>()};
        });
}

TEST_CASE("same_day_cutoff: refused iff the slot is today and the hospital's time is at or after the cutoff") {
    SEEDED(draw);
    booking_property(
        draw, "same_day_cutoff", 500, [](Draw& d) { return json{{"cutoff", random_time(d)}}; },
        [](const Trial& t) {
            Wall now = wall_clock(t.zone, t.request.requested_at);
            return t.request.slot.date == now.date && now.minute >= minute_field(t.params, "cutoff");
        },
        slot_near_today);
}

TEST_CASE("minimum_lead_time: refused iff a timed slot starts less than minutes after now") {
    SEEDED(draw);
    booking_property(
        draw, "minimum_lead_time", 500, [](Draw& d) { return json{{"minutes", d.between(1, 24 * 60)}}; },
        [](const Trial& t) -> std::optional<bool> {
            const Slot& s = t.request.slot;
            if (!s.time) return false;
            auto start = instant_of(t.zone, s.date, s.time->start);
            if (!start) return std::nullopt;
            return *start - t.request.requested_at < minutes{t.params["minutes"].get<int>()};
        },
        [](Draw& d, Trial& t) {
            slot_near_today(d, t);
            if (t.request.slot.time) now_near(d, t, instant_of(t.zone, t.request.slot.date, t.request.slot.time->start));
        });
}

TEST_CASE("release_window tells the patient when to come back, in the hospital's time") {
    // 2026-11-20 23:30 UTC is 2026-11-21 07:30 in Shanghai: half an hour before opening.
    BookingRequest b;
    b.slot.date = year{2026} / 11 / 28;
    b.requested_at = sys_days{year{2026} / 11 / 20} + hours{23} + minutes{30};
    auto set = rules(json::array({{{"rule", "release_window"}, {"days_ahead", 7}, {"opens_at", "08:00"}}}));
    auto r = set.check_booking(b, {});
    require_refused_by(r, "release_window");
    CHECK(r->code == "release_window.not_open");
    CHECK(r->message_for_patient ==
          "Booking for 2026-11-28 opens 7 days ahead at 08:00; try again on 2026-11-21 from 08:00.");
    b.requested_at += minutes{30};
    CHECK_FALSE(set.check_booking(b, {}));

    // The same instant in Berlin is still 2026-11-21 00:30: another half day to wait.
    auto berlin = rules(json::array({{{"rule", "release_window"}, {"days_ahead", 7}, {"opens_at", "08:00"}}}),
                        "Europe/Berlin");
    require_refused_by(berlin.check_booking(b, {}), "release_window");
}

TEST_CASE("timing messages say the limits in words") {
    BookingRequest b;
    b.slot.date = year{2026} / 11 / 28;
    b.slot.time = SlotTime{600, 615};
    b.requested_at = sys_days{year{2026} / 11 / 28} + hours{1} + minutes{30};  // 09:30 in Shanghai
    auto lead = rules(json::array({{{"rule", "minimum_lead_time"}, {"minutes", 90}}})).check_booking(b, {});
    require_refused_by(lead, "minimum_lead_time");
    CHECK(lead->message_for_patient ==
          "Appointments must be booked at least 1 hour 30 minutes before they start. Please choose a later time.");
    auto cutoff = rules(json::array({{{"rule", "same_day_cutoff"}, {"cutoff", "09:00"}}})).check_booking(b, {});
    require_refused_by(cutoff, "same_day_cutoff");
    CHECK(cutoff->message_for_patient == "Booking for today closes at 09:00. Please choose another day.");
    auto hours = rules(json::array({{{"rule", "booking_hours"}, {"from", "10:00"}, {"until", "22:00"}}})).check_booking(b, {});
    require_refused_by(hours, "booking_hours");
    CHECK(hours->message_for_patient ==
          "Appointments can be booked between 10:00 and 22:00 (hospital time). Please try again then.");
    auto past = rules(json::array({{{"rule", "past_slots"}}})).check_booking(
        BookingRequest{.slot = {.date = year{2026} / 11 / 27}, .requested_at = b.requested_at}, {});
    require_refused_by(past, "past_slots");
    CHECK(past->message_for_patient == "This appointment time has already passed. Please choose a later one.");
    b.slot.date = year{2026} / 12 / 28;
    auto far = rules(json::array({{{"rule", "max_days_ahead"}, {"days", 14}}})).check_booking(b, {});
    require_refused_by(far, "max_days_ahead");
    CHECK(far->message_for_patient ==
          "Appointments can be booked at most 14 days ahead. Please choose a day on or before 2026-12-12.");
}
