#include "controlplane/booking_facts.h"

namespace hisgate::controlplane {

namespace {

// A string at `object[key]`, or "" (the agent refuses a body without the fields it needs;
// here a missing one only counts nothing).
std::string text_at(const nlohmann::json& object, const char* section, const char* key) {
    if (!object.is_object()) return "";
    auto s = object.find(section);
    if (s == object.end() || !s->is_object()) return "";
    auto v = s->find(key);
    return v != s->end() && v->is_string() ? v->get<std::string>() : "";
}

std::string order_of(const nlohmann::json& booking) {
    auto o = booking.find("orderId");
    return o != booking.end() && o->is_string() ? o->get<std::string>() : "";
}

}  // namespace

Result<void> fill_booking_facts(PatientRecords& records, const std::string& hospital_id, nlohmann::json& booking) {
    const std::string patient_id = text_at(booking, "patient", "id");
    auto facts = records.facts(patient_id);
    if (!facts) return facts.error();
    auto counts = records.counts({hospital_id, patient_id, order_of(booking), text_at(booking, "slot", "doctorId"),
                                  text_at(booking, "slot", "departmentId"), text_at(booking, "slot", "date")});
    if (!counts) return counts.error();
    if (!booking["patient"].is_object()) booking["patient"] = nlohmann::json::object();
    booking["patient"]["realNameVerified"] = facts->real_name_verified;
    booking["patient"]["noShowCount"] = facts->no_show_count;
    const auto& c = *counts;
    booking["counts"] = {{"doctorDay", c.doctor_day},
                         {"departmentDay", c.department_day},
                         {"patientDay", c.patient_day},
                         {"patientDepartmentDay", c.patient_department_day},
                         {"firstVisitsDay", c.first_visits_day},
                         {"followUpsDay", c.follow_ups_day},
                         {"patientHoldsMorning", c.patient_holds_morning},
                         {"patientHoldsAfternoon", c.patient_holds_afternoon},
                         {"prepaid", c.prepaid},
                         {"depositPaidCents", c.deposit_paid}};
    return {};
}

std::optional<BookingNote> booking_note(const std::string& hospital_id, const Envelope& request, const Envelope& reply) {
    if (request.type != "appointment.book" || reply.error || !reply.body.is_object() ||
        reply.body.value("status", "") != "booked")
        return std::nullopt;
    const auto& b = request.body;
    std::string visit = text_at(b, "slot", "visit");
    return BookingNote{request.id, hospital_id, text_at(b, "patient", "id"), order_of(b),
                       text_at(b, "slot", "doctorId"), text_at(b, "slot", "departmentId"),
                       text_at(b, "slot", "date"), text_at(b, "slot", "half"), visit.empty() ? "first" : visit};
}

Result<void> note_booked(PatientRecords& records, const std::string& hospital_id, const Envelope& request,
                         const Envelope& reply) {
    auto note = booking_note(hospital_id, request, reply);
    if (!note) return {};
    return records.note_booking(*note);
}

}  // namespace hisgate::controlplane
