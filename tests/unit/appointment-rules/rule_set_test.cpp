// The rule set as a whole: evaluation order, department scoping, invalid slots, and
// every kind of parameter error reported at once with its JSON path.
#include "appointment-rules/rule_kinds.h"
#include "fixtures.h"

using namespace hisgate;
using namespace hisgate::appointments;
using namespace hisgate::appointments::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

// A valid rule object of every kind, so ordering and counting cover them all.
json every_kind() {
    return json::array({
        {{"rule", "deposit_required"}, {"min_amount", 5000}},
        {{"rule", "prepayment_required"}},
        {{"rule", "patient_department_daily_max"}, {"max", 1}},
        {{"rule", "patient_daily_max"}, {"max", 2}},
        {{"rule", "follow_up_quota"}, {"quota", 10}},
        {{"rule", "first_visit_quota"}, {"quota", 10}},
        {{"rule", "department_daily_cap"}, {"max", 100}},
        {{"rule", "doctor_daily_cap"}, {"max", 30}},
        {{"rule", "whole_day_quota"}, {"quota", 30}},
        {{"rule", "half_day"}, {"afternoon_from", "12:00"}},
        {{"rule", "fixed_slots"}, {"minutes", 15}},
        {{"rule", "sex_restriction"}, {"departments", {"GYN"}}, {"sex", "female"}},
        {{"rule", "age_range"}, {"departments", {"PED"}}, {"max_age", 14}},
        {{"rule", "no_show_blacklist"}, {"misses", 3}},
        {{"rule", "real_name_required"}},
        {{"rule", "minimum_lead_time"}, {"minutes", 30}},
        {{"rule", "same_day_cutoff"}, {"cutoff", "10:00"}},
        {{"rule", "max_days_ahead"}, {"days", 14}},
        {{"rule", "release_window"}, {"days_ahead", 7}, {"opens_at", "08:00"}},
        {{"rule", "booking_hours"}, {"from", "07:00"}, {"until", "22:00"}},
        {{"rule", "past_slots"}},
        {{"rule", "weekday_closed"}, {"weekdays", {"sun"}}, {"open_dates", {"2026-10-11"}}},
        {{"rule", "holiday_calendar"}, {"closed", {"2026-10-01"}}},
        {{"rule", "cancellation_day_before"}, {"until", "18:00"}},
        {{"rule", "cancellation_deadline"}, {"minutes_before", 120}},
    });
}

}  // namespace

TEST_CASE("rule set: every kind parses and runs in the documented order, whatever the file order") {
    auto set = rules(every_kind());
    std::vector<std::string> expected;
    for (const auto& k : rule_kinds()) expected.emplace_back(k.name);
    CHECK(expected.size() >= 22);
    CHECK(set.rule_names() == expected);
}

TEST_CASE("rule set: the first refusal in evaluation order wins") {
    SEEDED(draw);
    // With every kind configured, the refusing rule is the first kind whose own rule
    // set refuses alone.
    json all = every_kind();
    auto together = rules(all);
    std::vector<std::pair<std::string, RuleSet>> alone;
    for (const auto& k : rule_kinds())
        for (const auto& r : all)
            if (r["rule"] == k.name) alone.emplace_back(std::string(k.name), rules(json::array({r})));
    Sides sides;
    for (int i = 0; i < 500; ++i) {
        BookingRequest b = random_booking(draw);
        BookingCounts c = random_counts(draw);
        std::optional<std::string> first;
        for (const auto& [name, set] : alone)
            if (!first && set.check_booking(b, c)) first = name;
        auto r = together.check_booking(b, c);
        INFO("trial " << i);
        REQUIRE(r.has_value() == first.has_value());
        if (r) CHECK(r->rule == *first);
        sides.saw(r.has_value());
    }
    CHECK(sides.refused > 0);
}

TEST_CASE("rule set: an accepted booking passes every configured rule") {
    auto set = rules(every_kind());
    BookingRequest b;
    b.slot = Slot{.doctor_id = "D1", .department_id = "INT", .date = year{2026} / 11 / 27,
                  .time = std::nullopt, .half = Half::morning, .visit = VisitKind::first, .fee = 2500, .deposit = 0};
    b.patient = Patient{.id = "P1", .birth_date = year{1980} / 5 / 5, .sex = Sex::male, .real_name_verified = true};
    b.requested_at = sys_days{year{2026} / 11 / 23} + hours{2};  // 10:00 in Shanghai, 4 days ahead
    BookingCounts c{.prepaid = true, .deposit_paid = 5000};
    // fixed_slots needs a timed slot and whole_day_quota an untimed one, so this set can
    // accept nothing; without whole_day_quota a 15-minute slot passes.
    json without_whole_day = json::array();
    for (const auto& r : every_kind())
        if (r["rule"] != "whole_day_quota") without_whole_day.push_back(r);
    b.slot.time = SlotTime{540, 555};
    auto r = rules(without_whole_day).check_booking(b, c);
    INFO((r ? r->code : "accepted"));
    CHECK_FALSE(r);
    require_refused_by(set.check_booking(b, c), "whole_day_quota");
}

TEST_CASE("rule set: departments scope a rule to those departments only") {
    auto set = rules(json::array({{{"rule", "real_name_required"}, {"departments", {"PED", "GYN"}}}}));
    BookingRequest b;
    b.slot.date = year{2026} / 11 / 28;
    b.slot.department_id = "INT";
    CHECK_FALSE(set.check_booking(b, {}));
    b.slot.department_id = "GYN";
    require_refused_by(set.check_booking(b, {}), "real_name_required");
}

TEST_CASE("rule set: a slot no schedule could hold is refused as an invalid request") {
    auto set = rules(json::array());
    BookingRequest b;
    b.slot.date = year{2026} / 2 / 30;
    auto r = set.check_booking(b, {});
    REQUIRE(r);
    CHECK(r->rule == "request");
    CHECK(r->code == "request.invalid_slot");
    b.slot.date = year{2026} / 2 / 28;
    b.slot.time = SlotTime{600, 600};
    CHECK(set.check_booking(b, {}));
    CHECK(set.check_cancellation({b.slot, b.requested_at}));
}

TEST_CASE("rule set: no rules accepts everything and needs no time zone") {
    auto set = RuleSet::from_params(json::object(), "h.json");
    REQUIRE(set.ok());
    CHECK(set->rule_names().empty());
    BookingRequest b;
    b.slot.date = year{2026} / 11 / 28;
    CHECK_FALSE(set->check_booking(b, {}));
}

TEST_CASE("rule set: the zone falls back to hospital.timezone and is required once there are rules") {
    json section{{"rules", {{{"rule", "past_slots"}}}}};
    auto fallback = RuleSet::from_params(section, "h.json", "Europe/Berlin");
    REQUIRE(fallback.ok());
    CHECK(fallback->time_zone().name() == "Europe/Berlin");
    CHECK_THAT(params_error(section),
               Catch::Contains("h.json: appointment.timezone: expected a tz database name such as \"Asia/Shanghai\" "
                               "(the rules compare local times), found nothing"));
    auto bad_fallback = RuleSet::from_params(section, "h.json", "Nowhere/Atlantis");
    REQUIRE_FALSE(bad_fallback.ok());
    CHECK_THAT(bad_fallback.error().message, Catch::Contains("hospital.timezone"));
}

TEST_CASE("parameters: every problem is reported at once with its JSON path") {
    json section{
        {"timezone", "Mars/Base"},
        {"extra", 1},
        {"rules",
         {
             {{"rule", "fixed_slots"}, {"minutes", 12}},                                  // 0: not allowed
             {{"rule", "release_window"}, {"days_ahead", "7"}, {"opens_at", "8:00"}},     // 1: types
             {{"rule", "doctor_daily_cap"}},                                              // 2: missing
             {{"rule", "doctor_daily_cap"}, {"max", 5}, {"maximum", 6}},                  // 3: unknown field
             {{"rule", "teleport"}},                                                      // 4: unknown kind
             {{"minutes", 5}},                                                            // 5: no kind
             "fixed_slots",                                                               // 6: not an object
             {{"rule", "booking_hours"}, {"from", "22:00"}, {"until", "07:00"}},          // 7: order
             {{"rule", "age_range"}, {"departments", json::array()}},                      // 8: empty list, no ages
             {{"rule", "age_range"}, {"min_age", 20}, {"max_age", 10}},                   // 9: min > max
             {{"rule", "weekday_closed"}, {"weekdays", {"sunday"}}},                      // 10: weekday spelling
             {{"rule", "holiday_calendar"}, {"closed", {"2026-02-30"}}},                  // 11: not a date
             {{"rule", "sex_restriction"}, {"sex", "f"}},                                 // 12: enum
             {{"rule", "deposit_required"}, {"min_amount", -1}},                          // 13: negative money
             {{"rule", "no_show_blacklist"}, {"misses", 0}},                              // 14: range
             {{"rule", "fixed_slots"}, {"minutes", 15}, {"first_slot_at", "24:00"}},      // 15: time range
         }},
    };
    std::string m = params_error(section);
    INFO(m);
    for (std::string expected : {
             "h.json: appointment.rules[0].minutes: expected one of 5, 10, 15, 20, 30, found 12",
             "h.json: appointment.rules[1].days_ahead: expected an integer, found string \"7\"",
             "h.json: appointment.rules[1].opens_at: expected a time of day \"HH:MM\" from 00:00 to 23:59, found "
             "string \"8:00\"",
             "h.json: appointment.rules[2].max: expected a value (this field is required), found nothing",
             "h.json: appointment.rules[3].maximum: unknown field",
             "h.json: appointment.rules[4].rule: expected one of \"holiday_calendar\", \"weekday_closed\"",
             "found string \"teleport\"",
             "h.json: appointment.rules[5].rule: expected a value (this field is required), found nothing",
             "h.json: appointment.rules[6]: expected a rule object",
             "h.json: appointment.rules[7].until: expected a time after \"from\" (22:00), found \"07:00\"",
             "h.json: appointment.rules[8].departments: expected a non-empty list of ids, found an array",
             "h.json: appointment.rules[8].min_age: expected min_age, max_age or both, found neither",
             "h.json: appointment.rules[9].max_age: expected an age of at least min_age (20), found 10",
             "h.json: appointment.rules[10].weekdays[0]: expected one of \"mon\"",
             "h.json: appointment.rules[11].closed[0]: expected a date \"YYYY-MM-DD\", found string \"2026-02-30\"",
             "h.json: appointment.rules[12].sex: expected one of \"female\", \"male\", found string \"f\"",
             "h.json: appointment.rules[13].min_amount: expected an amount in minor units",
             "h.json: appointment.rules[14].misses: expected an integer from 1 to 1000, found 0",
             "h.json: appointment.rules[15].first_slot_at: expected a time of day",
             "h.json: appointment.extra: unknown field",
             "h.json: appointment.timezone: expected a tz database name such as \"Asia/Shanghai\", found time zone "
             "'Mars/Base': not found",
         })
        CHECK_THAT(m, Catch::Contains(expected));
    // One line per problem, nothing else.
    CHECK(std::count(m.begin(), m.end(), '\n') + 1 == 20);
}

TEST_CASE("parameters: the section and its lists must have the right shape") {
    CHECK_THAT(params_error(json::array()), Catch::Contains("h.json: appointment: expected an object"));
    CHECK_THAT(params_error(json{{"rules", {{"rule", "past_slots"}}}, {"timezone", "UTC"}}),
               Catch::Contains("appointment.rules: expected a list of rule objects, found an object"));
    CHECK_THAT(params_error(json{{"rules", json::array()}, {"timezone", 8}}),
               Catch::Contains("appointment.timezone: expected a tz database name such as \"Asia/Shanghai\", found number 8"));
}
