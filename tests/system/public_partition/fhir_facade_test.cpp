// The FHIR R4 read facade (docs/fhir.md) over real HTTP: broker, his-sim and an agent per
// hospital, and the control plane, whose public-partition primary the agents' reference
// data reaches. Reads metadata, Organizations page by page through the next link,
// Practitioners of one hospital, and the OperationOutcome of each kind of error.
#include <catch2/catch.hpp>

#include <algorithm>
#include <ctime>

#include "tests/support/system.h"

using namespace hisgate;
using namespace hisgate::test;
using namespace std::chrono_literals;

namespace {

SystemOptions fhir_two_hospitals() {
    SystemOptions o;
    o.hospitals = {"H001", "H002"};
    o.more_params = {{"H001", R"({"hospital": {"id": "H001", "region": "south", "name": "South General"},
                                   "extraction": {"interval": "10s"}})"},
                     {"H002", R"({"hospital": {"id": "H002", "region": "north", "name": "North Clinic"},
                                   "extraction": {"interval": "10s"}})"}};
    return o;
}

// A patient reads reference data too: any signed-in role.
nlohmann::json fhir_read(System& s, const std::string& path, int* status = nullptr, HttpReply* reply = nullptr) {
    auto r = s.get(path, s.bearer("patient", "P-fhir"));
    if (status) *status = r.status;
    if (reply) *reply = r;
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    return doc.is_discarded() ? nlohmann::json() : doc;
}

std::string fhir_link(const nlohmann::json& bundle, const std::string& relation) {
    for (const auto& l : bundle.value("link", nlohmann::json::array()))
        if (l.value("relation", "") == relation) return l.value("url", "");
    return "";
}

// The path and query of an absolute link ("http://host/fhir/r4/..." -> "/fhir/r4/...").
std::string fhir_path_of(const std::string& url) {
    auto at = url.find("/fhir/r4/");
    return at == std::string::npos ? url : url.substr(at);
}

// The OperationOutcome's one issue code, or "" when the body is not one.
std::string fhir_issue(const nlohmann::json& doc) {
    if (!doc.is_object() || doc.value("resourceType", "") != "OperationOutcome") return "";
    const auto& issue = doc["issue"][0];
    CHECK(issue["severity"] == "error");
    CHECK_FALSE(issue.value("diagnostics", "").empty());
    return issue.value("code", "");
}

// Whether reading `path` answers `status` with an OperationOutcome of issue `code`.
bool fhir_refused(System& s, const std::string& path, int status, const std::string& code) {
    int got = 0;
    auto issue = fhir_issue(fhir_read(s, path, &got));
    INFO(path << ": " << got << " " << issue);
    return got == status && issue == code;
}

// The UTC date `days` from now, YYYY-MM-DD.
std::string fhir_date_in(int days) {
    std::time_t t = std::time(nullptr) + days * 86400;
    char out[16];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(out, sizeof out, "%Y-%m-%d", &tm);
    return out;
}

// Two slots of his-sim's doctor DR-101 at H001 on `date`: S-FHIR-FREE with room, S-FHIR-FULL booked out.
bool fhir_put_slots(System& s, const std::string& date) {
    for (auto [id, booked] : {std::pair{"S-FHIR-FREE", 1}, std::pair{"S-FHIR-FULL", 5}}) {
        nlohmann::json slot = {{"doctorId", "DR-101"}, {"departmentId", "D-INT"}, {"date", date},
                               {"start", booked == 1 ? "09:00" : "09:30"}, {"end", booked == 1 ? "09:30" : "10:00"},
                               {"half", "AM"}, {"capacity", 5}, {"booked", booked}, {"feeCents", 2500}};
        if (http_send(s.sim_control_port("H001"), "PUT", std::string("/slots/") + id, slot.dump()).status != 200) return false;
    }
    return true;
}

// The ids of a Bundle's entries.
std::vector<std::string> fhir_ids(const nlohmann::json& bundle) {
    std::vector<std::string> ids;
    for (const auto& e : bundle.value("entry", nlohmann::json::array())) ids.push_back(e["resource"]["id"].get<std::string>());
    return ids;
}

}  // namespace

TEST_CASE("fhir facade: metadata, Organizations over two pages, Practitioners, OperationOutcome errors", "[system]") {
    System s(fhir_two_hospitals());
    REQUIRE(s.start());
    int status = 0;
    HttpReply reply;

    auto cs = fhir_read(s, "/fhir/r4/metadata", &status, &reply);
    CHECK(status == 200);
    CHECK(reply.headers["Content-Type"].rfind("application/fhir+json", 0) == 0);
    CHECK(cs["resourceType"] == "CapabilityStatement");
    CHECK(cs["fhirVersion"] == "4.0.1");

    const std::string day = fhir_date_in(3);
    REQUIRE(fhir_put_slots(s, day));

    // Both hospitals' reference data reach the primary (the agents' first change sets).
    REQUIRE(eventually([&] { return fhir_read(s, "/fhir/r4/Organization?_count=10").value("entry", nlohmann::json::array()).size() == 2; }, 30s));

    // Two pages of one, through the next link's opaque cursor.
    auto first = fhir_read(s, "/fhir/r4/Organization?_count=1", &status);
    CHECK(status == 200);
    CHECK(first["resourceType"] == "Bundle");
    CHECK(first["type"] == "searchset");
    REQUIRE(first["entry"].size() == 1);
    CHECK(first["entry"][0]["resource"]["id"] == "H001");
    CHECK(first["entry"][0]["resource"]["name"] == "South General");
    auto next = fhir_link(first, "next");
    REQUIRE_FALSE(next.empty());
    auto second = fhir_read(s, fhir_path_of(next), &status);
    CHECK(status == 200);
    REQUIRE(second["entry"].size() == 1);
    CHECK(second["entry"][0]["resource"]["id"] == "H002");
    CHECK(fhir_link(second, "next").empty());

    auto north = fhir_read(s, "/fhir/r4/Organization?address-state=north");
    REQUIRE(north["entry"].size() == 1);
    CHECK(north["entry"][0]["resource"]["id"] == "H002");

    auto one = fhir_read(s, "/fhir/r4/Organization/H002", &status);
    CHECK(status == 200);
    CHECK(one["resourceType"] == "Organization");
    CHECK(one["address"][0]["state"] == "north");

    auto doctors = fhir_read(s, "/fhir/r4/Practitioner?organization=Organization/H001&_count=100", &status);
    CHECK(status == 200);
    REQUIRE(doctors.value("entry", nlohmann::json::array()).size() > 0);
    std::string doctor_id = doctors["entry"][0]["resource"]["id"].get<std::string>();
    CHECK(doctor_id.rfind("H001.", 0) == 0);
    auto doctor = fhir_read(s, "/fhir/r4/Practitioner/" + doctor_id, &status);
    CHECK(status == 200);
    CHECK(doctor["id"] == doctor_id);

    // Slots of one doctor's Schedule: both once the agent's next pull brings them.
    const std::string slots = "/fhir/r4/Slot?schedule=Schedule/H001.DR-101&start=" + day;
    // Both pushed slots, not any two: his-sim's own slots for the doctor can be there first.
    REQUIRE(eventually([&] {
        auto ids = fhir_ids(fhir_read(s, slots + "&_count=100"));
        return std::count(ids.begin(), ids.end(), "H001.S-FHIR-FREE") == 1 && std::count(ids.begin(), ids.end(), "H001.S-FHIR-FULL") == 1;
    }, 30s));
    auto all = fhir_ids(fhir_read(s, slots + "&_count=100"));
    CHECK(std::count(all.begin(), all.end(), "H001.S-FHIR-FREE") == 1);
    CHECK(std::count(all.begin(), all.end(), "H001.S-FHIR-FULL") == 1);
    auto busy = fhir_ids(fhir_read(s, slots + "&status=busy&_count=100"));
    CHECK(std::count(busy.begin(), busy.end(), "H001.S-FHIR-FULL") == 1);
    CHECK(std::count(busy.begin(), busy.end(), "H001.S-FHIR-FREE") == 0);
    auto with_room = fhir_ids(fhir_read(s, slots + "&status=free&_count=100"));
    CHECK(std::count(with_room.begin(), with_room.end(), "H001.S-FHIR-FREE") == 1);
    CHECK(std::count(with_room.begin(), with_room.end(), "H001.S-FHIR-FULL") == 0);
    auto full = fhir_read(s, "/fhir/r4/Slot/H001.S-FHIR-FULL", &status);
    CHECK(status == 200);
    CHECK(full["status"] == "busy");
    CHECK(full["start"] == day + "T09:30:00+08:00");
    CHECK(full["schedule"]["reference"] == "Schedule/H001.DR-101");
    auto sched = fhir_read(s, "/fhir/r4/Schedule/H001.DR-101", &status);
    CHECK(status == 200);
    CHECK(sched["actor"][0]["reference"] == "Practitioner/H001.DR-101");
    CHECK(fhir_refused(s, "/fhir/r4/Slot?start=" + day, 400, "invalid"));  // no schedule
    CHECK(fhir_refused(s, "/fhir/r4/Slot?schedule=Schedule/H001.DR-101&start=tomorrow", 400, "invalid"));
    CHECK(fhir_refused(s, "/fhir/r4/Slot?schedule=Schedule/H001.DR-101&start=" + day + "&status=maybe", 400, "invalid"));

    // Errors: each an OperationOutcome with its status, before any read.
    CHECK(fhir_refused(s, "/fhir/r4/Organization/H404", 404, "not-found"));
    CHECK(fhir_refused(s, "/fhir/r4/Practitioner/H001.NOBODY", 404, "not-found"));
    CHECK(fhir_refused(s, "/fhir/r4/Organization?_count=0", 400, "invalid"));
    CHECK(fhir_refused(s, "/fhir/r4/Organization?_count=101", 400, "invalid"));
    auto unknown = fhir_read(s, "/fhir/r4/Organization?name=South", &status);
    CHECK(fhir_issue(unknown) == "invalid");
    CHECK(status == 400);
    CHECK(unknown["issue"][0]["diagnostics"].get<std::string>().find("name") != std::string::npos);
    CHECK(fhir_refused(s, "/fhir/r4/Organization?_cursor=zz", 400, "invalid"));
    CHECK(fhir_refused(s, "/fhir/r4/Organization?_cursor=s1abcdef", 400, "invalid"));
    CHECK(fhir_refused(s, "/fhir/r4/Organization/bad%20id", 400, "invalid"));
    CHECK(fhir_refused(s, "/fhir/r4/Practitioner/nodot", 400, "invalid"));
    CHECK(fhir_refused(s, "/fhir/r4/Patient/P1", 404, "not-supported"));
    auto posted = http_send(s.api_port(), "POST", "/fhir/r4/Organization", "{}", s.bearer("admin", "a"));
    CHECK(posted.status == 405);
    CHECK(posted.headers["Allow"] == "GET, HEAD");
    CHECK(fhir_issue(nlohmann::json::parse(posted.body, nullptr, false)) == "not-supported");
    // Without a token, or with a bad one: 401, as every signed-in route, as an
    // OperationOutcome (issue type login) with the API's WWW-Authenticate.
    auto anonymous = http_get(s.api_port(), "/fhir/r4/metadata");
    CHECK(anonymous.status == 401);
    CHECK(anonymous.headers["Content-Type"].find("application/fhir+json") == 0);
    CHECK(anonymous.headers["WWW-Authenticate"] == R"(Bearer realm="hisgate")");
    CHECK(fhir_issue(nlohmann::json::parse(anonymous.body, nullptr, false)) == "login");
    auto forged = http_get(s.api_port(), "/fhir/r4/Organization", {{"Authorization", "Bearer not-a-token"}});
    CHECK(forged.status == 401);
    CHECK(forged.headers["WWW-Authenticate"].find("invalid_token") != std::string::npos);
    CHECK(fhir_issue(nlohmann::json::parse(forged.body, nullptr, false)) == "login");
    CHECK(nlohmann::json::parse(http_get(s.api_port(), "/api/v1/hospitals").body, nullptr, false).value("code", "") ==
          "auth.missing_token");  // the rest of the API keeps its JSON error
}
