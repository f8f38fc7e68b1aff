// The body of an "appointment.book" request, as the control plane sends it: the order,
// the slot as the platform's replica knows it, the patient's facts, and the counts the
// platform holds. Read into the rules engine's terms.
//
//   {"orderId": "O-1", "slotId": "S-...",
//    "slot": {"doctorId", "departmentId", "date": "2026-11-22", "start": "08:00", "end": "08:15",
//             "half": "AM" | "PM" | "", "visit": "first" | "follow_up", "feeCents", "depositCents"},
//    "patient": {"id", "birthDate": "1980-01-01", "sex": "female" | "male" | "unknown",
//                "realNameVerified", "noShowCount"},
//    "counts": {"doctorDay", "departmentDay", "patientDay", "patientDepartmentDay", "firstVisitsDay",
//               "followUpsDay", "patientHoldsMorning", "patientHoldsAfternoon", "prepaid", "depositPaidCents"}}
#pragma once

#include <nlohmann/json.hpp>

#include "adapters/his_adapter.h"
#include "appointment-rules/booking.h"
#include "common/error.h"

namespace hisgate::agent {

struct BookingAsk {
    BookingOrder order;
    appointments::BookingRequest request;
    appointments::BookingCounts counts;
};

// BadInput "request.invalid" naming the field and what was expected.
Result<BookingAsk> read_booking_ask(const nlohmann::json& body, std::chrono::sys_seconds now);

}  // namespace hisgate::agent
