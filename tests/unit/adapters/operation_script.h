// The script every HIS adapter must pass against his-sim, whatever its dialect: reference
// data, booking
// (idempotent by order id, capacity enforced, cancellation frees the slot, the booking status
// the HIS holds: booked, cancelled, not_found), money (pay,
// status, refund, statement), and reports. The hospital is freshly seeded and its error
// map names SLOT_FULL and NOT_FOUND (ORDER_CONFLICT is left unmapped: Rejected).
#pragma once

#include <catch2/catch.hpp>

#include "adapters/his_adapter.h"
#include "common/sqlite.h"
#include "his-sim/hospital.h"

namespace hisgate::test {

inline void check_every_operation(HisAdapter& adapter) {
    std::string today = sim::utc_today();

    // Reference data: every department (names in Chinese survive the charset), doctor and slot.
    auto ref = adapter.extract_reference_data(today, sim::add_days(today, 6));
    REQUIRE(ref.ok());
    REQUIRE(ref->departments.size() == 4);
    CHECK(ref->departments[0].name == "心内科 Cardiology");
    CHECK(ref->doctors.size() == 5);
    CHECK(ref->slots.size() == 7 * 48);
    CHECK(ref->slots.front().capacity >= 1);
    CHECK(ref->slots.front().fee_cents > 0);

    std::string slot = "S-DR-101-" + today + "-08:00";
    auto booked = adapter.book({"O-1", slot, "P-DEMO-1"});
    REQUIRE(booked.ok());
    CHECK(booked->status == "booked");
    CHECK(booked->order_id == "O-1");
    CHECK(booked->slot_id == slot);
    CHECK(booked->patient_id == "P-DEMO-1");
    // What the HIS holds for an order id: the agent asks before resending a booking in doubt.
    auto held = adapter.booking_status("O-1");
    REQUIRE(held.ok());
    CHECK(held->status == "booked");
    CHECK(held->order_id == "O-1");
    CHECK(held->slot_id == slot);
    CHECK(held->patient_id == "P-DEMO-1");
    auto never = adapter.booking_status("O-404");
    REQUIRE(never.ok());
    CHECK(never->status == "not_found");
    CHECK(never->order_id == "O-404");
    auto again = adapter.book({"O-1", slot, "P-DEMO-1"});
    REQUIRE(again.ok());
    CHECK(again->status == "booked");
    auto full = adapter.book({"O-2", slot, "P-DEMO-1"});
    REQUIRE_FALSE(full.ok());
    CHECK(full.error().cls == ErrorClass::Rejected);
    CHECK(full.error().code == "his.SLOT_FULL");
    auto conflict = adapter.book({"O-1", "S-DR-101-" + today + "-08:15", "P-DEMO-1"});
    REQUIRE_FALSE(conflict.ok());
    CHECK(conflict.error().code == "his.ORDER_CONFLICT");
    CHECK(conflict.error().cls == ErrorClass::Rejected);
    auto nowhere = adapter.book({"O-3", "S-NOPE", "P-DEMO-1"});
    REQUIRE_FALSE(nowhere.ok());
    CHECK(nowhere.error().cls == ErrorClass::NotFound);
    auto cancelled = adapter.cancel("O-1");
    REQUIRE(cancelled.ok());
    CHECK(cancelled->status == "cancelled");
    auto held_cancelled = adapter.booking_status("O-1");
    REQUIRE(held_cancelled.ok());
    CHECK(held_cancelled->status == "cancelled");
    CHECK(held_cancelled->slot_id == slot);
    CHECK(adapter.book({"O-2", slot, "P-DEMO-1"}).ok());
    CHECK(adapter.cancel("O-404").error().cls == ErrorClass::NotFound);

    auto paid = adapter.pay({"PAY-1", 2500, "wechat"});
    REQUIRE(paid.ok());
    CHECK(paid->status == "paid");
    CHECK(paid->amount_cents == 2500);
    CHECK(adapter.pay({"PAY-1", 2500, "wechat"}).ok());
    CHECK(adapter.pay({"PAY-1", 9900, "wechat"}).error().code == "his.ORDER_CONFLICT");
    auto status = adapter.payment_status("PAY-1");
    REQUIRE(status.ok());
    CHECK(status->status == "paid");
    CHECK(status->amount_cents == 2500);
    auto unknown = adapter.payment_status("PAY-404");
    REQUIRE(unknown.ok());
    CHECK(unknown->status == "not_found");
    auto refunded = adapter.refund({"PAY-1", 2500, "wechat"});
    REQUIRE(refunded.ok());
    CHECK(refunded->status == "refunded");
    auto lines = adapter.daily_statement(today);
    REQUIRE(lines.ok());
    REQUIRE(lines->size() == 2);
    CHECK((*lines)[0].order_id == "PAY-1");
    CHECK((*lines)[0].kind == "payment");
    CHECK((*lines)[0].amount_cents == 2500);
    CHECK((*lines)[1].kind == "refund");

    auto report = adapter.get_report("R-DEMO-1");
    REQUIRE(report.ok());
    CHECK(report->patient_id == "P-DEMO-1");
    CHECK(report->title == "Complete blood count");
    CHECK(report->status == "final");
    CHECK(report->issued_at == "2026-11-20T08:30:00");
    REQUIRE(report->observations.size() == 3);
    CHECK(report->observations[1].flag == "H");
    CHECK(report->observations[1].reference_range == "4.0-10.0");
    CHECK(adapter.get_report("R-NOPE").error().cls == ErrorClass::NotFound);
    // An id with characters that mean something in a URL or a message stays one value.
    CHECK(adapter.get_report("R/../1 ?x").error().cls == ErrorClass::NotFound);
    auto list = adapter.list_reports("P-DEMO-1");
    REQUIRE(list.ok());
    REQUIRE(list->size() == 1);
    CHECK((*list)[0].report_id == "R-DEMO-1");
    CHECK((*list)[0].status == "final");
}

// After his-sim lost the answer to a committed payment: the caller sees a timeout (the
// payment is in doubt), the status query settles it, and paying again with the same
// order id does not charge twice.
// `lost_code`, if given, is the error code the dialect reports for the lost answer.
inline void check_lost_payment_answer_settles(HisAdapter& adapter, const std::string& lost_code = {}) {
    auto lost = adapter.pay({"PAY-9", 1200, "alipay"});
    REQUIRE_FALSE(lost.ok());
    CHECK(lost.error().cls == ErrorClass::Timeout);
    if (!lost_code.empty()) CHECK(lost.error().code == lost_code);
    auto status = adapter.payment_status("PAY-9");
    REQUIRE(status.ok());
    CHECK(status->status == "paid");
    CHECK(status->amount_cents == 1200);
    CHECK(adapter.pay({"PAY-9", 1200, "alipay"}).ok());
    auto lines = adapter.daily_statement(sim::utc_today());
    REQUIRE(lines.ok());
    CHECK(lines->size() == 1);
}

}  // namespace hisgate::test

namespace hisgate::test {

// Patient sex in the HIS's own codes, both ways, through the registry's adapter (which
// applies his.code_tables.sex). The HIS's table is {"1": male, "2": female, "0"/"9":
// unknown}: it has no code for "other". his-sim keeps what reached it in HL7 table 0001
// codes in `db_path`, so "F" there means the HIS read "2" as female.
inline void check_sex_codes_travel(HisAdapter& adapter, const std::string& db_path) {
    std::string slot = "S-DR-201-" + sim::utc_today() + "-AM";
    auto booked = adapter.book({"O-SEX", slot, "P-DEMO-1", "female"});
    REQUIRE(booked.ok());
    CHECK(booked->patient_sex == "female");
    {
        auto db = sql::Db::open(db_path);
        REQUIRE(db.ok());
        auto st = db->prepare("SELECT patient_sex FROM bookings WHERE order_id = 'O-SEX'");
        REQUIRE(st.ok());
        REQUIRE(st->step());
        CHECK(st->text(0) == "F");
    }
    auto held = adapter.booking_status("O-SEX");
    REQUIRE(held.ok());
    CHECK(held->patient_sex == "female");
    auto report = adapter.get_report("R-DEMO-1");  // P-DEMO-1 is registered female
    REQUIRE(report.ok());
    CHECK(report->patient_sex == "female");
    CHECK(report->to_json()["patientSex"] == "female");
    auto other = adapter.book({"O-SEX-2", slot, "P-DEMO-1", "other"});
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().cls == ErrorClass::BadInput);
    CHECK(other.error().code == "his.unknown_sex");
    auto unsaid = adapter.book({"O-SEX-3", slot, "P-DEMO-1"});  // sex not given: none stored, none answered
    REQUIRE(unsaid.ok());
    CHECK(unsaid->patient_sex.empty());
}

// The sex code table check_sex_codes_travel expects, as his.code_tables.sex.
inline const char* kVendorSexCodes = R"({"1": "male", "2": "female", "0": "unknown", "9": "unknown"})";

}  // namespace hisgate::test

namespace hisgate::test {

// his-sim's duplicate_answers over HTTP: a copy of one answer replaces the next request's
// own (a caching proxy gone wrong). Only answers that succeed echo what they answer, so
// the copies here are of successful answers. `once` sends every request once (his.max_attempts 1),
// `twice` reads up to two times; both talk to the same HIS, `duplicate_next` arms the fault
// for one answer.
template <class ArmFault>
void check_stale_answers_are_caught(HisAdapter& once, HisAdapter& twice, ArmFault duplicate_next) {
    // The same kind of answer, for another report: caught by the echoed report id.
    duplicate_next();
    REQUIRE(once.get_report("R-DEMO-1").ok());
    auto other = once.get_report("R-H001-2");
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().cls == ErrorClass::Protocol);
    CHECK(other.error().code == "his.mismatched_answer");

    // A read that may be asked again gets its own answer the second time.
    duplicate_next();
    REQUIRE(twice.get_report("R-DEMO-1").ok());
    auto status = twice.payment_status("PAY-404");
    REQUIRE(status.ok());
    CHECK(status->status == "not_found");
    duplicate_next();
    REQUIRE(twice.get_report("R-DEMO-1").ok());
    auto list = twice.list_reports("P-DEMO-1");
    REQUIRE(list.ok());
    REQUIRE(list->size() == 1);

    // A change is never sent again: a protocol error, its outcome unknown until the status
    // query settles it (the HIS did commit it).
    duplicate_next();
    REQUIRE(twice.get_report("R-DEMO-1").ok());
    auto paid = twice.pay({"PAY-STALE", 700, "cash"});
    REQUIRE_FALSE(paid.ok());
    CHECK(paid.error().cls == ErrorClass::Protocol);
    CHECK(paid.error().code == "his.mismatched_answer");
    auto settled = twice.payment_status("PAY-STALE");
    REQUIRE(settled.ok());
    CHECK(settled->status == "paid");
    duplicate_next();
    REQUIRE(twice.get_report("R-DEMO-1").ok());
    auto booked = twice.book({"O-STALE", "S-DR-201-" + sim::utc_today() + "-PM", "P-DEMO-1"});
    REQUIRE_FALSE(booked.ok());
    CHECK(booked.error().code == "his.mismatched_answer");
    CHECK(twice.booking_status("O-STALE")->status == "booked");
    // The statement and reference data are tied to their dates too.
    duplicate_next();
    REQUIRE(once.daily_statement("2001-01-01").ok());
    CHECK(once.daily_statement(sim::utc_today()).error().code == "his.mismatched_answer");
    duplicate_next();
    REQUIRE(once.extract_reference_data("2001-01-01", "2001-01-02").ok());
    CHECK(once.extract_reference_data(sim::utc_today(), sim::utc_today()).error().code == "his.mismatched_answer");
}

}  // namespace hisgate::test
