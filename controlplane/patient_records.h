// The platform's own records about patients, which the booking rules trust (issue 12 item 4):
// whether a patient's real name is verified and how often they missed a visit (set by the
// platform's identity check and the hospitals' no-show feeds, through the API with an admin
// or service token), the bookings made through the platform (noted when a hospital's answer
// says "booked"), and what was paid towards an order (noted by the payment side).
//
// A booking's rule facts are always filled from here (controlplane/booking_facts.h); what a
// caller writes into those fields of its JSON is replaced, never believed.
//
// Counts are the platform's: bookings the hospital took by other channels (its own window,
// phone) are not in them; the public partition's replica (issue 14) will add the HIS's view.
// A booking is noted once per request id (a resent answer changes nothing). The slot each
// booking was sent for is kept by transaction id (BookedSlot), for the FHIR facade.
//
// This is the interface; SQLite implements it (open_sqlite_patient_records), and a shared
// database (PostgreSQL) would implement the same for several control-plane instances.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "appointment-rules/booking.h"
#include "common/clock.h"
#include "common/error.h"

namespace hisgate::sql {
class SharedDb;
}

namespace hisgate::controlplane {

struct PatientFacts {
    bool real_name_verified = false;
    int no_show_count = 0;
};

// One booking the platform made, as its request named the slot.
struct BookingNote {
    std::string request_id;  // the task that booked it
    std::string hospital_id;
    std::string patient_id;
    std::string order_id;
    std::string doctor_id;
    std::string department_id;
    std::string date;  // YYYY-MM-DD
    std::string half;  // "AM", "PM" or ""
    std::string visit;  // "first" or "follow_up"
};

// The slot a new booking asks for, as the counts are taken about it.
struct SlotAsked {
    std::string hospital_id;
    std::string patient_id;
    std::string order_id;
    std::string doctor_id;
    std::string department_id;
    std::string date;
};

// The slot a booking was sent to the hospital for, as the public partition held it then
// (money::booking_body keeps it): the booking's Appointment keeps its times after the slot
// has left the partition (a past day, a slot the hospital withdrew).
struct BookedSlot {
    std::string hospital_id;
    std::string slot_id;
    std::string doctor_id;
    std::string date;   // YYYY-MM-DD
    std::string start;  // HH:MM or "" (a half- or whole-day quota)
    std::string end;
    std::string half;   // "AM", "PM" or ""
};

struct OrderPayment {
    bool prepaid = false;       // the slot's fee was paid in advance
    int64_t deposit_cents = 0;  // deposit paid towards the order
};

class PatientRecords {
public:
    virtual ~PatientRecords() = default;

    // A patient never recorded has the default facts: not verified, no missed visits.
    virtual Result<PatientFacts> facts(const std::string& patient_id) = 0;
    virtual Result<void> set_facts(const std::string& patient_id, const PatientFacts& facts) = 0;

    // The counts the booking rules take, about `slot`, from the bookings noted so far
    // and the payments towards its order.
    virtual Result<appointments::BookingCounts> counts(const SlotAsked& slot) = 0;
    // A booking the hospital confirmed; noting one request id again changes nothing.
    virtual Result<void> note_booking(const BookingNote& booking) = 0;
    // The slot booking `transaction_id` was sent for; kept again it is replaced (the same
    // slot, unless the partition changed it between attempts).
    virtual Result<void> keep_booked_slot(const std::string& transaction_id, const BookedSlot& slot) = 0;
    // nullopt when none was kept (a booking never sent, or made before this was kept).
    virtual Result<std::optional<BookedSlot>> booked_slot(const std::string& transaction_id) = 0;
    // A payment towards an order (replaces what was recorded for it).
    virtual Result<void> set_payment(const std::string& hospital_id, const std::string& patient_id,
                                     const std::string& order_id, const OrderPayment& paid) = 0;
};

// `path` is a SQLite file (the control plane's results_db), or ":memory:".
Result<std::unique_ptr<PatientRecords>> open_sqlite_patient_records(const std::string& path, Clock& clock);
// On a connection other stores share (common/sql_shared.h): what it writes can be one
// transaction with theirs (controlplane/answer_commit.h).
Result<std::unique_ptr<PatientRecords>> open_sqlite_patient_records(std::shared_ptr<sql::SharedDb> shared, Clock& clock);

}  // namespace hisgate::controlplane
