#include "controlplane/fhir/fhir_patient.h"

#include <cctype>
#include <regex>

#include "controlplane/fhir/fhir_resources.h"
#include "hl7/report_values.h"

namespace hisgate::controlplane::fhir {

namespace {

std::string fhir_patient_text(const nlohmann::json& item, const char* name) {
    auto f = item.is_object() ? item.find(name) : item.end();
    return f != item.end() && f->is_string() ? f->get<std::string>() : "";
}

nlohmann::json fhir_patient_subject(const std::string& patient_id) {
    return {{"type", "Patient"}, {"identifier", {{"system", kPatientSystem}, {"value", patient_id}}}};
}

std::string fhir_xhtml_escaped(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '&') out += "&amp;";
        else if (c == '<') out += "&lt;";
        else if (c == '>') out += "&gt;";
        else out.push_back(c);
    }
    return out;
}

// A decimal as FHIR's JSON takes it (no exponent, no leading '+', no bare '.').
bool fhir_decimal(const std::string& s) {
    static const std::regex form(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?)");
    return s.size() <= 32 && std::regex_match(s, form);
}

// A result line's "loinc" ({code, display}, set by the agent from the hospital's
// his.code_tables.lab_loinc) as a coding of http://loinc.org; nothing when the line has
// none or it is not of that form (the agent's parameters checked it; this does not trust it).
std::optional<nlohmann::json> fhir_loinc_coding(const nlohmann::json& line) {
    auto l = line.find("loinc");
    if (l == line.end() || !l->is_object()) return std::nullopt;
    static const std::regex number(R"([0-9]{1,7}-[0-9])");
    const std::string code = fhir_patient_text(*l, "code"), display = fhir_patient_text(*l, "display");
    if (!std::regex_match(code, number)) return std::nullopt;
    nlohmann::json coding = {{"system", kLoincSystem}, {"code", code}};
    if (!display.empty() && display.size() <= 256) coding["display"] = display;
    return coding;
}

}  // namespace

std::string fhir_instant(const std::string& t) {
    // An HL7 DTM (as a hospital writes it) -> ISO first; the agent sends ISO already.
    const std::string s = hl7::iso_timestamp(t).value_or(t);
    static const std::regex iso(
        R"(([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2})(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)");
    std::smatch m;
    if (s.size() > 40 || !std::regex_match(s, m, iso)) return "";
    std::string seconds = m[3].matched ? m[3].str() : ":00";
    std::string zone = m[5].matched ? m[5].str() : "+08:00";
    return m[1].str() + "T" + m[2].str() + seconds + zone;
}

std::string report_status(const std::string& his) { return hl7::report_status(his).value_or("unknown"); }

std::string appointment_status(const nlohmann::json& booking) {
    const std::string state = fhir_patient_text(booking, "state");
    const std::string cancel = fhir_patient_text(booking.value("cancel", nlohmann::json::object()), "state");
    if (cancel == "CONFIRMED" || cancel == "POSTED") return "cancelled";
    if (state == "CONFIRMED" || state == "POSTED") return "booked";
    if (state == "REJECTED" || state == "VOIDED" || state == "REFUNDED") return "cancelled";
    return "pending";  // CREATED, HELD, DISPATCHED, IN_DOUBT: not yet the hospital's answer
}

nlohmann::json appointment(const nlohmann::json& booking, const std::optional<nlohmann::json>& slot_item) {
    const std::string id = fhir_patient_text(booking, "transactionId");
    const std::string hospital = fhir_patient_text(booking, "hospitalId");
    const std::string state = fhir_patient_text(booking, "state");
    const std::string status = appointment_status(booking);
    const nlohmann::json cancel = booking.value("cancel", nlohmann::json());
    nlohmann::json r = {{"resourceType", "Appointment"}, {"id", id}};
    // The ledger's own state, for a client that wants more than FHIR's status says (IN_DOUBT
    // is "pending": confirming with the hospital, never a failure).
    r["extension"] = {{{"url", kLedgerStateExtension}, {"valueCode", state}}};
    r["identifier"] = {{{"system", "urn:hisgate:transaction"}, {"value", id}}};
    r["status"] = status;
    // What the patient reads about it (the ledger's words, as GET /api/v1/transactions/{id}).
    const nlohmann::json& words = cancel.is_object() && status != "pending" ? cancel["status"] : booking["status"];
    const std::string en = fhir_patient_text(words, "en"), zh = fhir_patient_text(words, "zh");
    if (!en.empty()) {
        const std::string said = en + (zh.empty() ? "" : " (" + zh + ")");
        r["comment"] = said;
        // The same words as the narrative a client shows (IN_DOUBT: "confirming with the hospital").
        r["text"] = {{"status", "generated"},
                     {"div", "<div xmlns=\"http://www.w3.org/1999/xhtml\">" + fhir_xhtml_escaped(said) + "</div>"}};
    }
    if (status == "cancelled")
        r["cancelationReason"] = {{"text", cancel.is_object() ? "cancelled by the patient"
                                                              : "not completed at the hospital; any money paid goes back"}};
    // The slot as the public partition holds it, else as it was when the booking was sent
    // (R4 app-3: a pending or booked Appointment has its start and end).
    const nlohmann::json* when = slot_item ? &*slot_item : nullptr;
    auto kept = booking.find("bookedSlot");
    if (!when && kept != booking.end() && kept->is_object() && !fhir_patient_text(*kept, "date").empty()) when = &*kept;
    if (when) {
        auto s = slot(*when);
        r["start"] = s["start"];
        r["end"] = s["end"];
    }
    if (auto created = fhir_patient_text(booking, "createdAt"); !created.empty()) r["created"] = created;
    r["slot"] = {{{"reference", "Slot/" + hospital + "." + fhir_patient_text(booking, "slotId")}}};
    r["supportingInformation"] = {{{"reference", "Organization/" + hospital}}};
    nlohmann::json people = nlohmann::json::array();
    const char* answer = status == "booked" ? "accepted" : status == "cancelled" ? "declined" : "needs-action";
    people.push_back({{"actor", fhir_patient_subject(fhir_patient_text(booking, "patientId"))},
                      {"required", "required"},
                      {"status", "accepted"}});
    if (when) {
        auto doctor = fhir_patient_text(*when, "doctorId");
        if (!doctor.empty())
            people.push_back({{"actor", {{"reference", "Practitioner/" + practitioner_id(hospital, doctor)}}},
                              {"required", "required"},
                              {"status", answer}});
    }
    r["participant"] = people;
    return r;
}

nlohmann::json diagnostic_report(const std::string& hospital_id, const std::string& patient_id, const nlohmann::json& report) {
    const std::string report_id = fhir_patient_text(report, "reportId");
    nlohmann::json r = {{"resourceType", "DiagnosticReport"}, {"id", hospital_id + "." + report_id}};
    r["identifier"] = {{{"system", std::string(kHospitalSystem) + ":" + hospital_id + ":report"}, {"value", report_id}}};
    r["status"] = report_status(fhir_patient_text(report, "status"));
    r["category"] = {{{"coding",
                       {{{"system", "http://terminology.hl7.org/CodeSystem/v2-0074"}, {"code", "LAB"}, {"display", "Laboratory"}}}}}};
    auto title = fhir_patient_text(report, "title");
    r["code"] = {{"text", title.empty() ? "laboratory report" : title}};
    r["subject"] = fhir_patient_subject(patient_id);
    if (auto at = fhir_instant(fhir_patient_text(report, "issuedAt")); !at.empty()) {
        r["effectiveDateTime"] = at;
        r["issued"] = at;
    }
    r["performer"] = {{{"reference", "Organization/" + hospital_id}}};
    auto lines = report.find("observations");
    if (lines != report.end() && lines->is_array() && !lines->empty()) {
        nlohmann::json results = nlohmann::json::array();
        for (size_t n = 1; n <= lines->size(); ++n)
            results.push_back({{"reference", "Observation/" + hospital_id + "." + report_id + "." + std::to_string(n)}});
        r["result"] = results;
    }
    return r;
}

nlohmann::json diagnostic_report_on_its_way(const std::string& hospital_id, const std::string& patient_id,
                                            const nlohmann::json& list_line) {
    auto r = diagnostic_report(hospital_id, patient_id, list_line);
    r["status"] = "registered";
    r["meta"] = {{"tag", {{{"system", "urn:hisgate:tag"}, {"code", "on-its-way"},
                           {"display", "the report is on its way from the hospital"}}}}};
    r["text"] = {{"status", "generated"},
                 {"div", "<div xmlns=\"http://www.w3.org/1999/xhtml\">The report is on its way from the hospital "
                         "(报告正在从医院获取); ask again shortly.</div>"}};
    return r;
}

nlohmann::json observation(const std::string& hospital_id, const std::string& patient_id, const nlohmann::json& report,
                           size_t n) {
    const std::string report_id = fhir_patient_text(report, "reportId");
    const nlohmann::json& line = report["observations"][n - 1];
    nlohmann::json r = {{"resourceType", "Observation"}, {"id", hospital_id + "." + report_id + "." + std::to_string(n)}};
    std::string status = report_status(fhir_patient_text(report, "status"));
    if (status == "partial") status = "preliminary";  // Observation has no partial
    r["status"] = status;
    r["category"] = {{{"coding",
                       {{{"system", "http://terminology.hl7.org/CodeSystem/observation-category"},
                         {"code", "laboratory"},
                         {"display", "Laboratory"}}}}}};
    const std::string code = fhir_patient_text(line, "code"), name = fhir_patient_text(line, "name");
    nlohmann::json concept_ = nlohmann::json::object();
    if (!code.empty()) {
        nlohmann::json coding = {{"system", std::string(kHospitalSystem) + ":" + hospital_id + ":lab-code"}, {"code", code}};
        if (!name.empty()) coding["display"] = name;
        concept_["coding"] = nlohmann::json::array({coding});
        // The hospital's map to LOINC (his.code_tables.lab_loinc), applied by its agent.
        if (auto loinc = fhir_loinc_coding(line)) concept_["coding"].push_back(*loinc);
    }
    concept_["text"] = name.empty() ? (code.empty() ? "result" : code) : name;
    r["code"] = concept_;
    r["subject"] = fhir_patient_subject(patient_id);
    if (auto at = fhir_instant(fhir_patient_text(report, "issuedAt")); !at.empty()) {
        r["effectiveDateTime"] = at;
        r["issued"] = at;
    }
    r["performer"] = {{{"reference", "Organization/" + hospital_id}}};
    const std::string value = fhir_patient_text(line, "value"), units = fhir_patient_text(line, "units");
    if (fhir_decimal(value)) {
        nlohmann::json q = {{"value", nlohmann::json::parse(value)}};
        if (!units.empty()) q["unit"] = units;
        r["valueQuantity"] = q;
    } else if (!value.empty()) {
        r["valueString"] = units.empty() ? value : value + " " + units;
    } else {
        r["dataAbsentReason"] = {{"coding",
                                  {{{"system", "http://terminology.hl7.org/CodeSystem/data-absent-reason"}, {"code", "unknown"}}}}};
    }
    const std::string flag = fhir_patient_text(line, "flag");
    static const char* const kInterpretations[] = {"N", "H", "L", "A", "HH", "LL", "AA"};
    for (const char* known : kInterpretations)
        if (flag == known)
            r["interpretation"] = {{{"coding",
                                     {{{"system", "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"},
                                       {"code", flag}}}}}};
    if (!flag.empty() && !r.contains("interpretation")) r["interpretation"] = {{{"text", flag}}};
    if (auto range = fhir_patient_text(line, "referenceRange"); !range.empty()) r["referenceRange"] = {{{"text", range}}};
    return r;
}

}  // namespace hisgate::controlplane::fhir
