// The appointment.book body of a booking transaction (agent/booking_request.h): the ledger
// keeps only the hospital, the patient and the slot id; the slot as the platform knows it
// comes from the public partition's primary, and the facts the booking rules decide on
// from the platform's records (controlplane/booking_facts.h).
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/error.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/patient_records.h"
#include "controlplane/public_partition/public_primary.h"

namespace hisgate::controlplane::money {

// NotFound "slot.unknown" when the primary has no such slot at the hospital. Keeps the slot
// as sent with the booking in `records` (PatientRecords::keep_booked_slot).
Result<nlohmann::json> booking_body(public_partition::PublicPrimary& primary, PatientRecords& records,
                                    const ledger::Transaction& t);

// A hospital's parameter set as the control plane knows it applied: the newest set pushed
// to it that its agent applied (controlplane/config_store.h); nullopt when none was.
using HospitalParams = std::function<Result<std::optional<nlohmann::json>>(const std::string& hospital_id)>;

// Whether the patient may still cancel `booking` (a booking the hospital holds) at `now`:
// the hospital's cancellation rules (`appointment.rules`: cancellation_deadline,
// cancellation_day_before; docs/appointment-rules.md) judge the slot as the public
// primary holds it, in the hospital's zone. Rejected "appointment.<rule>.passed" with the
// rule's words (the deadline, in the hospital's time) when it is too late. Allowed when
// nothing can judge it: no primary, a slot the primary does not hold, a hospital with no
// applied set or no cancellation rule. Errors: the primary's and `params`' own, Config
// "appointment.invalid_rules" for rules that do not read, BadInput "slot.bad_shape" for a
// slot the primary holds in a shape no rule can place.
Result<void> check_cancellation(public_partition::PublicPrimary* primary, const HospitalParams& params,
                                const ledger::Transaction& booking, std::chrono::sys_seconds now);

}  // namespace hisgate::controlplane::money
