// Who may book: real name, no-show suspension, age and sex per department.
#include "fixtures.h"

using namespace hisgate::appointments;
using namespace hisgate::appointments::test;
using nlohmann::json;

namespace {

// Age by counting birthdays one year at a time (a 29 February birthday falls on 1 March
// in common years), independent of the engine's arithmetic.
int age_by_counting(Date birth, Date on) {
    int age = 0;
    for (;;) {
        std::chrono::year y = birth.year() + std::chrono::years{age + 1};
        Date birthday = Date{y / birth.month() / birth.day()};
        if (!birthday.ok()) birthday = Date{y / std::chrono::March / 1};
        if (birthday > on) return age;
        ++age;
    }
}

}  // namespace

TEST_CASE("real_name_required: refused iff the patient's real name is not verified") {
    SEEDED(draw);
    booking_property(draw, "real_name_required", 200, [](Draw&) { return json::object(); },
                     [](const Trial& t) { return !t.request.patient.real_name_verified; });
}

TEST_CASE("no_show_blacklist: refused iff the patient missed at least misses appointments") {
    SEEDED(draw);
    booking_property(draw, "no_show_blacklist", 300, [](Draw& d) { return json{{"misses", d.between(1, 6)}}; },
                     [](const Trial& t) { return t.request.patient.no_show_count >= t.params["misses"].get<int>(); });
}

TEST_CASE("age_range: refused iff the slot's department is listed and the age on the day is outside the range") {
    SEEDED(draw);
    booking_property(
        draw, "age_range", 500,
        [](Draw& d) {
            json p{{"departments", json::array({"PED", "GYN"})}};
            int shape = d.between(0, 2);
            int low = d.between(0, 60);
            if (shape != 1) p["min_age"] = low;
            if (shape != 0) p["max_age"] = low + d.between(0, 40);
            return p;
        },
        [](const Trial& t) {
            const auto& dep = t.request.slot.department_id;
            if (dep != "PED" && dep != "GYN") return false;
            int age = age_by_counting(t.request.patient.birth_date, t.request.slot.date);
            return age < t.params.value("min_age", 0) || age > t.params.value("max_age", 1000);
        },
        [](Draw& d, Trial& t) {
            // Put some birthdays right at the range's edges, on or near the slot's day.
            if (d.chance(50)) {
                int years = t.params.value("min_age", t.params.value("max_age", 0)) + d.between(-1, 1);
                Date b = add_days(t.request.slot.date, d.between(-2, 2));
                t.request.patient.birth_date = Date{b.year() - std::chrono::years{std::max(years, 0)}, b.month(),
                                                    b.day() > std::chrono::day{28} ? std::chrono::day{28} : b.day()};
            }
        });
}

TEST_CASE("age_range counts a 29 February birthday as reached on 1 March") {
    auto set = rules(json::array({{{"rule", "age_range"}, {"min_age", 18}}}));
    BookingRequest b;
    b.patient.birth_date = std::chrono::year{2008} / 2 / 29;
    b.slot.date = std::chrono::year{2026} / 2 / 28;
    b.requested_at = std::chrono::sys_days{b.slot.date} - std::chrono::hours{12};
    auto r = set.check_booking(b, {});
    require_refused_by(r, "age_range");
    CHECK(r->message_for_patient == "This department sees patients aged 18 and over only. Please choose another department.");
    b.slot.date = std::chrono::year{2026} / 3 / 1;
    b.requested_at = std::chrono::sys_days{b.slot.date} - std::chrono::hours{12};
    CHECK_FALSE(set.check_booking(b, {}));
}

TEST_CASE("sex_restriction: refused iff the slot's department is listed and the patient is not of that sex") {
    SEEDED(draw);
    booking_property(
        draw, "sex_restriction", 300,
        [](Draw& d) { return json{{"departments", json::array({"GYN"})}, {"sex", d.chance(50) ? "female" : "male"}}; },
        [](const Trial& t) {
            Sex wanted = t.params["sex"] == "female" ? Sex::female : Sex::male;
            return t.request.slot.department_id == "GYN" && t.request.patient.sex != wanted;
        });
}

TEST_CASE("patient messages say what to do") {
    BookingRequest b;
    b.slot.date = std::chrono::year{2026} / 11 / 28;
    b.slot.department_id = "GYN";
    b.patient.sex = Sex::unknown;
    b.patient.no_show_count = 3;
    auto sex = rules(json::array({{{"rule", "sex_restriction"}, {"sex", "female"}}})).check_booking(b, {});
    require_refused_by(sex, "sex_restriction");
    CHECK(sex->message_for_patient ==
          "This department sees female patients only. Please add your sex to your profile, then book.");
    auto blacklist = rules(json::array({{{"rule", "no_show_blacklist"}, {"misses", 3}}})).check_booking(b, {});
    require_refused_by(blacklist, "no_show_blacklist");
    CHECK(blacklist->message_for_patient == "Online booking is suspended because you have missed 3 appointments "
                                            "without cancelling. Please contact the hospital.");
    auto name = rules(json::array({{{"rule", "real_name_required"}}})).check_booking(b, {});
    require_refused_by(name, "real_name_required");
    CHECK(name->message_for_patient ==
          "Please verify your real name with your ID card before booking. You can do this in your profile.");
}
