// What the platform needs from a hospital information system, whatever dialect it speaks.
// The agent core sees only this interface; which implementation runs, and how it is
// shaped (endpoints, versions, field positions, code tables), comes from parameters.
//
// Every operation that changes the HIS carries the platform's order id, which the HIS
// keeps as its own order number: a retry or a status query reuses it, so an operation
// is never applied twice where the HIS honours the id.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "common/error.h"

namespace hisgate {

// Fields added after a struct's first release have default initializers, so callers that
// list the earlier fields in braces still compile without them.

struct Observation {
    std::string code;
    std::string name;
    std::string value;
    std::string units;
    std::string reference_range;
    std::string flag;  // normal/abnormal flag as the HIS sent it (N, H, L, ...)
    // The LOINC coding of `code` from the hospital's his.code_tables.lab_loinc (set around
    // every dialect by adapters/parameter_rules.h); "" when the code is not mapped.
    std::string loinc_code = {};
    std::string loinc_display = {};
};

struct Report {
    std::string report_id;
    std::string patient_id;
    std::string title;
    std::string status;     // final, preliminary, corrected
    std::string issued_at;  // ISO 8601
    std::vector<Observation> observations;
    std::string patient_sex = {};  // male, female, other, unknown; "" if the HIS did not say

    nlohmann::json to_json() const;
};

struct ReportSummary {
    std::string report_id;
    std::string title;
    std::string status;
    std::string issued_at;
};

struct Department {
    std::string department_id;
    std::string name;
};

struct Doctor {
    std::string doctor_id;
    std::string department_id;
    std::string name;  // a clinician's name is public reference data, not PHI
    std::string title;
};

// One bookable unit as the HIS publishes it: a timed slot, or a half-day or whole-day
// quota (start/end empty).
struct ScheduleSlot {
    std::string slot_id;
    std::string doctor_id;
    std::string department_id;
    std::string date;   // YYYY-MM-DD, hospital time
    std::string start;  // HH:MM or ""
    std::string end;    // HH:MM or ""
    std::string half;   // "AM", "PM" or ""
    int capacity = 0;
    int booked = 0;
    int64_t fee_cents = 0;
};

struct ReferenceData {
    std::vector<Department> departments;
    std::vector<Doctor> doctors;
    std::vector<ScheduleSlot> slots;
};

struct BookingOrder {
    std::string order_id;  // the platform's id; the HIS keeps it as its order number
    std::string slot_id;
    std::string patient_id;
    std::string patient_sex = {};  // male, female, other, unknown; "" = not given
};

struct Booking {
    std::string order_id;
    std::string slot_id;
    std::string patient_id;
    std::string status;  // booked, cancelled (not_found: from booking_status only)
    std::string patient_sex = {};  // as the HIS holds it (male, female, other, unknown); "" if it did not say
};

struct PaymentOrder {
    std::string order_id;
    int64_t amount_cents = 0;
    std::string method;  // hisgate's payment method code (mapped by the dialect's code table)
};

struct Payment {
    std::string order_id;
    int64_t amount_cents = 0;
    std::string status;  // paid, refunded, not_found
};

struct StatementLine {
    std::string order_id;
    std::string kind;  // payment, refund
    int64_t amount_cents = 0;
};

// The HIS's clock as one of its answers shows it.
struct HisClockReading {
    std::chrono::system_clock::time_point his;    // what the HIS wrote, to the second
    std::chrono::system_clock::time_point local;  // this server's clock halfway through the exchange
    std::string source;                           // where `his` came from, e.g. "MSH-7 \"...\" of its answer"
    bool zone_assumed = false;                    // the HIS gave no offset: read in his.timezone
};

// A reference-data record the HIS pushed by itself, as it now is, or withdrawn (no longer
// offered: only its id is set).
struct ReferenceUpdate {
    std::variant<Department, Doctor, ScheduleSlot> record;
    bool withdrawn = false;
};

// One push from the HIS: what it sent, applied whole or not at all.
struct ReferencePush {
    std::string trigger;     // the HIS's name for the message, e.g. "SIU^S12"
    std::string message_id;  // its own id for it (HL7: the control id)
    std::vector<ReferenceUpdate> updates;
};

// Takes one push; an error means it was not stored, and the HIS is told to send it again.
using PushHandler = std::function<Result<void>(const ReferencePush& push)>;

// A listener for the HIS's pushes, as the adapter runs it. Stops when destroyed.
class PushListener {
public:
    virtual ~PushListener() = default;
    virtual uint16_t port() const = 0;  // where it listens
    virtual void stop() = 0;            // idempotent
};

class HisAdapter {
public:
    virtual ~HisAdapter() = default;
    // The dialect name from the parameter file, e.g. "hl7v2-mllp".
    virtual std::string dialect() const = 0;

    // Errors, for every operation: NotFound (no such thing), Unavailable (HIS unreachable),
    // Timeout (no answer: the outcome is unknown, so a changing operation must be checked
    // with a status query before it is sent again), Protocol (an answer we cannot read),
    // Rejected (the HIS understood and said no; the message says why). After a Timeout or a
    // Protocol error on a changing operation its outcome is unknown.
    virtual Result<ReferenceData> extract_reference_data(const std::string& from_date, const std::string& to_date) = 0;
    virtual Result<Booking> book(const BookingOrder& order) = 0;
    virtual Result<Booking> cancel(const std::string& order_id) = 0;
    // For a booking whose outcome is unknown (a lost answer, a crash between sending and
    // recording): what the HIS holds for this order id, status booked, cancelled, or
    // not_found if nothing. A read: it changes nothing and may be repeated.
    virtual Result<Booking> booking_status(const std::string& order_id) = 0;
    virtual Result<Payment> pay(const PaymentOrder& order) = 0;
    virtual Result<Payment> refund(const PaymentOrder& order) = 0;
    // For in-doubt payments: what the HIS holds for this order id (status not_found if nothing).
    virtual Result<Payment> payment_status(const std::string& order_id) = 0;
    virtual Result<Report> get_report(const std::string& report_id) = 0;
    virtual Result<std::vector<ReportSummary>> list_reports(const std::string& patient_id) = 0;
    // Every payment and refund the HIS recorded on that day (YYYY-MM-DD), for reconciliation.
    virtual Result<std::vector<StatementLine>> daily_statement(const std::string& date) = 0;

    // Capabilities beyond the business operations, so nothing outside the adapters needs
    // to know how a dialect carries them:

    // The HIS's clock, from a read-only exchange (the installer's self-check, agent/doctor):
    // hl7v2-mllp reads MSH-7 of a payment status answer for a made-up order, a time
    // without an offset read in his.timezone (else hospital.timezone); rest-json and
    // soap-xml read the HTTP Date header of the answer to a GET of the endpoint (any
    // status). Errors as for the operations; Protocol when the answer carries no readable time.
    virtual Result<HisClockReading> read_clock() = 0;

    // Starts taking the reference-data changes the HIS pushes by itself, handing each to
    // `handler` (from the listener's connection threads, possibly at once), when the hospital's
    // parameters ask for it (extraction.push.listen); nullptr when they do not. hl7v2-mllp
    // listens for MFN^M02/M05 and SIU^S12-S17 over MLLP, field positions from
    // extraction.hl7.fields; the other dialects take no pushes (their factories refuse
    // extraction.push.listen). Errors: Unavailable "mllp.bind_failed" (nothing started).
    virtual Result<std::unique_ptr<PushListener>> listen_for_pushes(PushHandler handler) = 0;
};

}  // namespace hisgate
