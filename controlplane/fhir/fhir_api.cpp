#include "controlplane/fhir/fhir_api.h"

#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "common/http_server.h"
#include "common/log.h"
#include "common/query_params.h"
#include "common/digest.h"
#include "controlplane/fhir/fhir_bundle.h"
#include "controlplane/fhir/fhir_patient.h"
#include "controlplane/ledger/money.h"
#include "controlplane/report_list.h"
#include "controlplane/fhir/fhir_resources.h"
#include "controlplane/public_partition/change_set.h"
#include "transport/topics.h"

namespace hisgate::controlplane::fhir {

namespace {

constexpr size_t kFhirMaxQueryBytes = 2048;
constexpr int kFhirDefaultCount = 20;
constexpr int kFhirMaxCount = 100;
constexpr size_t kFhirMaxCursorBytes = 1024;
constexpr size_t kFhirMaxRegionBytes = 32;
constexpr const char* kFhirServed =
    "served: /fhir/r4/metadata, /fhir/r4/Organization, /fhir/r4/Practitioner, /fhir/r4/Schedule, /fhir/r4/Slot, "
    "/fhir/r4/Appointment, /fhir/r4/DiagnosticReport, /fhir/r4/Observation";
// The patient's newest transactions an Appointment search looks through.
constexpr int kFhirBookingScan = 500;
// A report's result lines, at most (an Observation's n has at most 4 digits).
constexpr size_t kFhirMaxLines = 9999;

void send_fhir(Poco::Net::HTTPServerResponse& res, int status, const nlohmann::json& body) {
    send_text(res, status, kFhirJson, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// The caller's text, cut for an error message.
std::string fhir_shown(const std::string& s) { return s.size() > 64 ? s.substr(0, 64) + "..." : s; }

bool fhir_id_chars(const std::string& s, size_t max) {
    if (s.empty() || s.size() > max) return false;
    for (unsigned char c : s)
        if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

// The facade's root as the caller reached it, from a Host header of host-name characters
// only; "" (links relative to the server) otherwise.
std::string fhir_base(Poco::Net::HTTPServerRequest& req, bool https) {
    const std::string host = req.get("Host", "");
    if (host.empty() || host.size() > 255) return "";
    for (unsigned char c : host)
        if (!(std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']')) return "";
    return std::string(https ? "https://" : "http://") + host + "/fhir/r4";
}

// The diagnostics of a _format other than JSON, or "".
std::string fhir_format_refused(const std::map<std::string, std::string>& q) {
    auto f = q.find("_format");
    if (f == q.end() || f->second == "json" || f->second == "application/json" || f->second == "application/fhir+json")
        return "";
    return "_format: expected json, application/json or application/fhir+json (this server speaks JSON only), got \"" +
           fhir_shown(f->second) + "\"";
}

struct FhirPageAsk {
    int count = kFhirDefaultCount;
    std::string cursor;
    std::map<std::string, std::string> given;  // what the links repeat
};

// The parameters of a search, each bounded; "" with the ask filled, or the diagnostics.
std::string fhir_read_page(const std::string& raw_query, std::initializer_list<const char*> names, FhirPageAsk& ask) {
    auto q = read_query(raw_query, "fhir.invalid", kFhirMaxQueryBytes, names);
    if (!q) return q.error().message;
    auto count = query_int(*q, "fhir.invalid", "_count", 1, kFhirMaxCount, kFhirDefaultCount);
    if (!count) return count.error().message;
    ask.count = *count;
    if (auto bad = fhir_format_refused(*q); !bad.empty()) return bad;
    if (auto c = q->find("_cursor"); c != q->end()) {
        if (c->second.empty() || c->second.size() > kFhirMaxCursorBytes ||
            c->second.find_first_not_of("0123456789abcdefs") != std::string::npos)
            return "_cursor: expected the opaque cursor of a next link (1 to " + std::to_string(kFhirMaxCursorBytes) +
                   " of 0-9 a-f s), got \"" + fhir_shown(c->second) + "\"";
        ask.cursor = c->second;
    }
    ask.given = *q;
    ask.given.erase("_cursor");
    ask.given["_count"] = std::to_string(ask.count);
    return "";
}


// A search's `patient`: "Patient/<id>", "<id>" or "urn:hisgate:patient|<id>". "" when it
// names the caller, "other" when another patient (the search then finds nothing), or the
// diagnostics of a value that is not a patient.
std::string fhir_patient_param(const std::map<std::string, std::string>& given, const std::string& me, bool& other) {
    other = false;
    auto p = given.find("patient");
    if (p == given.end()) return "";
    std::string id = p->second;
    for (const char* prefix : {"Patient/", "urn:hisgate:patient|"})
        if (id.rfind(prefix, 0) == 0) id = id.substr(std::string(prefix).size());
    if (!topics::valid_hospital_id(id))
        return "patient: expected Patient/<id>, <id> or urn:hisgate:patient|<id>, a patient id of 1 to 64 of "
               "A-Z a-z 0-9 _ -, got \"" + fhir_shown(p->second) + "\"";
    other = id != me;
    return "";
}

// A `_cursor` this facade made as the hex of "<a>\n<b>": the two parts, or nullopt.
std::optional<std::pair<std::string, std::string>> fhir_pair_cursor(const std::string& cursor) {
    if (cursor.empty()) return std::nullopt;
    auto text = from_hex(cursor);
    if (!text) return std::nullopt;
    auto nl = text->find('\n');
    if (nl == std::string::npos || text->find('\n', nl + 1) != std::string::npos) return std::nullopt;
    return std::pair{text->substr(0, nl), text->substr(nl + 1)};
}

// A report's id "<hospitalId>.<reportId>" or, with_line, an Observation's
// "<hospitalId>.<reportId>.<n>" (n 1 to 9999): each id 1 to 64 of A-Z a-z 0-9 _ -.
struct FhirReportRef {
    std::string hospital, report;
    size_t line = 0;
};
std::optional<FhirReportRef> fhir_report_ref(const std::string& id, bool with_line) {
    auto split = split_practitioner_id(id);
    if (!split) return std::nullopt;
    FhirReportRef ref{split->first, split->second, 0};
    if (with_line) {
        auto dot = ref.report.rfind('.');
        if (dot == std::string::npos) return std::nullopt;
        std::string digits = ref.report.substr(dot + 1);
        if (digits.empty() || digits.size() > 4 || digits.find_first_not_of("0123456789") != std::string::npos)
            return std::nullopt;
        ref.line = std::stoul(digits);
        ref.report = ref.report.substr(0, dot);
        if (ref.line == 0) return std::nullopt;
    }
    if (!topics::valid_hospital_id(ref.hospital) || !topics::valid_hospital_id(ref.report)) return std::nullopt;
    return ref;
}

const char* const kFhirAppointmentStatuses[] = {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled",
                                                "noshow", "entered-in-error", "checked-in", "waitlist"};

}  // namespace

void FhirApi::send_outcome(Poco::Net::HTTPServerResponse& res, int status, const std::string& code,
                           const std::string& diagnostics) {
    send_fhir(res, status, operation_outcome(code, diagnostics));
}

bool FhirApi::serves(const std::string& uri) { return uri.rfind("/fhir/", 0) == 0 || uri == "/fhir"; }

const std::vector<RouteTemplate>& FhirApi::routes() {
    static const std::vector<RouteTemplate> table = {
        {"fhir_metadata", "/fhir/r4/metadata", "GET, HEAD"},
        {"fhir_organization", "/fhir/r4/Organization/{id}", "GET, HEAD"},
        {"fhir_organizations", "/fhir/r4/Organization", "GET, HEAD"},
        {"fhir_practitioner", "/fhir/r4/Practitioner/{id}", "GET, HEAD"},
        {"fhir_practitioners", "/fhir/r4/Practitioner", "GET, HEAD"},
        {"fhir_schedule", "/fhir/r4/Schedule/{id}", "GET, HEAD"},
        {"fhir_slot", "/fhir/r4/Slot/{id}", "GET, HEAD"},
        {"fhir_slots", "/fhir/r4/Slot", "GET, HEAD"},
        {"fhir_appointment", "/fhir/r4/Appointment/{id}", "GET, HEAD"},
        {"fhir_appointments", "/fhir/r4/Appointment", "GET, HEAD"},
        {"fhir_report", "/fhir/r4/DiagnosticReport/{id}", "GET, HEAD"},
        {"fhir_reports", "/fhir/r4/DiagnosticReport", "GET, HEAD"},
        {"fhir_observation", "/fhir/r4/Observation/{id}", "GET, HEAD"},
        {"fhir_observations", "/fhir/r4/Observation", "GET, HEAD"},
    };
    return table;
}

std::string FhirApi::handle(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req,
                            Poco::Net::HTTPServerResponse& res) {
    std::string path, raw_query;
    try {
        Poco::URI uri(req.getURI());
        path = uri.getPath();
        raw_query = uri.getRawQuery();
    } catch (const Poco::Exception&) {
        send_outcome(res, 400, "invalid", "the request target is not a valid URI (bad percent-encoding)");
        return "fhir_bad_uri";
    }
    auto parts = route_segments(path);
    auto found = match_route(routes(), parts);
    if (!found) {
        if (parts.size() >= 3 && parts.size() <= 4 && parts[1] == "r4")
            send_outcome(res, 404, "not-supported",
                         "resource type \"" + fhir_shown(parts[2]) + "\" is not served (" + kFhirServed + ")");
        else
            send_outcome(res, 404, "not-found", "no FHIR endpoint at " + fhir_shown(path) + " (" + kFhirServed + ")");
        return "fhir_unknown";
    }
    const std::string& method = req.getMethod();
    if ((", " + std::string(found->allow) + ",").find(" " + method + ",") == std::string::npos) {
        res.set("Allow", found->allow);
        send_outcome(res, 405, "not-supported",
                     method + " is not served on " + fhir_shown(path) + ": this facade is read-only (allowed: " + found->allow + ")");
        return found->name;
    }
    const std::string& route = found->name;
    auto store_failed = [&](const Error& e) {
        log::error("fhir.store_failed", {{"route", route}, {"error", e.describe()}});
        send_outcome(res, 500, "exception", "the reference data could not be read (" + e.code + ")");
    };
    auto refuse = [&](const std::string& diagnostics) { send_outcome(res, 400, "invalid", diagnostics); };

    if (route == "fhir_metadata") {
        auto q = read_query(raw_query, "fhir.invalid", kFhirMaxQueryBytes, {"_format", "mode"});
        if (!q) return refuse(q.error().message), route;
        if (auto bad = fhir_format_refused(*q); !bad.empty()) return refuse(bad), route;
        send_fhir(res, 200, capability_statement());
    } else if (route == "fhir_organization" || route == "fhir_practitioner" || route == "fhir_schedule" ||
               route == "fhir_slot") {
        auto q = read_query(raw_query, "fhir.invalid", kFhirMaxQueryBytes, {"_format"});
        if (!q) return refuse(q.error().message), route;
        if (auto bad = fhir_format_refused(*q); !bad.empty()) return refuse(bad), route;
        const std::string& id = parts[3];
        Result<std::optional<nlohmann::json>> item = std::optional<nlohmann::json>();
        if (route == "fhir_organization") {
            if (!topics::valid_hospital_id(id))
                return refuse("Organization id: expected a hospital id, 1 to 64 of A-Z a-z 0-9 _ -, got \"" + fhir_shown(id) +
                              "\""),
                       route;
            item = data_.hospital(id);
        } else {
            const bool slot_read = route == "fhir_slot";
            auto split = split_practitioner_id(id);
            if (!split || !topics::valid_hospital_id(split->first) ||
                !fhir_id_chars(split->second, public_partition::kMaxKeyBytes))
                return refuse(std::string(slot_read ? "Slot id: expected <hospitalId>.<slotId>"
                                                    : "id: expected <hospitalId>.<doctorId>") +
                                  " (A-Z a-z 0-9 _ - and a '.' between them), got \"" + fhir_shown(id) + "\""),
                       route;
            item = slot_read ? data_.slot(split->first, split->second) : data_.doctor(split->first, split->second);
        }
        if (!item) return store_failed(item.error()), route;
        const char* type = route == "fhir_organization"   ? "Organization"
                           : route == "fhir_practitioner" ? "Practitioner"
                           : route == "fhir_schedule"     ? "Schedule"
                                                          : "Slot";
        if (!*item)
            return send_outcome(res, 404, "not-found", std::string("no ") + type + " with id \"" + fhir_shown(id) + "\""),
                   route;
        send_fhir(res, 200,
                  route == "fhir_organization"   ? organization(**item)
                  : route == "fhir_practitioner" ? practitioner(**item)
                  : route == "fhir_schedule"     ? schedule(**item)
                                                 : slot(**item));
    } else if (route == "fhir_slots") {
        slots_search(raw_query, req, res);
    } else if (route.starts_with("fhir_appointment") || route.starts_with("fhir_report") ||
               route.starts_with("fhir_observation")) {
        patient_route(route, who, parts, raw_query, req, res);
    } else {  // reference data: any signed-in role reads it
        FhirPageAsk ask;
        const bool orgs = route == "fhir_organizations";
        std::string bad = orgs ? fhir_read_page(raw_query, {"_count", "_cursor", "_format", "address-state"}, ask)
                               : fhir_read_page(raw_query, {"_count", "_cursor", "_format", "organization"}, ask);
        if (!bad.empty()) return refuse(bad), route;
        Result<ReferencePage> page = ReferencePage{};
        if (orgs) {
            std::string region = ask.given.count("address-state") ? ask.given["address-state"] : "";
            if (ask.given.count("address-state") &&
                (region.empty() || region.size() > kFhirMaxRegionBytes ||
                 std::any_of(region.begin(), region.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })))
                return refuse("address-state: expected a region, 1 to " + std::to_string(kFhirMaxRegionBytes) +
                              " bytes without control characters"),
                       route;
            page = data_.hospitals(region, ask.count, ask.cursor);
        } else {
            std::string org = ask.given.count("organization") ? ask.given["organization"] : "";
            if (org.rfind("Organization/", 0) == 0) org = org.substr(13);
            if (ask.given.count("organization") && !topics::valid_hospital_id(org))
                return refuse("organization: expected Organization/<id> or <id>, a hospital id of 1 to 64 of "
                              "A-Z a-z 0-9 _ -, got \"" +
                              fhir_shown(ask.given["organization"]) + "\""),
                       route;
            page = data_.doctors(org, ask.count, ask.cursor);
        }
        if (!page && page.error().cls == ErrorClass::BadInput)
            return refuse("the search was refused: " + page.error().message +
                          " (a _cursor is a next link's, under the same parameters)"),
                   route;
        if (!page) return store_failed(page.error()), route;
        std::vector<nlohmann::json> resources;
        for (const auto& item : page->items) resources.push_back(orgs ? organization(item) : practitioner(item));
        send_fhir(res, 200, searchset(fhir_base(req, https_), orgs ? "Organization" : "Practitioner", ask.given, resources,
                                      page->next));
    }
    return route;
}

void FhirApi::slots_search(const std::string& raw_query, Poco::Net::HTTPServerRequest& req,
                           Poco::Net::HTTPServerResponse& res) {
    auto refuse = [&](const std::string& diagnostics) { send_outcome(res, 400, "invalid", diagnostics); };
    FhirPageAsk ask;
    if (auto bad = fhir_read_page(raw_query, {"_count", "_cursor", "_format", "schedule", "start", "status"}, ask);
        !bad.empty())
        return refuse(bad);
    std::string sched = ask.given.count("schedule") ? ask.given["schedule"] : "";
    if (sched.rfind("Schedule/", 0) == 0) sched = sched.substr(9);
    auto doctor = split_practitioner_id(sched);
    if (!doctor || !topics::valid_hospital_id(doctor->first) ||
        !fhir_id_chars(doctor->second, public_partition::kMaxKeyBytes))
        return refuse("schedule: required, Schedule/<hospitalId>.<doctorId> (one Schedule per doctor), got \"" +
                      fhir_shown(ask.given.count("schedule") ? ask.given["schedule"] : "") + "\"");
    // start: "YYYY-MM-DD" (that day) or "geYYYY-MM-DD" (that day and the 6 after).
    std::string start = ask.given.count("start") ? ask.given["start"] : "";
    const bool from_on = start.rfind("ge", 0) == 0;
    std::string day = from_on ? start.substr(2) : start.rfind("eq", 0) == 0 ? start.substr(2) : start;
    bool shaped = day.size() == 10 && day[4] == '-' && day[7] == '-';
    for (size_t i = 0; shaped && i < day.size(); ++i)
        if (i != 4 && i != 7 && !std::isdigit(static_cast<unsigned char>(day[i]))) shaped = false;
    if (!shaped)
        return refuse("start: required, YYYY-MM-DD (that day) or geYYYY-MM-DD (that day and the 6 after), got \"" +
                      fhir_shown(start) + "\"");
    std::string status = ask.given.count("status") ? ask.given["status"] : "";
    if (ask.given.count("status") && status != "free" && status != "busy")
        return refuse("status: expected free or busy, got \"" + fhir_shown(status) + "\"");
    auto page = data_.slots(doctor->first, doctor->second, day, from_on ? "" : day, status == "free", ask.count, ask.cursor);
    if (!page && page.error().cls == ErrorClass::BadInput)
        return refuse("the search was refused: " + page.error().message +
                      " (a _cursor is a next link's, under the same parameters)");
    if (!page) {
        log::error("fhir.store_failed", {{"route", "fhir_slots"}, {"error", page.error().describe()}});
        return send_outcome(res, 500, "exception", "the reference data could not be read (" + page.error().code + ")");
    }
    std::vector<nlohmann::json> resources;
    for (const auto& item : page->items) {
        auto r = slot(item);
        // busy: the page is the doctor's slots, those with room left out (a page may hold fewer than _count).
        if (status == "busy" && r["status"] != "busy") continue;
        resources.push_back(std::move(r));
    }
    send_fhir(res, 200, searchset(fhir_base(req, https_), "Slot", ask.given, resources, page->next));
}

void FhirApi::patient_route(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                            const std::string& raw_query, Poco::Net::HTTPServerRequest& req,
                            Poco::Net::HTTPServerResponse& res) {
    auto refuse = [&](const std::string& diagnostics) { send_outcome(res, 400, "invalid", diagnostics); };
    if (who.role != auth::Role::Patient)
        return send_outcome(res, 403, "forbidden",
                            "Appointment, DiagnosticReport and Observation are a patient's own data, read with the "
                            "patient's own sign-in (staff read bookings and reports on /api/v1)");
    if (!patient_) return send_outcome(res, 404, "not-supported", "this instance serves no patient data");
    const std::string& me = who.subject;
    if (route == "fhir_appointments") return appointments_search(me, raw_query, req, res);
    if (route == "fhir_reports") return reports_search(me, raw_query, req, res);
    if (route == "fhir_observations") return observations_search(me, raw_query, req, res);

    auto q = read_query(raw_query, "fhir.invalid", kFhirMaxQueryBytes, {"_format"});
    if (!q) return refuse(q.error().message);
    if (auto bad = fhir_format_refused(*q); !bad.empty()) return refuse(bad);
    const std::string& id = parts[3];
    if (route == "fhir_appointment") {
        if (!ledger::check_transaction_id(id))
            return refuse("Appointment id: expected a booking's transaction id (32 of 0-9 a-f), got \"" + fhir_shown(id) +
                          "\"");
        auto found = patient_->booking(id);
        if (!found) {
            log::error("fhir.store_failed", {{"route", route}, {"error", found.error().describe()}});
            return send_outcome(res, 500, "exception", "the bookings could not be read (" + found.error().code + ")");
        }
        // Another patient's booking answers as one that does not exist.
        if (!*found || (**found).value("patientId", "") != me)
            return send_outcome(res, 404, "not-found", "no Appointment with id \"" + id + "\"");
        auto item = data_.slot((**found).value("hospitalId", ""), (**found).value("slotId", ""));
        std::optional<nlohmann::json> slot_item = item && *item ? std::optional<nlohmann::json>(**item) : std::nullopt;
        return send_fhir(res, 200, appointment(**found, slot_item));
    }
    // DiagnosticReport/{h}.{r}, Observation/{h}.{r}.{n}
    const bool line = route == "fhir_observation";
    const char* type = line ? "Observation" : "DiagnosticReport";
    auto ref = fhir_report_ref(id, line);
    if (!ref)
        return refuse(std::string(type) + " id: expected " +
                      (line ? "<hospitalId>.<reportId>.<n> (n from 1, at most 4 digits)" : "<hospitalId>.<reportId>") +
                      " (each id 1 to 64 of A-Z a-z 0-9 _ -), got \"" + fhir_shown(id) + "\"");
    auto report = own_report(me, ref->hospital, ref->report, type, id, res);
    if (!report) return;  // answered
    if (report->on_its_way) {
        if (line)
            return res.set("Retry-After", "5"), send_outcome(res, 503, "transient",
                                "the report is on its way from the hospital; ask again shortly (its result lines come with it)");
        return send_fhir(res, 200, diagnostic_report_on_its_way(ref->hospital, me, report->report));
    }
    if (!line) return send_fhir(res, 200, diagnostic_report(ref->hospital, me, report->report));
    auto lines = report->report.find("observations");
    const size_t n = ref->line;
    if (lines == report->report.end() || !lines->is_array() || n > lines->size())
        return send_outcome(res, 404, "not-found", "no Observation with id \"" + fhir_shown(id) + "\"");
    send_fhir(res, 200, observation(ref->hospital, me, report->report, n));
}

std::optional<FhirApi::OwnReport> FhirApi::own_report(const std::string& me, const std::string& hospital_id,
                                                  const std::string& report_id, const char* type, const std::string& id,
                                                  Poco::Net::HTTPServerResponse& res) {
    auto not_found = [&] {
        send_outcome(res, 404, "not-found", std::string("no ") + type + " with id \"" + fhir_shown(id) + "\"");
        return std::optional<OwnReport>();
    };
    auto failed = [&](const Error& e) {
        if (e.cls == ErrorClass::NotFound || e.cls == ErrorClass::BadInput) return not_found();
        // The code only: a hospital's message may name the patient (no PHI in logs).
        log::warn("fhir.hospital_failed", {{"hospital_id", hospital_id}, {"code", e.code}});
        if (e.cls == ErrorClass::Unavailable || e.cls == ErrorClass::Timeout) {
            res.set("Retry-After", "5");
            send_outcome(res, 503, "transient", "the hospital cannot be asked now (" + e.code + "); ask again later");
        } else {
            send_outcome(res, 502, "exception", "the hospital's answer could not be used (" + e.code + ")");
        }
        return std::optional<OwnReport>();
    };
    if (!topics::valid_hospital_id(me)) return not_found();  // a subject no hospital files reports under
    // A hospital not linked to the patient is not asked: nothing there is theirs to read.
    const auto number = number_at(me, hospital_id);
    if (!number) return not_found();
    std::string task;
    auto got = patient_->ask(hospital_id, "report.get", {{"reportId", report_id}}, me, &task);
    if (!got) return failed(got.error());
    if (*got) {
        // Another patient's report answers as one that does not exist.
        if (!(*got)->is_object() || (*got)->value("patientId", "") != *number) return not_found();
        patient_->delivered(task);
        return OwnReport{std::move(**got), false};
    }
    // On its way: the patient's own list says whether it is theirs (and what it is).
    auto listed = patient_->ask(hospital_id, "report.list", {{"patientId", *number}}, me, &task);
    if (!listed) return failed(listed.error());
    if (*listed) patient_->delivered(task);  // their own list
    if (!*listed) {
        res.set("Retry-After", "5");
        send_outcome(res, 503, "transient", "the report is on its way from the hospital; ask again shortly");
        return std::optional<OwnReport>();
    }
    for (const auto& r : (*listed)->value("reports", nlohmann::json::array()))
        if (r.is_object() && r.value("reportId", "") == report_id) return OwnReport{r, true};
    return not_found();
}

void FhirApi::appointments_search(const std::string& me, const std::string& raw_query, Poco::Net::HTTPServerRequest& req,
                                  Poco::Net::HTTPServerResponse& res) {
    auto refuse = [&](const std::string& diagnostics) { send_outcome(res, 400, "invalid", diagnostics); };
    FhirPageAsk ask;
    if (auto bad = fhir_read_page(raw_query, {"_count", "_cursor", "_format", "patient", "date", "status"}, ask); !bad.empty())
        return refuse(bad);
    bool other = false;
    if (auto bad = fhir_patient_param(ask.given, me, other); !bad.empty()) return refuse(bad);
    std::vector<std::string> statuses;
    if (auto st = ask.given.find("status"); st != ask.given.end()) {
        std::string rest = st->second + ",";
        for (size_t at = 0, comma; (comma = rest.find(',', at)) != std::string::npos; at = comma + 1) {
            std::string one = rest.substr(at, comma - at);
            if (std::find(std::begin(kFhirAppointmentStatuses), std::end(kFhirAppointmentStatuses), one) ==
                std::end(kFhirAppointmentStatuses))
                return refuse("status: expected R4 Appointment statuses (proposed, pending, booked, arrived, fulfilled, "
                              "cancelled, noshow, entered-in-error, checked-in, waitlist), comma-separated, got \"" +
                              fhir_shown(st->second) + "\"");
            statuses.push_back(one);
        }
    }
    // date: [eq|ne|gt|lt|ge|le]YYYY-MM-DD, on the appointment's start (the hospital's day).
    std::string date_prefix, date_day;
    if (auto d = ask.given.find("date"); d != ask.given.end()) {
        std::string v = d->second;
        if (v.size() == 12 && std::isalpha(static_cast<unsigned char>(v[0]))) date_prefix = v.substr(0, 2), v = v.substr(2);
        bool shaped = v.size() == 10 && v[4] == '-' && v[7] == '-';
        for (size_t i = 0; shaped && i < v.size(); ++i)
            if (i != 4 && i != 7 && !std::isdigit(static_cast<unsigned char>(v[i]))) shaped = false;
        static const char* const kPrefixes[] = {"", "eq", "ne", "gt", "lt", "ge", "le"};
        if (!shaped || std::find_if(std::begin(kPrefixes), std::end(kPrefixes),
                                    [&](const char* p) { return date_prefix == p; }) == std::end(kPrefixes))
            return refuse("date: expected YYYY-MM-DD with an optional prefix eq, ne, gt, lt, ge or le, got \"" +
                          fhir_shown(d->second) + "\"");
        date_day = v;
    }
    std::optional<std::pair<std::string, std::string>> after;
    if (!ask.cursor.empty() && !(after = fhir_pair_cursor(ask.cursor)))
        return refuse("_cursor: not one of this search's next links");
    std::vector<nlohmann::json> page;
    std::string next, last_created, last_id;
    if (!other) {
        auto mine = patient_->bookings(me, kFhirBookingScan);
        if (!mine) {
            log::error("fhir.store_failed", {{"route", "fhir_appointments"}, {"error", mine.error().describe()}});
            return send_outcome(res, 500, "exception", "the bookings could not be read (" + mine.error().code + ")");
        }
        for (const auto& b : *mine) {
            const std::string created = b.value("createdAt", ""), id = b.value("transactionId", "");
            // Newest first, then by id: resume strictly after the cursor's place.
            if (after && (created > after->first || (created == after->first && id <= after->second))) continue;
            if (!statuses.empty() &&
                std::find(statuses.begin(), statuses.end(), appointment_status(b)) == statuses.end())
                continue;
            auto item = data_.slot(b.value("hospitalId", ""), b.value("slotId", ""));
            std::optional<nlohmann::json> slot_item =
                item && *item ? std::optional<nlohmann::json>(**item) : std::nullopt;
            auto r = appointment(b, slot_item);
            if (!date_day.empty()) {
                if (!r.contains("start")) continue;
                const std::string day = r["start"].get<std::string>().substr(0, 10);
                bool keep = date_prefix == "gt"   ? day > date_day
                            : date_prefix == "lt" ? day < date_day
                            : date_prefix == "ge" ? day >= date_day
                            : date_prefix == "le" ? day <= date_day
                            : date_prefix == "ne" ? day != date_day
                                                  : day == date_day;
                if (!keep) continue;
            }
            if (page.size() == static_cast<size_t>(ask.count)) {  // one more: there is a next page
                next = to_hex(last_created + "\n" + last_id);
                break;
            }
            page.push_back(std::move(r));
            last_created = created, last_id = id;
        }
    }
    send_fhir(res, 200, searchset(fhir_base(req, https_), "Appointment", ask.given, page, next));
}

std::optional<std::string> FhirApi::number_at(const std::string& me, const std::string& hospital_id) {
    if (!links_) return me;
    auto number = links_->his_patient_id(me, hospital_id);
    if (!number) {
        // Unreadable: nothing is asked (never the platform's id, which may be another's number there).
        log::error("fhir.link_unreadable", {{"hospital_id", hospital_id}, {"code", number.error().code}});
        return std::nullopt;
    }
    return *number;
}

void FhirApi::reports_search(const std::string& me, const std::string& raw_query, Poco::Net::HTTPServerRequest& req,
                             Poco::Net::HTTPServerResponse& res) {
    auto refuse = [&](const std::string& diagnostics) { send_outcome(res, 400, "invalid", diagnostics); };
    FhirPageAsk ask;
    if (auto bad = fhir_read_page(raw_query, {"_count", "_cursor", "_format", "patient", "performer"}, ask); !bad.empty())
        return refuse(bad);
    bool other = false;
    if (auto bad = fhir_patient_param(ask.given, me, other); !bad.empty()) return refuse(bad);
    other = other || !topics::valid_hospital_id(me);  // a subject no hospital files reports under
    const bool named = ask.given.count("performer") > 0;
    std::string hospital = named ? ask.given["performer"] : "";
    if (hospital.rfind("Organization/", 0) == 0) hospital = hospital.substr(13);
    if (named && !topics::valid_hospital_id(hospital))
        return refuse("performer: the hospital whose reports to list: Organization/<id> or <id> (1 to 64 of "
                      "A-Z a-z 0-9 _ -), got \"" + fhir_shown(ask.given["performer"]) + "\"; without it, the hospitals "
                      "linked to you");
    if (!named && !links_) return refuse("performer: required, the hospital whose reports to list");
    // The page itself is the reports list's (report_list.h): its cursor without the "r1".
    auto q = read_reports_query("limit=" + std::to_string(ask.count) + (ask.cursor.empty() ? "" : "&cursor=r1" + ask.cursor));
    if (!q) return refuse("_cursor: not one of this search's next links");
    // The hospitals asked: the one named, or those linked to the patient (none for another patient).
    std::vector<PatientLink> asked_at;
    if (!other && named)
        if (auto number = number_at(me, hospital)) asked_at.push_back({me, hospital, *number});
    if (!other && !named) {
        auto links = links_->links_of(me);
        if (!links) {
            log::error("fhir.links_unreadable", {{"code", links.error().code}});
            return send_outcome(res, 500, "exception", "the patient's hospitals could not be read");
        }
        asked_at = std::move(*links);
    }
    std::vector<nlohmann::json> resources;
    std::string next;
    if (!other && asked_at.empty()) {
        // Nothing asked: the hospital named is not linked to the patient, or none is yet
        // (said as an outcome entry).
        auto bundle = searchset(fhir_base(req, https_), "DiagnosticReport", ask.given, {}, "");
        if (!named) bundle["entry"] = nlohmann::json::array(
            {{{"resource",
               {{"resourceType", "OperationOutcome"},
                {"issue", nlohmann::json::array({{{"severity", "information"},
                                                  {"code", "informational"},
                                                  {"diagnostics", "no hospital has linked you yet: your reports show "
                                                                  "here once a hospital has confirmed a booking you "
                                                                  "made through the portal"}}})}}},
              {"search", {{"mode", "outcome"}}}}});
        return send_fhir(res, 200, bundle);
    }
    struct Listed {
        Result<std::optional<nlohmann::json>> answer = std::optional<nlohmann::json>();
        std::string task;
    };
    auto lists = ask_each_link<Listed>(asked_at, [&](const PatientLink& l) {
        Listed out;
        out.answer = patient_->ask(l.hospital_id, "report.list", {{"patientId", l.his_patient_id}}, me, &out.task);
        return out;
    });
    // One list of every hospital's lines, each id "<hospitalId>.<reportId>" (hospital ids
    // have no '.'), paged as one hospital's list is: newest first, the cursor a line's.
    nlohmann::json merged = {{"reports", nlohmann::json::array()}};
    for (size_t i = 0; i < asked_at.size(); ++i) {
        const std::string& at = asked_at[i].hospital_id;
        auto& listed = lists[i].answer;
        if (!listed && (listed.error().cls == ErrorClass::NotFound || listed.error().cls == ErrorClass::BadInput))
            continue;  // the hospital has no list of this patient's
        if (!listed || !*listed) {
            if (!listed) log::warn("fhir.hospital_failed", {{"hospital_id", at}, {"code", listed.error().code}});
            res.set("Retry-After", "5");
            return send_outcome(res, 503, "transient",
                                listed ? "the list of reports from " + at + " is on its way from the hospital; ask again shortly"
                                       : "the hospital " + at + " cannot be asked now (" + listed.error().code +
                                             "); ask again later");
        }
        patient_->delivered(lists[i].task);  // their own list
        const auto& answer = **listed;
        if (!answer.is_object() || !answer.contains("reports") || !answer["reports"].is_array()) {
            log::error("fhir.hospital_failed", {{"hospital_id", at}, {"code", "reports.bad_answer"}});
            return send_outcome(res, 502, "exception", "the list of reports of " + at + " could not be used");
        }
        for (auto line : answer["reports"]) {
            if (line.is_object() && line.contains("reportId") && line["reportId"].is_string())
                line["reportId"] = at + "." + line["reportId"].get<std::string>();
            merged["reports"].push_back(std::move(line));
        }
    }
    auto page = reports_page(merged, me, *q);
    if (!page) {
        log::error("fhir.hospital_failed", {{"code", page.error().code}});
        return send_outcome(res, 502, "exception", "the hospital's list of reports could not be used");
    }
    for (auto line : (*page)["reports"]) {
        const std::string id = line["reportId"].get<std::string>();
        const auto dot = id.find('.');
        line["reportId"] = id.substr(dot + 1);
        resources.push_back(diagnostic_report(id.substr(0, dot), me, line));
    }
    if (page->contains("nextCursor")) next = (*page)["nextCursor"].get<std::string>().substr(2);
    send_fhir(res, 200, searchset(fhir_base(req, https_), "DiagnosticReport", ask.given, resources, next));
}

void FhirApi::observations_search(const std::string& me, const std::string& raw_query, Poco::Net::HTTPServerRequest& req,
                                  Poco::Net::HTTPServerResponse& res) {
    auto refuse = [&](const std::string& diagnostics) { send_outcome(res, 400, "invalid", diagnostics); };
    constexpr const char* kHas = "_has:DiagnosticReport:result:_id";
    FhirPageAsk ask;
    if (auto bad = fhir_read_page(raw_query, {"_count", "_cursor", "_format", "patient", "_id", kHas}, ask); !bad.empty())
        return refuse(bad);
    bool other = false;
    if (auto bad = fhir_patient_param(ask.given, me, other); !bad.empty()) return refuse(bad);
    other = other || !topics::valid_hospital_id(me);
    const bool by_id = ask.given.count("_id") > 0, by_report = ask.given.count(kHas) > 0;
    if (by_id == by_report)
        return refuse(std::string("expected one of _id (an Observation's id) or ") + kHas +
                      " (a DiagnosticReport's id: its result lines)");
    std::string id = by_id ? ask.given["_id"] : ask.given[kHas];
    auto ref = fhir_report_ref(id, by_id);
    if (!ref)
        return refuse(std::string(by_id ? "_id: expected <hospitalId>.<reportId>.<n>" : std::string(kHas) + ": expected <hospitalId>.<reportId>") +
                      ", got \"" + fhir_shown(id) + "\"");
    size_t from = 0;  // the cursor: the index of the page's first line
    if (!ask.cursor.empty()) {
        if (by_id || ask.cursor.size() > 4 || ask.cursor.find_first_not_of("0123456789") != std::string::npos)
            return refuse("_cursor: not one of this search's next links");
        from = std::stoul(ask.cursor);
    }
    std::vector<nlohmann::json> resources;
    std::string next;
    auto empty = [&] { send_fhir(res, 200, searchset(fhir_base(req, https_), "Observation", ask.given, {}, "")); };
    if (other) return empty();
    std::string task;
    auto got = patient_->ask(ref->hospital, "report.get", {{"reportId", ref->report}}, me, &task);
    if (!got && (got.error().cls == ErrorClass::NotFound || got.error().cls == ErrorClass::BadInput)) return empty();
    if (!got || !*got) {
        res.set("Retry-After", "5");
        return send_outcome(res, 503, "transient", "the report is on its way from the hospital; ask again shortly");
    }
    const auto& report = **got;
    if (!report.is_object() || report.value("patientId", "") != me) return empty();  // not theirs: nothing found
    patient_->delivered(task);
    auto lines = report.find("observations");
    const size_t count = lines != report.end() && lines->is_array() ? std::min(lines->size(), kFhirMaxLines) : 0;
    if (by_id) {
        if (ref->line <= count) resources.push_back(observation(ref->hospital, me, report, ref->line));
    } else {
        size_t i = from;
        for (; i < count && resources.size() < static_cast<size_t>(ask.count); ++i)
            resources.push_back(observation(ref->hospital, me, report, i + 1));
        if (i < count) next = std::to_string(i);
    }
    send_fhir(res, 200, searchset(fhir_base(req, https_), "Observation", ask.given, resources, next));
}

}  // namespace hisgate::controlplane::fhir
