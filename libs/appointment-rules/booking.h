// What the rules engine is asked about: a booking or a cancellation, with the facts the
// caller (portal, control plane, agent) already holds. The engine reads no clock and no
// ledger; everything it decides on is in these structs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "appointment-rules/calendar.h"

namespace hisgate::appointments {

enum class Half { none, morning, afternoon };
enum class VisitKind { first, follow_up };
enum class Sex { unknown, female, male };

// Start and end of a timed slot, wall-clock minutes in the hospital's zone; start < end.
struct SlotTime {
    MinuteOfDay start = 0;
    MinuteOfDay end = 0;
};

struct Slot {
    std::string doctor_id;
    std::string department_id;
    Date date{};                       // the day of the appointment, in the hospital's zone
    std::optional<SlotTime> time;      // none: a whole-day (or whole-half) quota without a time
    Half half = Half::none;            // the session, when the HIS names one
    VisitKind visit = VisitKind::first;
    int64_t fee = 0;                   // registration fee, minor currency units (fen, cents)
    int64_t deposit = 0;               // deposit the HIS asks for this slot, minor units
};

struct Patient {
    std::string id;
    Date birth_date{};
    Sex sex = Sex::unknown;
    bool real_name_verified = false;
    int no_show_count = 0;  // missed appointments, counted over the hospital's own window
};

struct BookingRequest {
    Patient patient;
    Slot slot;
    std::chrono::sys_seconds requested_at{};  // "now", UTC
};

// What the HIS or the ledger already holds for the slot's date, as the caller counted it.
// Every count excludes the booking being checked.
struct BookingCounts {
    int doctor_day = 0;              // bookings with this doctor on that date
    int department_day = 0;          // bookings in this department on that date
    int patient_day = 0;             // this patient's bookings on that date, any department
    int patient_department_day = 0;  // this patient's bookings in this department on that date
    int first_visits_day = 0;        // first-visit bookings with this doctor on that date
    int follow_ups_day = 0;          // follow-up bookings with this doctor on that date
    bool patient_holds_morning = false;    // the patient already has a morning booking that date
    bool patient_holds_afternoon = false;  // ... an afternoon booking
    bool prepaid = false;            // the slot's fee has been paid in advance
    int64_t deposit_paid = 0;        // deposit paid towards this booking, minor units
};

struct CancellationRequest {
    Slot slot;
    std::chrono::sys_seconds requested_at{};  // "now", UTC
};

// Why a booking or cancellation was refused. `rule` is the rule kind as the parameters
// name it, `code` is "<rule>.<reason>" (stable, for machines), and the message is for the
// patient: plain words, what to do next, no jargon.
struct Refusal {
    std::string rule;
    std::string code;
    std::string message_for_patient;
};

}  // namespace hisgate::appointments
