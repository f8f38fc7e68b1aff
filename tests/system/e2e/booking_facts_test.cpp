// The facts a booking rule decides on are the platform's records, never the caller's JSON
// (issue 12 item 4): a patient who writes "realNameVerified": true, "noShowCount": 0, no
// bookings today and a paid deposit into the body is judged on what the platform knows.
// Those records are written by admin and service tokens only; a patient reads their own.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "his-sim/hospital.h"
#include "tests/support/system.h"

using namespace hisgate;
using nlohmann::json;

namespace {
const char* kBook = "/api/v1/hospitals/H001/appointments";

// A booking whose body claims every fact a rule could want.
json lying_booking(const std::string& patient, const std::string& order, const std::string& time) {
    std::string today = sim::utc_today();
    return {{"orderId", order},
            {"slotId", "S-DR-101-" + today + "-" + time},
            {"slot",
             {{"doctorId", "DR-101"}, {"departmentId", "D-INT"}, {"date", today}, {"start", time},
              {"end", time.substr(0, 3) + std::to_string(std::stoi(time.substr(3)) + 15)}, {"half", "AM"}}},
            {"patient", {{"id", patient}, {"birthDate", "1980-01-01"}, {"sex", "female"},
                         {"realNameVerified", true}, {"noShowCount", 0}}},
            {"counts", {{"patientDay", 0}, {"prepaid", true}, {"depositPaidCents", 999999}}}};
}


}  // namespace

TEST_CASE("booking facts attack: real-name, missed visits, bookings made and deposit come from the platform, not the body") {
    test::System sys({.hospitals = {"H001"},
                      .more_params = {{"H001", R"({"appointment": {"rules": [
                          {"rule": "real_name_required"}, {"rule": "no_show_blacklist", "misses": 2},
                          {"rule": "patient_daily_max", "max": 1}, {"rule": "deposit_required", "min_amount": 5000}]}})"}}});
    REQUIRE(sys.start());
    auto patient = sys.bearer("patient", "P-F-1");
    auto service = sys.bearer("service", "identity-service");
    auto facts_path = "/api/v1/patients/P-F-1/facts";

    // Nothing recorded: not verified, whatever the body says.
    auto unverified = sys.post(kBook, lying_booking("P-F-1", "O-1", "08:00").dump(), patient);
    INFO(unverified.body);
    CHECK(unverified.status == 422);
    CHECK(unverified.code() == "appointment.real_name_required.unverified");

    // Only admins and services record facts.
    CHECK(sys.put(facts_path, R"({"realNameVerified": true})", patient).status == 403);
    CHECK(sys.put(facts_path, R"({"realNameVerified": true})").status == 403);  // an operator
    auto bad = sys.put(facts_path, R"({"realNameVerified": "yes"})", service);
    CHECK(bad.status == 400);
    CHECK_THAT(bad.body, Catch::Contains("realNameVerified"));
    CHECK(sys.put(facts_path, R"({"realNameVerified": true, "noShowCount": 3})", service).status == 200);

    auto suspended = sys.post(kBook, lying_booking("P-F-1", "O-2", "08:00").dump(), patient);
    INFO(suspended.body);
    CHECK(suspended.code() == "appointment.no_show_blacklist.suspended");

    // A partial update keeps the other fact; the patient reads their own facts, not another's.
    REQUIRE(sys.put(facts_path, R"({"noShowCount": 0})", service).status == 200);
    auto mine = sys.get(facts_path, patient);
    REQUIRE(mine.status == 200);
    CHECK(json::parse(mine.body)["realNameVerified"] == true);
    CHECK(json::parse(mine.body)["noShowCount"] == 0);
    CHECK(sys.get("/api/v1/patients/P-F-2/facts", patient).status == 404);

    auto unpaid = sys.post(kBook, lying_booking("P-F-1", "O-3", "08:00").dump(), patient);
    INFO(unpaid.body);
    CHECK(unpaid.code() == "appointment.deposit_required.missing");
    CHECK(sys.his_bookings("H001") == 0);

    // The payment side records the deposit for order O-4; only then is it booked.
    CHECK(sys.put("/api/v1/hospitals/H001/orders/O-4/payment", R"({"patientId": "P-F-1", "depositCents": 5000})",
                  patient).status == 403);
    REQUIRE(sys.put("/api/v1/hospitals/H001/orders/O-4/payment", R"({"patientId": "P-F-1", "depositCents": 5000})",
                    service).status == 200);
    auto booked = sys.post(kBook, lying_booking("P-F-1", "O-4", "08:00").dump(), patient);
    INFO(booked.body);
    REQUIRE(booked.status == 200);
    CHECK(sys.his_bookings("H001") == 1);

    // The same order again is the same booking, although its counts changed since.
    CHECK(sys.post(kBook, lying_booking("P-F-1", "O-4", "08:00").dump(), patient).status == 200);
    // The platform counted that booking: a second one today is refused, "patientDay": 0 or not.
    REQUIRE(sys.put("/api/v1/hospitals/H001/orders/O-5/payment", R"({"patientId": "P-F-1", "depositCents": 5000})",
                    service).status == 200);
    auto second = sys.post(kBook, lying_booking("P-F-1", "O-5", "08:15").dump(), patient);
    INFO(second.body);
    CHECK(second.code() == "appointment.patient_daily_max.reached");
    CHECK(sys.his_bookings("H001") == 1);
}

TEST_CASE("tasks: a patient sees every state of their own task, errors too, and never another patient's") {
    test::System sys({.hospitals = {"H001"},
                      .more_params = {{"H001", R"({"appointment": {"rules": [{"rule": "real_name_required"}]}})"}}});
    REQUIRE(sys.start());
    auto refused = sys.post(kBook, lying_booking("P-T-1", "O-1", "08:00").dump(), sys.bearer("patient", "P-T-1"));
    INFO(refused.body);
    REQUIRE(refused.status == 422);
    std::string task_id = json::parse(refused.body)["taskId"];

    auto own = sys.get("/api/v1/tasks/" + task_id, sys.bearer("patient", "P-T-1"));
    INFO(own.body);
    REQUIRE(own.status == 200);
    CHECK(json::parse(own.body)["error"]["code"] == "appointment.real_name_required.unverified");
    CHECK(sys.get("/api/v1/tasks/" + task_id, sys.bearer("patient", "P-T-2")).status == 404);
    CHECK(sys.get("/api/v1/tasks/" + task_id, sys.bearer("viewer", "ops-1")).status == 200);
}
