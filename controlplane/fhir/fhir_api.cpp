#include "controlplane/fhir/fhir_api.h"

#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "common/http_server.h"
#include "common/log.h"
#include "common/query_params.h"
#include "controlplane/fhir/fhir_bundle.h"
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
    "served: /fhir/r4/metadata, /fhir/r4/Organization, /fhir/r4/Practitioner, /fhir/r4/Schedule, /fhir/r4/Slot";

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
    };
    return table;
}

std::string FhirApi::handle(const auth::AccessToken& who, Poco::Net::HTTPServerRequest& req,
                            Poco::Net::HTTPServerResponse& res) {
    (void)who;  // reference data: any signed-in role reads it
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
    } else {
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

}  // namespace hisgate::controlplane::fhir
