// Until when a booking may be cancelled online; the deadline instant itself is allowed.
#include "fixtures.h"

using namespace hisgate::appointments;
using namespace hisgate::appointments::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

std::optional<sys_seconds> slot_start(const Trial& t) {
    const Slot& s = t.request.slot;
    return instant_of(t.zone, s.date, s.time ? s.time->start : 0);
}

std::optional<sys_seconds> day_before_deadline(const Trial& t) {
    return instant_of(t.zone, add_days(t.request.slot.date, -1), *parse_time_of_day(t.params["until"].get<std::string>()));
}

void now_near(Draw& d, Trial& t, std::optional<sys_seconds> instant) {
    if (instant) t.request.requested_at = *instant + seconds{d.between(-7200, 7200)};
}

}  // namespace

TEST_CASE("cancellation_deadline: refused iff now is after minutes_before the slot's start") {
    SEEDED(draw);
    cancellation_property(
        draw, "cancellation_deadline", 500, [](Draw& d) { return json{{"minutes_before", d.between(0, 3 * 24 * 60)}}; },
        [](const Trial& t) -> std::optional<bool> {
            auto start = slot_start(t);
            if (!start) return std::nullopt;
            return t.request.requested_at > *start - minutes{t.params["minutes_before"].get<int>()};
        },
        [](Draw& d, Trial& t) {
            auto start = slot_start(t);
            if (start) now_near(d, t, *start - minutes{t.params["minutes_before"].get<int>()});
        });
}

TEST_CASE("cancellation_day_before: refused iff now is after until on the day before the slot") {
    SEEDED(draw);
    cancellation_property(
        draw, "cancellation_day_before", 500,
        [](Draw& d) { return json{{"until", format_time_of_day(d.between(0, minutes_per_day - 1))}}; },
        [](const Trial& t) -> std::optional<bool> {
            auto deadline = day_before_deadline(t);
            if (!deadline) return std::nullopt;
            return t.request.requested_at > *deadline;
        },
        [](Draw& d, Trial& t) { now_near(d, t, day_before_deadline(t)); });
}

TEST_CASE("cancellation rules never refuse a booking, and booking rules never refuse a cancellation") {
    auto set = rules(json::array({{{"rule", "cancellation_deadline"}, {"minutes_before", 1440}},
                                  {{"rule", "real_name_required"}}}));
    BookingRequest b;
    b.slot.date = year{2026} / 11 / 28;
    b.patient.real_name_verified = true;
    b.requested_at = sys_days{year{2026} / 11 / 28};
    CHECK_FALSE(set.check_booking(b, {}));
    b.requested_at = sys_days{year{2026} / 11 / 20};
    b.patient.real_name_verified = false;
    CHECK_FALSE(set.check_cancellation({b.slot, b.requested_at}));
}

TEST_CASE("cancellation messages give the deadline in the hospital's time") {
    CancellationRequest c;
    c.slot.date = year{2026} / 11 / 28;
    c.slot.time = SlotTime{600, 615};
    c.requested_at = sys_days{year{2026} / 11 / 28} + seconds{1};  // 08:00:01 in Shanghai
    auto r = rules(json::array({{{"rule", "cancellation_deadline"}, {"minutes_before", 120}}})).check_cancellation(c);
    require_refused_by(r, "cancellation_deadline");
    CHECK(r->message_for_patient == "Appointments can be cancelled online up to 2 hours before they start, so the "
                                    "deadline for this one was 2026-11-28 08:00. Please contact the hospital to "
                                    "cancel it.");
    c.requested_at -= seconds{1};  // the deadline itself is allowed
    CHECK_FALSE(rules(json::array({{{"rule", "cancellation_deadline"}, {"minutes_before", 120}}})).check_cancellation(c));
    c.requested_at += seconds{1};
    auto day_before = rules(json::array({{{"rule", "cancellation_day_before"}, {"until", "18:00"}}})).check_cancellation(c);
    require_refused_by(day_before, "cancellation_day_before");
    CHECK(day_before->message_for_patient ==
          "Appointments can be cancelled online until 18:00 on the day before, so the deadline for this one was "
          "2026-11-27 18:00. Please contact the hospital to cancel it.");
}
