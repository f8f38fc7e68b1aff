#include "controlplane/money/booking_body.h"

#include "controlplane/booking_facts.h"

namespace hisgate::controlplane::money {

Result<nlohmann::json> booking_body(public_partition::PublicPrimary& primary, PatientRecords& records,
                                    const ledger::Transaction& t) {
    const auto& slot_id = t.intent.purpose;
    auto slot = primary.slot(t.intent.hospital_id, slot_id);
    if (!slot) return slot.error();
    if (!*slot) return make_error(ErrorClass::NotFound, "slot.unknown", "no slot " + slot_id + " at " + t.intent.hospital_id);
    const auto& s = **slot;
    nlohmann::json wanted = nlohmann::json::object();
    for (const char* field : {"doctorId", "departmentId", "date", "start", "end", "half", "feeCents"})
        if (s.contains(field)) wanted[field] = s[field];
    nlohmann::json body = {{"orderId", t.intent.id},
                           {"slotId", slot_id},
                           {"slot", wanted},
                           {"patient", {{"id", t.intent.patient_id}}}};
    if (auto filled = fill_booking_facts(records, t.intent.hospital_id, body); !filled) return filled.error();
    return body;
}

}  // namespace hisgate::controlplane::money
