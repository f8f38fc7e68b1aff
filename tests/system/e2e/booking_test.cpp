// A booking goes control plane -> agent -> appointment rules -> HIS. A rule's refusal
// never reaches the HIS and comes back in words a patient understands.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "his-sim/hospital.h"
#include "tests/support/system.h"

using namespace hisgate;

namespace {
nlohmann::json booking(const std::string& order, const std::string& slot_time) {
    std::string today = sim::utc_today();
    return {{"orderId", order},
            {"slotId", "S-DR-101-" + today + "-" + slot_time},
            {"slot",
             {{"doctorId", "DR-101"}, {"departmentId", "D-INT"}, {"date", today}, {"start", slot_time},
              {"end", slot_time.substr(0, 3) + std::to_string(std::stoi(slot_time.substr(3)) + 15)},
              {"half", "AM"}, {"feeCents", 2500}}},
            {"patient", {{"id", "P-DEMO-1"}, {"birthDate", "1980-01-01"}, {"sex", "female"}}}};
}

}  // namespace

TEST_CASE("e2e: booking through the rules engine to the HIS") {
    test::System sys({.hospitals = {"H001"},
                      .more_params = {{"H001", R"({"appointment": {"rules": [
                          {"rule": "real_name_required"}, {"rule": "fixed_slots", "minutes": 15}]}})"}}});
    REQUIRE(sys.start());

    // An order id names one request (docs/architecture.md "Retries"): the refused order is
    // not booked again under its id; the corrected booking is a new order.
    auto refused = sys.post("/api/v1/hospitals/H001/appointments", booking("O-0", "08:00").dump());
    INFO(refused.body);
    CHECK(refused.status == 422);
    auto why = nlohmann::json::parse(refused.body);
    CHECK(why["code"] == "appointment.real_name_required.unverified");
    CHECK_THAT(why["message"].get<std::string>(), Catch::Contains("verify your real name"));
    CHECK(sys.his_bookings("H001") == 0);  // the refusal never reached the HIS

    // The platform's identity check verifies the patient (tests/system/e2e/booking_facts_test.cpp).
    REQUIRE(sys.set_patient_facts("P-DEMO-1", true));

    auto booked = sys.post("/api/v1/hospitals/H001/appointments", booking("O-1", "08:00").dump());
    INFO(booked.body);
    REQUIRE(booked.status == 200);
    auto doc = nlohmann::json::parse(booked.body);
    CHECK(doc["status"] == "booked");
    CHECK(doc["orderId"] == "O-1");
    CHECK(sys.his_bookings("H001") == 1);

    // The same order again is the same booking; another order for the full slot is the HIS's refusal.
    CHECK(sys.post("/api/v1/hospitals/H001/appointments", booking("O-1", "08:00").dump()).status == 200);
    auto full = sys.post("/api/v1/hospitals/H001/appointments", booking("O-2", "08:00").dump());
    CHECK(full.status == 422);
    CHECK(nlohmann::json::parse(full.body)["code"] == "his.SLOT_FULL");
    CHECK(sys.his_bookings("H001") == 1);

    auto off_grid = booking("O-3", "08:07");
    auto refused_time = sys.post("/api/v1/hospitals/H001/appointments", off_grid.dump());
    CHECK(refused_time.status == 422);
    CHECK(nlohmann::json::parse(refused_time.body)["code"] == "appointment.fixed_slots.not_a_slot");

    auto bad = sys.post("/api/v1/hospitals/H001/appointments", R"({"orderId": "O-4", "slot": {"date": "tomorrow"}})");
    CHECK(bad.status == 400);
    CHECK_THAT(bad.body, Catch::Contains("slot.date"));
    CHECK(sys.post("/api/v1/hospitals/H001/appointments", "{not json").status == 400);
}
