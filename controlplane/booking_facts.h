// What the platform tells the booking rules about a booking (issue 12 item 4). The facts a
// rule decides on (real-name verification, missed visits, bookings already made, what was
// paid) are the platform's records (controlplane/patient_records.h): fill_booking_facts
// writes them into the booking body the agent receives, over whatever the caller wrote
// there. note_booked keeps the records current from the hospitals' answers.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/error.h"
#include "controlplane/patient_records.h"
#include "transport/envelope.h"

namespace hisgate::controlplane {

// Sets `booking`'s patient.realNameVerified, patient.noShowCount and counts (the fields
// agent/booking_request.h reads) from `records`, for a booking at `hospital_id`.
Result<void> fill_booking_facts(PatientRecords& records, const std::string& hospital_id, nlohmann::json& booking);

// The note of a booking the hospital confirmed: `request` answered by `reply` from
// `hospital_id`; none for any other answer.
std::optional<BookingNote> booking_note(const std::string& hospital_id, const Envelope& request, const Envelope& reply);

// `request` was answered by `reply` from `hospital_id`: a booking the hospital confirmed
// is noted (once per request id). Any other answer changes nothing.
Result<void> note_booked(PatientRecords& records, const std::string& hospital_id, const Envelope& request,
                         const Envelope& reply);

}  // namespace hisgate::controlplane
