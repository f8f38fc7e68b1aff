#include "controlplane/money/booking_body.h"

#include "appointment-rules/rule_set.h"
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
    // Kept with the booking as it is sent, so its Appointment has times when the slot has
    // left the partition (FHIR R4 app-3: a pending or booked Appointment has start and end).
    auto text = [&](const char* field) { return s.contains(field) && s[field].is_string() ? s[field].get<std::string>() : ""; };
    BookedSlot kept{t.intent.hospital_id, slot_id, text("doctorId"), text("date"), text("start"), text("end"), text("half")};
    if (auto noted = records.keep_booked_slot(t.intent.id, kept); !noted) return noted.error();
    return body;
}

namespace {

// The slot the rules judge, from the primary's row (the fields booking_body sends).
Result<appointments::Slot> rules_slot(const nlohmann::json& s, const std::string& slot_id) {
    auto text = [&](const char* field) {
        return s.contains(field) && s[field].is_string() ? s[field].get<std::string>() : std::string();
    };
    auto bad = [&](const std::string& what) {
        return make_error(ErrorClass::BadInput, "slot.bad_shape", "slot " + slot_id + ": " + what);
    };
    appointments::Slot slot;
    slot.doctor_id = text("doctorId");
    slot.department_id = text("departmentId");
    auto date = appointments::parse_date(text("date"));
    if (!date) return bad("date: expected YYYY-MM-DD, found \"" + text("date") + "\"");
    slot.date = *date;
    const std::string start = text("start"), end = text("end");
    if (!start.empty() || !end.empty()) {
        auto from = appointments::parse_time_of_day(start), to = appointments::parse_time_of_day(end);
        if (!from || !to) return bad("start, end: expected HH:MM or neither, found \"" + start + "\" to \"" + end + "\"");
        slot.time = appointments::SlotTime{*from, *to};
    }
    const std::string half = text("half");
    slot.half = half == "AM" ? appointments::Half::morning : half == "PM" ? appointments::Half::afternoon : appointments::Half::none;
    return slot;
}

}  // namespace

Result<void> check_cancellation(public_partition::PublicPrimary* primary, const HospitalParams& params,
                                const ledger::Transaction& booking, std::chrono::sys_seconds now) {
    if (!primary || !params) return {};
    const std::string& hospital = booking.intent.hospital_id;
    const std::string& slot_id = booking.intent.purpose;
    auto set = params(hospital);
    if (!set) return set.error();
    if (!*set || !(*set)->is_object() || !(*set)->contains("appointment")) return {};
    const nlohmann::json& p = **set;
    std::string zone;
    if (p.contains("hospital") && p["hospital"].is_object() && p["hospital"].contains("timezone") &&
        p["hospital"]["timezone"].is_string())
        zone = p["hospital"]["timezone"].get<std::string>();
    auto rules = appointments::RuleSet::from_params(p["appointment"], "the applied parameters of " + hospital, zone);
    if (!rules) return rules.error();
    auto row = primary->slot(hospital, slot_id);
    if (!row) return row.error();
    if (!*row) return {};
    auto slot = rules_slot(**row, slot_id);
    if (!slot) return slot.error();
    auto refusal = rules->check_cancellation(appointments::CancellationRequest{*slot, now});
    if (!refusal) return {};
    return make_error(ErrorClass::Rejected, "appointment." + refusal->code,
                      "booking " + booking.intent.id + " (slot " + slot_id + " at " + hospital +
                          ") cannot be cancelled online: the hospital's rule " + refusal->rule + " says: " +
                          refusal->message_for_patient + " Nothing was changed.");
}

}  // namespace hisgate::controlplane::money
