// Daily caps and quotas: refused exactly when the count the caller supplies has reached
// the limit (and, for visit quotas, only for that kind of visit).
#include "fixtures.h"

using namespace hisgate::appointments;
using namespace hisgate::appointments::test;
using nlohmann::json;

namespace {

auto limit(const char* field) {
    return [field](Draw& d) { return json{{field, d.between(1, 40)}}; };
}

}  // namespace

TEST_CASE("doctor_daily_cap: refused iff the doctor's bookings that day reach max") {
    SEEDED(draw);
    booking_property(draw, "doctor_daily_cap", 300, limit("max"),
                     [](const Trial& t) { return t.counts.doctor_day >= t.params["max"].get<int>(); });
}

TEST_CASE("department_daily_cap: refused iff the department's bookings that day reach max") {
    SEEDED(draw);
    booking_property(draw, "department_daily_cap", 300, limit("max"),
                     [](const Trial& t) { return t.counts.department_day >= t.params["max"].get<int>(); });
}

TEST_CASE("first_visit_quota: refused iff a first visit finds the first-visit quota used up") {
    SEEDED(draw);
    booking_property(draw, "first_visit_quota", 300, limit("quota"), [](const Trial& t) {
        return t.request.slot.visit == VisitKind::first && t.counts.first_visits_day >= t.params["quota"].get<int>();
    });
}

TEST_CASE("follow_up_quota: refused iff a follow-up finds the follow-up quota used up") {
    SEEDED(draw);
    booking_property(draw, "follow_up_quota", 300, limit("quota"), [](const Trial& t) {
        return t.request.slot.visit == VisitKind::follow_up && t.counts.follow_ups_day >= t.params["quota"].get<int>();
    });
}

TEST_CASE("patient_daily_max: refused iff the patient already holds max bookings that day") {
    SEEDED(draw);
    booking_property(draw, "patient_daily_max", 300, [](Draw& d) { return json{{"max", d.between(1, 4)}}; },
                     [](const Trial& t) { return t.counts.patient_day >= t.params["max"].get<int>(); });
}

TEST_CASE("patient_department_daily_max: refused iff the patient already holds max bookings in the department") {
    SEEDED(draw);
    booking_property(draw, "patient_department_daily_max", 300, [](Draw& d) { return json{{"max", d.between(1, 3)}}; },
                     [](const Trial& t) { return t.counts.patient_department_day >= t.params["max"].get<int>(); });
}

TEST_CASE("whole_day_quota: refused iff the slot has a time or the doctor's day quota is used up") {
    SEEDED(draw);
    booking_property(draw, "whole_day_quota", 300, limit("quota"), [](const Trial& t) {
        return t.request.slot.time.has_value() || t.counts.doctor_day >= t.params["quota"].get<int>();
    });
}

TEST_CASE("quota messages name the day and what to do") {
    BookingRequest b;
    b.slot.date = std::chrono::year{2026} / 11 / 28;
    b.requested_at = std::chrono::sys_days{std::chrono::year{2026} / 11 / 27};
    BookingCounts c{.doctor_day = 30, .patient_day = 2};
    auto full = rules(json::array({{{"rule", "doctor_daily_cap"}, {"max", 30}}})).check_booking(b, c);
    require_refused_by(full, "doctor_daily_cap");
    CHECK(full->code == "doctor_daily_cap.full");
    CHECK(full->message_for_patient ==
          "This doctor has no more appointments on 2026-11-28. Please choose another day or doctor.");

    auto mine = rules(json::array({{{"rule", "patient_daily_max"}, {"max", 2}}})).check_booking(b, c);
    require_refused_by(mine, "patient_daily_max");
    CHECK(mine->message_for_patient == "You can have at most 2 appointments a day at this hospital, and you already "
                                       "have 2 on 2026-11-28. Please choose another day.");

    c = BookingCounts{.department_day = 9, .patient_department_day = 1, .first_visits_day = 5, .follow_ups_day = 5};
    auto day_of = [&](const char* rule, const char* field, int limit, VisitKind visit) {
        b.slot.visit = visit;
        auto r = rules(json::array({{{"rule", rule}, {field, limit}}})).check_booking(b, c);
        require_refused_by(r, rule);
        return r->message_for_patient;
    };
    CHECK(day_of("department_daily_cap", "max", 9, VisitKind::first) ==
          "This department has no more appointments on 2026-11-28. Please choose another day.");
    CHECK(day_of("first_visit_quota", "quota", 5, VisitKind::first) ==
          "All first-visit appointments with this doctor on 2026-11-28 are taken. Please choose another day.");
    CHECK(day_of("follow_up_quota", "quota", 5, VisitKind::follow_up) ==
          "All follow-up appointments with this doctor on 2026-11-28 are taken. Please choose another day.");
    CHECK(day_of("patient_department_daily_max", "max", 1, VisitKind::first) ==
          "You can have at most 1 appointment a day in this department, and you already have 1 on 2026-11-28. "
          "Please choose another day.");

    b.slot.time = SlotTime{480, 495};
    auto timed = rules(json::array({{{"rule", "whole_day_quota"}, {"quota", 50}}})).check_booking(b, c);
    require_refused_by(timed, "whole_day_quota");
    CHECK(timed->code == "whole_day_quota.timed_slot");
    CHECK(timed->message_for_patient == "This hospital books by day, not by time. Please choose a day only.");
}
