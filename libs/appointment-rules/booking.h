// What the rules engine is asked about: a booking or a cancellation, with the facts the
// caller (portal, control plane, agent) already holds. The engine reads no clock and no
// ledger; everything it decides on is in these structs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "appointment-rules/calendar.h"

namespace hisgate::appointments {

// A HIS's slot id as the platform takes it: 1 to 64 bytes of A-Z a-z 0-9 and - _ . :
// HIS ids often join a doctor and a time ("DR001:2026-12-07T09:00", his-sim's
// "S-DR-101-2026-12-07-08:00"), so ':' is one of its characters; the platform keeps and
// forwards the id whole and never splits it. 64 is every request body's limit for an id
// field (transport/limits.h kIdBytes), which the API and the agent both hold "slotId" to.
inline constexpr size_t kMaxSlotIdBytes = 64;
inline bool valid_slot_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxSlotIdBytes) return false;
    for (char c : id)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':'))
            return false;
    return true;
}
inline constexpr const char* kSlotIdForm = "1 to 64 characters of A-Z a-z 0-9 - _ . :";

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
