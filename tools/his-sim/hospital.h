// The simulated hospital's own records, in SQLite: what a real HIS would hold, and the
// rules a real HIS applies to them. Every dialect front end (HL7, REST, SOAP) calls these
// operations, so all dialects see one hospital.
//
// Invariants:
//  - With OrderIds::IdempotencyKeys (his.idempotent_orders true, the default) an order id
//    names one booking or one payment for ever: repeating book, pay or refund with the same
//    order id and the same parameters returns the stored result and changes nothing; the
//    same id with other parameters is refused (order.conflict).
//  - With OrderIds::ExecuteAgain (his.idempotent_orders false) the HIS does not honour the
//    id: every book, pay and refund it receives is executed again (another seat taken,
//    another payment row, another statement line), whatever ids it repeats. Lookups by
//    order id (cancel, booking_status, payment_status, refund) see the latest row.
//    Cancelling is idempotent in both modes.
//  - A slot never holds more bookings than its capacity.
//  - Patient sex is kept in HL7 table 0001 codes (M, F, O, U): on patients, and on a
//    booking as the booking gave it ("" if it gave none); front ends speak the dialect's
//    codes (his.code_tables.sex).
//  - Every payment and refund is a statement line on the day it happened.
//
// Counting executions (tests open the SQLite file read-only): every time the HIS executes
// (commits) a book, cancel, pay or refund, and only then, it adds one row to
//   executions(execution_no INTEGER PRIMARY KEY, order_id TEXT, operation TEXT, at TEXT)
// with operation one of 'book', 'cancel', 'pay', 'refund'; a replay answered from stored
// results, a refusal and a query add none. So how many times an order was executed is
//   SELECT count(*) FROM executions WHERE order_id = ? AND operation = ?
// The business records agree: bookings has one row per executed booking, payments one
// row per executed payment, statement one line per executed payment and refund (kind
// 'payment' / 'refund'), each with the order id in column order_id.
//
// Every simulated hospital is seeded with the demo report R-DEMO-1 of patient P-DEMO-1
// (docs/demo.md), departments, doctors and a week of schedules from the seed day; their
// names in English, or in Chinese (SeedNames::Chinese: his-sim's choice for a hospital
// whose HIS speaks GB 18030, so CJK text travels that charset end to end). Ids, values
// and schedules are the same in both.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/his_adapter.h"
#include "common/sqlite.h"

namespace hisgate::sim {

// How the HIS treats the platform's order ids (his.idempotent_orders).
enum class OrderIds {
    IdempotencyKeys,  // a repeat returns the stored result
    ExecuteAgain,     // a repeat is executed again
};

// The language of the seeded names (departments, doctors, patients, reports).
enum class SeedNames { English, Chinese };

class Hospital {
public:
    // `today` (YYYY-MM-DD) is the first day of the seeded schedules. Errors: Config if the
    // file holds a hospital of an older his-sim schema (remove it: it is re-seeded).
    static Result<Hospital> open(const std::string& path, const std::string& hospital_id, const std::string& today,
                                 OrderIds order_ids = OrderIds::IdempotencyKeys, SeedNames names = SeedNames::English);

    ReferenceData reference_data(const std::string& from_date, const std::string& to_date);
    Result<Booking> book(const BookingOrder& order);
    Result<Booking> cancel(const std::string& order_id);
    // What is held for this order id; status not_found if nothing.
    Booking booking_status(const std::string& order_id);
    Result<Payment> pay(const PaymentOrder& order);
    Result<Payment> refund(const PaymentOrder& order);
    Payment payment_status(const std::string& order_id);
    std::optional<Report> report(const std::string& report_id);
    std::vector<ReportSummary> reports_of(const std::string& patient_id);
    std::vector<StatementLine> statement(const std::string& date);

    // Reference data changed on command (the control API, tools/his-sim/reference_control.h),
    // as the hospital's own staff would: the next extraction of any dialect sees it.
    // Errors: BadInput "doctor.departmentId" / "slot.doctorId" / "slot.departmentId" when
    // the record names one the hospital lacks; Rejected "slot.booked" when capacity or
    // booked would hold fewer places than its bookings; Rejected "doctor.has_slots" /
    // "slot.has_bookings" when a delete would orphan them. Deleting what is not there: false.
    Result<void> put_doctor(const Doctor& d);
    Result<bool> delete_doctor(const std::string& doctor_id);
    Result<void> put_slot(const ScheduleSlot& s);
    Result<bool> delete_slot(const std::string& slot_id);

    // Records what the HIS was asked, for tests that check what the HIS saw.
    void record_query(const std::string& control_id, const std::string& kind, const std::string& key);

private:
    Hospital(sql::Db db, OrderIds order_ids)
        : db_(std::move(db)), idempotent_(order_ids == OrderIds::IdempotencyKeys), mu_(std::make_unique<std::mutex>()) {}
    Result<void> seed(const std::string& hospital_id, const std::string& today, SeedNames names);
    // The latest row for this order id.
    std::optional<Booking> stored_booking(const std::string& order_id);
    std::optional<Payment> stored_payment(const std::string& order_id);
    Result<void> record_execution(const std::string& order_id, const char* operation);
    // How many rows `sql` (one ? bound to `key`) counts; -1 when unreadable.
    int64_t count_of(const char* sql, const std::string& key);
    sql::Db db_;
    bool idempotent_;
    // One connection serves every connection thread: operations run one at a time, so
    // a transaction never sees another thread's half-done one.
    std::unique_ptr<std::mutex> mu_;
};

// YYYY-MM-DD of today in UTC, and N days after a date.
std::string utc_today();
std::string add_days(const std::string& date, int days);

}  // namespace hisgate::sim
