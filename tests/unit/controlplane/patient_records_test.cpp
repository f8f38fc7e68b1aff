// The platform's records the booking rules trust (issue 12 item 4), on a real SQLite file:
// counts taken from the bookings noted, facts and payments kept across a restart, and a
// booking body's own claims replaced by fill_booking_facts.
#include <catch2/catch.hpp>

#include "controlplane/booking_facts.h"
#include "controlplane/patient_records.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane;

namespace {
struct Records {
    std::string dir = test::make_temp_dir("hisgate-records");
    ManualClock clock;
    std::unique_ptr<PatientRecords> store;
    Records() { reopen(); }
    ~Records() { std::system(("rm -rf " + dir).c_str()); }
    void reopen() {
        store.reset();
        auto opened = open_sqlite_patient_records(dir + "/results.db", clock);
        REQUIRE(opened.ok());
        store = std::move(opened.value());
    }
    void book(const std::string& request, const std::string& patient, const std::string& doctor,
              const std::string& department, const std::string& half, const std::string& visit,
              const std::string& hospital = "H001", const std::string& date = "2026-12-10") {
        REQUIRE(store->note_booking({request, hospital, patient, "O-" + request, doctor, department, date, half, visit}).ok());
    }
};
}  // namespace

TEST_CASE("patient records: counts are the platform's bookings of that hospital and date, each request once") {
    Records r;
    r.book("R1", "P1", "DR-1", "D-A", "AM", "first");
    r.book("R1", "P1", "DR-1", "D-A", "AM", "first");  // the same request again: one booking
    r.book("R2", "P2", "DR-1", "D-A", "PM", "follow_up");
    r.book("R3", "P1", "DR-2", "D-B", "PM", "first");
    r.book("R4", "P1", "DR-1", "D-A", "AM", "first", "H002");            // another hospital
    r.book("R5", "P1", "DR-1", "D-A", "AM", "first", "H001", "2026-12-11");  // another day
    auto c = r.store->counts({"H001", "P1", "O-9", "DR-1", "D-A", "2026-12-10"});
    REQUIRE(c.ok());
    CHECK(c->doctor_day == 2);
    CHECK(c->department_day == 2);
    CHECK(c->patient_day == 2);
    CHECK(c->patient_department_day == 1);
    CHECK(c->first_visits_day == 1);
    CHECK(c->follow_ups_day == 1);
    CHECK(c->patient_holds_morning);
    CHECK(c->patient_holds_afternoon);
    CHECK_FALSE(c->prepaid);
    CHECK(c->deposit_paid == 0);
    auto other = r.store->counts({"H001", "P3", "O-9", "DR-3", "D-C", "2026-12-10"});
    REQUIRE(other.ok());
    CHECK(other->doctor_day == 0);
    CHECK(other->patient_day == 0);
    CHECK_FALSE(other->patient_holds_morning);
}

TEST_CASE("patient records: facts and payments are kept across a restart; an unknown patient has the defaults") {
    Records r;
    auto unknown = r.store->facts("P-NEW");
    REQUIRE(unknown.ok());
    CHECK_FALSE(unknown->real_name_verified);
    CHECK(unknown->no_show_count == 0);
    REQUIRE(r.store->set_facts("P1", {true, 2}).ok());
    REQUIRE(r.store->set_payment("H001", "P1", "O-1", {true, 5000}).ok());
    REQUIRE(r.store->set_payment("H001", "P1", "O-1", {false, 7000}).ok());  // replaces
    r.reopen();
    auto facts = r.store->facts("P1");
    REQUIRE(facts.ok());
    CHECK(facts->real_name_verified);
    CHECK(facts->no_show_count == 2);
    auto paid = r.store->counts({"H001", "P1", "O-1", "DR-1", "D-A", "2026-12-10"});
    REQUIRE(paid.ok());
    CHECK_FALSE(paid->prepaid);
    CHECK(paid->deposit_paid == 7000);
    auto other_order = r.store->counts({"H001", "P1", "O-2", "DR-1", "D-A", "2026-12-10"});
    REQUIRE(other_order.ok());
    CHECK(other_order->deposit_paid == 0);
}

TEST_CASE("patient records: a booking's slot is kept as it was sent, across a restart, the newest sending winning") {
    Records r;
    auto none = r.store->booked_slot("T-1");
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
    REQUIRE(r.store->keep_booked_slot("T-1", {"H001", "S-1", "DR-1", "2026-12-10", "", "", "PM"}).ok());
    REQUIRE(r.store->keep_booked_slot("T-1", {"H001", "S-1", "DR-1", "2026-12-10", "14:00", "14:30", ""}).ok());
    r.reopen();
    auto kept = r.store->booked_slot("T-1");
    REQUIRE(kept.ok());
    REQUIRE(kept->has_value());
    CHECK((*kept)->slot_id == "S-1");
    CHECK((*kept)->date == "2026-12-10");
    CHECK((*kept)->start == "14:00");
    CHECK((*kept)->end == "14:30");
    CHECK((*kept)->half.empty());
}

TEST_CASE("booking facts: the body's own claims are replaced by the records, and only a confirmed booking is noted") {
    Records r;
    nlohmann::json booking = {
        {"orderId", "O-1"},
        {"slot", {{"doctorId", "DR-1"}, {"departmentId", "D-A"}, {"date", "2026-12-10"}, {"half", "AM"}}},
        {"patient", {{"id", "P1"}, {"realNameVerified", true}, {"noShowCount", 0}}},
        {"counts", {{"patientDay", 0}, {"prepaid", true}, {"depositPaidCents", 999999}, {"invented", 1}}}};
    REQUIRE(r.store->set_facts("P1", {false, 4}).ok());
    r.book("R0", "P1", "DR-1", "D-A", "AM", "first");
    REQUIRE(fill_booking_facts(*r.store, "H001", booking).ok());
    CHECK(booking["patient"]["realNameVerified"] == false);
    CHECK(booking["patient"]["noShowCount"] == 4);
    CHECK(booking["counts"]["patientDay"] == 1);
    CHECK(booking["counts"]["prepaid"] == false);
    CHECK(booking["counts"]["depositPaidCents"] == 0);
    CHECK_FALSE(booking["counts"].contains("invented"));

    auto request = Envelope::make("appointment.book", "H001", booking);
    REQUIRE(note_booked(*r.store, "H001", request, request.reply_error(make_error(ErrorClass::Rejected, "x", "y"))).ok());
    REQUIRE(note_booked(*r.store, "H001", request, request.reply({{"status", "pending"}})).ok());
    auto before = r.store->counts({"H001", "P1", "O-2", "DR-1", "D-A", "2026-12-10"});
    REQUIRE(before.ok());
    CHECK(before->patient_day == 1);
    REQUIRE(note_booked(*r.store, "H001", request, request.reply({{"status", "booked"}})).ok());
    auto after = r.store->counts({"H001", "P1", "O-2", "DR-1", "D-A", "2026-12-10"});
    REQUIRE(after.ok());
    CHECK(after->patient_day == 2);
}
