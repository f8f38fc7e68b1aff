// Slot shapes: fixed-length slots on a grid, and morning/afternoon halves not mixed.
#include <set>

#include "fixtures.h"

using namespace hisgate::appointments;
using namespace hisgate::appointments::test;
using nlohmann::json;

TEST_CASE("fixed_slots: refused iff the slot is not one of the grid's slots") {
    SEEDED(draw);
    booking_property(
        draw, "fixed_slots", 600,
        [](Draw& d) {
            json p{{"minutes", d.pick(std::vector<int>{5, 10, 15, 20, 30})}};
            if (d.chance(50)) p["first_slot_at"] = format_time_of_day(d.between(0, 12 * 12) * 5);
            return p;
        },
        [](const Trial& t) {
            // The grid, listed slot by slot.
            int length = t.params["minutes"];
            int first = *parse_time_of_day(t.params.value("first_slot_at", "00:00"));
            std::set<std::pair<int, int>> grid;
            for (int start = first; start + length <= minutes_per_day; start += length) grid.insert({start, start + length});
            const auto& time = t.request.slot.time;
            return !time || !grid.count({time->start, time->end});
        },
        [](Draw& d, Trial& t) {
            // Half of the trials get a slot of the right length, on or off the grid.
            auto& time = t.request.slot.time;
            if (time && d.chance(50)) time->end = std::min(time->start + t.params["minutes"].get<int>(), minutes_per_day);
        });
}

TEST_CASE("half_day: refused iff the session is unknown or the patient holds the other half that day") {
    SEEDED(draw);
    booking_property(
        draw, "half_day", 500, [](Draw& d) { return json{{"afternoon_from", format_time_of_day(d.between(10, 14) * 60)}}; },
        [](const Trial& t) {
            const Slot& s = t.request.slot;
            Half half = s.half;
            if (half == Half::none && s.time)
                half = s.time->start >= *parse_time_of_day(t.params["afternoon_from"].get<std::string>()) ? Half::afternoon
                                                                                                      : Half::morning;
            if (half == Half::none) return true;
            return half == Half::morning ? t.counts.patient_holds_afternoon : t.counts.patient_holds_morning;
        });
}

TEST_CASE("slot shape messages say how the hospital books") {
    BookingRequest b;
    b.slot.date = std::chrono::year{2026} / 11 / 28;
    b.slot.time = SlotTime{487, 502};
    b.slot.half = Half::morning;
    auto grid = rules(json::array({{{"rule", "fixed_slots"}, {"minutes", 15}, {"first_slot_at", "08:00"}}}))
                    .check_booking(b, {});
    require_refused_by(grid, "fixed_slots");
    CHECK(grid->message_for_patient == "This hospital books 15-minute appointments at set times (08:00, 08:15 and so "
                                       "on). Please choose one of the listed times.");
    auto mixed = rules(json::array({{{"rule", "half_day"}, {"afternoon_from", "12:00"}}}))
                     .check_booking(b, BookingCounts{.patient_holds_afternoon = true});
    require_refused_by(mixed, "half_day");
    CHECK(mixed->code == "half_day.mixed");
    CHECK(mixed->message_for_patient == "You already have an afternoon appointment on 2026-11-28, and this hospital "
                                        "does not combine morning and afternoon appointments on one day. Please "
                                        "choose an afternoon session or another day.");
}
