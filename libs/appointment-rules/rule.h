// One configured rule, and what it is shown when asked.
//
// RuleSet places the request in the hospital's zone once (the "view") so that every rule
// compares wall-clock dates and instants the same way, and stamps the refusal with the
// rule's kind, so a rule only says why and what the patient can do.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "appointment-rules/booking.h"
#include "common/time_zone.h"

namespace hisgate::appointments {

// "Now" and the slot, placed in the hospital's zone.
struct Moment {
    std::chrono::sys_seconds now;
    Date today;                  // the hospital's local date at `now`
    MinuteOfDay minute_now;      // the hospital's local time of day at `now`
    std::chrono::sys_seconds slot_day_start;             // 00:00 local on the slot's date
    std::optional<std::chrono::sys_seconds> slot_start;  // a timed slot's start instant
    const TimeZone* zone;
};

struct BookingView {
    const BookingRequest& request;
    const BookingCounts& counts;
    const Moment& moment;

    const Slot& slot() const { return request.slot; }
    const Patient& patient() const { return request.patient; }
};

struct CancellationView {
    const CancellationRequest& request;
    const Moment& moment;

    const Slot& slot() const { return request.slot; }
};

// A refusal before RuleSet stamps it: `reason` becomes the tail of the code.
struct Objection {
    std::string reason;
    std::string message_for_patient;
};

class Rule {
public:
    virtual ~Rule() = default;
    // A rule kind is about bookings or about cancellations; the other check says yes.
    virtual std::optional<Objection> check_booking(const BookingView&) const { return std::nullopt; }
    virtual std::optional<Objection> check_cancellation(const CancellationView&) const { return std::nullopt; }
};

}  // namespace hisgate::appointments
