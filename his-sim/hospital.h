// The simulated hospital's own records, in SQLite: what a real HIS would hold, and the
// rules a real HIS applies to them. Every dialect front end (HL7, REST, SOAP) calls these
// operations, so all dialects see one hospital.
//
// Invariants:
//  - An order id names one booking or one payment for ever. Repeating an operation with
//    the same order id and the same parameters returns the stored result (the HIS honours
//    idempotency keys); the same id with other parameters is refused (order.conflict).
//  - A slot never holds more bookings than its capacity.
//  - Every payment and refund is a statement line on the day it happened.
//
// Every simulated hospital is seeded with the demo report R-DEMO-1 of patient P-DEMO-1
// (docs/demo.md), departments, doctors and a week of schedules from the seed day.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/his_adapter.h"
#include "common/sqlite.h"

namespace hisgate::sim {

class Hospital {
public:
    // `today` (YYYY-MM-DD) is the first day of the seeded schedules.
    static Result<Hospital> open(const std::string& path, const std::string& hospital_id, const std::string& today);

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

    // Records what the HIS was asked, for tests that check what the HIS saw.
    void record_query(const std::string& control_id, const std::string& kind, const std::string& key);

private:
    explicit Hospital(sql::Db db) : db_(std::move(db)), mu_(std::make_unique<std::mutex>()) {}
    Result<void> seed(const std::string& hospital_id, const std::string& today);
    std::optional<Booking> stored_booking(const std::string& order_id);
    std::optional<Payment> stored_payment(const std::string& order_id);
    sql::Db db_;
    // One connection serves every connection thread: operations run one at a time, so
    // a transaction never sees another thread's half-done one.
    std::unique_ptr<std::mutex> mu_;
};

// YYYY-MM-DD of today in UTC, and N days after a date.
std::string utc_today();
std::string add_days(const std::string& date, int days);

}  // namespace hisgate::sim
