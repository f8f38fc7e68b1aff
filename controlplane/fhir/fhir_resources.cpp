#include "controlplane/fhir/fhir_resources.h"

namespace hisgate::controlplane::fhir {

namespace {

// A hospital whose change sets have a gap may be missing rows: tagged so a client can tell.
void fhir_tag_suspect(nlohmann::json& r, const nlohmann::json& item) {
    if (item.value("suspect", false))
        r["meta"] = {{"tag", {{{"system", "urn:hisgate:tag"}, {"code", "possibly-incomplete"},
                               {"display", "the hospital's reference data has a gap being repaired"}}}}};
}

std::string fhir_text(const nlohmann::json& item, const char* name) {
    auto f = item.find(name);
    return f != item.end() && f->is_string() ? f->get<std::string>() : "";
}

}  // namespace

nlohmann::json organization(const nlohmann::json& item) {
    const std::string id = fhir_text(item, "hospitalId");
    nlohmann::json r = {{"resourceType", "Organization"}, {"id", id}};
    fhir_tag_suspect(r, item);
    r["identifier"] = {{{"system", kHospitalSystem}, {"value", id}}};
    r["active"] = true;
    r["type"] = {{{"coding",
                   {{{"system", "http://terminology.hl7.org/CodeSystem/organization-type"},
                     {"code", "prov"},
                     {"display", "Healthcare Provider"}}}}}};
    if (auto name = fhir_text(item, "name"); !name.empty()) r["name"] = name;
    nlohmann::json address = nlohmann::json::object();
    if (auto city = fhir_text(item, "city"); !city.empty()) address["city"] = city;
    if (auto region = fhir_text(item, "region"); !region.empty()) address["state"] = region;
    if (!address.empty()) r["address"] = nlohmann::json::array({address});
    return r;
}

nlohmann::json practitioner(const nlohmann::json& item) {
    const std::string hospital = fhir_text(item, "hospitalId");
    const std::string doctor = fhir_text(item, "doctorId");
    nlohmann::json r = {{"resourceType", "Practitioner"}, {"id", practitioner_id(hospital, doctor)}};
    fhir_tag_suspect(r, item);
    r["identifier"] = {{{"system", std::string(kHospitalSystem) + ":" + hospital + ":doctor"}, {"value", doctor}}};
    r["active"] = true;
    if (auto name = fhir_text(item, "name"); !name.empty()) r["name"] = {{{"text", name}}};
    nlohmann::json quals = nlohmann::json::array();
    if (auto title = fhir_text(item, "title"); !title.empty())
        quals.push_back({{"code", {{"text", title}}}, {"issuer", {{"reference", "Organization/" + hospital}}}});
    if (auto specialty = fhir_text(item, "specialty"); !specialty.empty())
        quals.push_back({{"code", {{"text", specialty}}}, {"issuer", {{"reference", "Organization/" + hospital}}}});
    if (!quals.empty()) r["qualification"] = quals;
    return r;
}

nlohmann::json schedule(const nlohmann::json& doctor_item) {
    const std::string hospital = fhir_text(doctor_item, "hospitalId");
    const std::string id = practitioner_id(hospital, fhir_text(doctor_item, "doctorId"));
    nlohmann::json r = {{"resourceType", "Schedule"}, {"id", id}};
    fhir_tag_suspect(r, doctor_item);
    r["active"] = true;
    // R4's Schedule.actor takes no Organization: the doctor's hospital is the Practitioner's
    // (its qualifications' issuer, and the id's first part).
    r["actor"] = {{{"reference", "Practitioner/" + id}}};
    return r;
}

nlohmann::json slot(const nlohmann::json& item) {
    const std::string hospital = fhir_text(item, "hospitalId");
    // A quota of a half or whole day has no times: it spans its half (AM 00:00-12:00, PM
    // 12:00-24:00) or the day.
    const std::string half = fhir_text(item, "half");
    auto instant = [&](const char* field, bool is_start) {
        std::string t = fhir_text(item, field);
        if (t.empty()) t = is_start ? (half == "PM" ? "12:00" : "00:00") : (half == "AM" ? "12:00" : "23:59:59");
        if (t.size() == 5) t += ":00";  // HH:MM
        return fhir_text(item, "date") + "T" + t + "+08:00";
    };
    const bool room = item.value("capacity", 0) - item.value("booked", 0) > 0;
    nlohmann::json r = {{"resourceType", "Slot"}, {"id", hospital + "." + fhir_text(item, "slotId")}};
    fhir_tag_suspect(r, item);
    r["schedule"] = {{"reference", "Schedule/" + practitioner_id(hospital, fhir_text(item, "doctorId"))}};
    r["status"] = room ? "free" : "busy";
    r["start"] = instant("start", true);
    r["end"] = instant("end", false);
    return r;
}

std::string practitioner_id(const std::string& hospital_id, const std::string& doctor_id) {
    return hospital_id + "." + doctor_id;
}

std::optional<std::pair<std::string, std::string>> split_practitioner_id(const std::string& id) {
    auto dot = id.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == id.size()) return std::nullopt;
    return std::make_pair(id.substr(0, dot), id.substr(dot + 1));
}

nlohmann::json operation_outcome(const std::string& code, const std::string& diagnostics) {
    return {{"resourceType", "OperationOutcome"},
            {"issue", {{{"severity", "error"}, {"code", code}, {"diagnostics", diagnostics}}}}};
}

const nlohmann::json& capability_statement() {
    static const nlohmann::json statement = [] {
        auto paging = [](nlohmann::json params) {
            params.push_back({{"name", "_count"}, {"type", "number"},
                              {"documentation", "entries per page, 1 to 100 (default 20)"}});
            params.push_back({{"name", "_cursor"}, {"type", "token"},
                              {"documentation", "opaque: the next page, as the Bundle's next link gives it"}});
            return params;
        };
        nlohmann::json read_search = {{{"code", "read"}}, {{"code", "search-type"}}};
        return nlohmann::json{
            {"resourceType", "CapabilityStatement"},
            {"status", "active"},
            {"date", "2026-12-07"},
            {"publisher", "hisgate"},
            {"kind", "instance"},
            {"software", {{"name", "hisgate control plane"}}},
            {"implementation", {{"description", "hisgate's FHIR R4 read facade over the public partition, the ledgers and the hospitals' lab reports (docs/fhir.md)"}}},
            {"fhirVersion", "4.0.1"},
            {"format", {"json"}},
            {"rest",
             {{{"mode", "server"},
               {"resource",
                {{{"type", "Organization"},
                  {"interaction", read_search},
                  {"searchParam",
                   paging({{{"name", "address-state"}, {"type", "string"},
                            {"documentation", "the hospital's region, exactly (1 to 32 bytes)"}}})}},
                 {{"type", "Practitioner"},
                  {"interaction", read_search},
                  {"searchParam",
                   paging({{{"name", "organization"}, {"type", "reference"},
                            {"documentation", "the doctor's hospital: Organization/<id> or <id>"}}})}},
                 {{"type", "Schedule"}, {"interaction", {{{"code", "read"}}}}},
                 {{"type", "Slot"},
                  {"interaction", read_search},
                  {"searchParam",
                   paging({{{"name", "schedule"}, {"type", "reference"},
                            {"documentation", "required: Schedule/<hospitalId>.<doctorId> (one per doctor)"}},
                           {{"name", "start"}, {"type", "date"},
                            {"documentation", "required: YYYY-MM-DD (that day) or geYYYY-MM-DD (that day and the 6 after)"}},
                           {{"name", "status"}, {"type", "token"}, {"documentation", "free or busy"}}})}},
                 {{"type", "Appointment"},
                  {"interaction", read_search},
                  {"documentation", "the signed-in patient's own bookings (a patient's sign-in only)"},
                  {"searchParam",
                   paging({{{"name", "patient"}, {"type", "reference"},
                            {"documentation", "the caller: Patient/<id>, <id> or urn:hisgate:patient|<id> (another patient: nothing found)"}},
                           {{"name", "date"}, {"type", "date"},
                            {"documentation", "the start's day, YYYY-MM-DD with an optional prefix eq, ne, gt, lt, ge or le"}},
                           {{"name", "status"}, {"type", "token"},
                            {"documentation", "R4 Appointment statuses, comma-separated"}}})}},
                 {{"type", "DiagnosticReport"},
                  {"interaction", read_search},
                  {"documentation", "the signed-in patient's own lab reports, from the hospital"},
                  {"searchParam",
                   paging({{{"name", "performer"}, {"type", "reference"},
                            {"documentation", "required: the hospital, Organization/<id> or <id>"}},
                           {{"name", "patient"}, {"type", "reference"}, {"documentation", "the caller, as for Appointment"}}})}},
                 {{"type", "Observation"},
                  {"interaction", read_search},
                  {"documentation", "the result lines of the signed-in patient's lab reports"},
                  {"searchParam",
                   paging({{{"name", "_id"}, {"type", "token"}, {"documentation", "one Observation: <hospitalId>.<reportId>.<n>"}},
                           {{"name", "_has:DiagnosticReport:result:_id"}, {"type", "token"},
                            {"documentation", "a DiagnosticReport's id: its result lines in order"}},
                           {{"name", "patient"}, {"type", "reference"}, {"documentation", "the caller, as for Appointment"}}})}}}}}}}};
    }();
    return statement;
}

}  // namespace hisgate::controlplane::fhir
