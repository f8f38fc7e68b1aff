// Reads the reference-data messages a HIS pushes into updates (adapters/his_adapter.h):
//   MFN^M02  staff/practitioner master file: one doctor per MFE group (MFE + STF [+ PRA])
//   MFN^M05  patient location master file:   one department per MFE group (MFE + LOC)
//   SIU^S12 / S13 / S14  a slot booked, rescheduled or modified: the slot as it now is (upsert)
//   SIU^S15 / S17        a slot cancelled or deleted: it is no longer offered (delete)
// MFE-1 says what happens to the record: MAD, MUP and MAC upsert; MDL and MDC delete.
// Field positions come from PushFields. A message is applied whole or not at all: the first
// problem refuses it, naming the segment, field and what was expected.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "adapters/hl7v2/push_fields.h"
#include "adapters/his_adapter.h"
#include "hl7/ack.h"
#include "hl7/message.h"

namespace hisgate::hl7v2 {

struct PushRefusal {
    hl7::AckCode code = hl7::AckCode::AE;  // AR: a message we do not take; AE: one we cannot apply
    hl7::AckError error;                   // HL7 table 0357 code, location, reason
};

struct PushReading {
    std::string kind;  // MSH-9-1^MSH-9-2, e.g. "SIU^S12"
    std::vector<ReferenceUpdate> updates;
    std::optional<PushRefusal> refusal;
};

PushReading read_push(const hl7::Message& message, const PushFields& fields);

}  // namespace hisgate::hl7v2
