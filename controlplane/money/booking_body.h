// The appointment.book body of a booking transaction (agent/booking_request.h): the ledger
// keeps only the hospital, the patient and the slot id; the slot as the platform knows it
// comes from the public partition's primary, and the facts the booking rules decide on
// from the platform's records (controlplane/booking_facts.h).
#pragma once

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/patient_records.h"
#include "controlplane/public_partition/public_primary.h"

namespace hisgate::controlplane::money {

// NotFound "slot.unknown" when the primary has no such slot at the hospital.
Result<nlohmann::json> booking_body(public_partition::PublicPrimary& primary, PatientRecords& records,
                                    const ledger::Transaction& t);

}  // namespace hisgate::controlplane::money
