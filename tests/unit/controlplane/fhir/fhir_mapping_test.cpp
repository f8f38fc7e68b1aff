// The FHIR facade's mappings (controlplane/fhir/fhir_resources.h, fhir_bundle.h) against
// golden files: a fixed hospital and doctor, applied to a real public-partition primary
// and read back through the facade's data interface (fhir_data.h), give exactly the
// resources in tests/unit/controlplane/fhir/*.json. The patient's own data (fhir_patient.h)
// from fixed bookings and reports likewise. HISGATE_UPDATE_GOLDEN=1 rewrites the files
// from what the mappings give (docs/fhir.md, "Golden files"): review the diff.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <set>

#include "controlplane/fhir/fhir_api.h"
#include "controlplane/fhir/fhir_patient.h"
#include "common/http_server.h"
#include "tests/support/system.h"

#include "controlplane/fhir/fhir_bundle.h"
#include "controlplane/fhir/fhir_data.h"
#include "controlplane/fhir/fhir_resources.h"
#include "../../public_partition/primary_fixture.h"

using namespace hisgate;
using namespace hisgate::controlplane;

namespace {

nlohmann::json fhir_golden(const std::string& name) {
    std::ifstream in(std::string(HISGATE_SOURCE_DIR) + "/tests/unit/controlplane/fhir/" + name);
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
}

// The same JSON (key order aside); the dumps show the difference when not.
void check_fhir_golden(const nlohmann::json& actual, const std::string& name) {
    const std::string path = std::string(HISGATE_SOURCE_DIR) + "/tests/unit/controlplane/fhir/" + name;
    if (std::getenv("HISGATE_UPDATE_GOLDEN")) {  // only what changed, so a file's layout stays its own
        std::ifstream in(path);
        auto old = in.good() ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
        if (old != actual) std::ofstream(path) << actual.dump(2) << "\n";
    }
    auto want = fhir_golden(name);
    INFO(name << "\nwant: " << want.dump(2) << "\ngot:  " << actual.dump(2));
    CHECK(actual == want);
}

nlohmann::json fhir_hospital_record(const std::string& id, const std::string& name, const std::string& region,
                                    const std::string& city) {
    return {{"entity", "hospital"}, {"op", "upsert"}, {"key", id},
            {"data", {{"hospitalId", id}, {"name", name}, {"region", region}, {"city", city}, {"level", "3A"}}}};
}

struct FhirFixture {
    test::public_partition::Primary p;
    std::unique_ptr<fhir::FhirData> data = fhir::primary_fhir_data(*p.primary);
    FhirFixture() {
        auto doctor = test::public_partition::doctor("D1", "王芳");
        doctor["data"]["specialty"] = "Cardiology";
        p.apply(test::public_partition::change_set(
            "H001", 1,
            {fhir_hospital_record("H001", "South General", "south", "Guangzhou"), doctor,
             test::public_partition::slot("S1", 1), test::public_partition::slot("S2", 4)}));
        p.apply(test::public_partition::change_set("H002", 1, {fhir_hospital_record("H002", "北方医院", "north", "Harbin")}));
    }
};

}  // namespace

TEST_CASE("fhir: a hospital and a doctor read from the primary map to their golden resources", "[fhir]") {
    FhirFixture f;
    auto h = f.data->hospital("H001");
    REQUIRE(h.ok());
    REQUIRE(h->has_value());
    check_fhir_golden(fhir::organization(**h), "organization_H001.json");

    auto d = f.data->doctor("H001", "D1");
    REQUIRE(d.ok());
    REQUIRE(d->has_value());
    check_fhir_golden(fhir::practitioner(**d), "practitioner_H001.D1.json");

    check_fhir_golden(fhir::schedule(**d), "schedule_H001.D1.json");

    auto slot = f.data->slot("H001", "S1");
    REQUIRE(slot.ok());
    REQUIRE(slot->has_value());
    check_fhir_golden(fhir::slot(**slot), "slot_H001.S1.json");
    auto full = f.data->slot("H001", "S2");
    REQUIRE(full.ok());
    REQUIRE(full->has_value());
    CHECK(fhir::slot(**full)["status"] == "busy");
    auto free_only = f.data->slots("H001", "D1", "2026-12-07", "2026-12-07", true, 10, "");
    REQUIRE(free_only.ok());
    REQUIRE(free_only->items.size() == 1);
    CHECK(fhir::slot(free_only->items[0])["id"] == "H001.S1");
    auto every = f.data->slots("H001", "D1", "2026-12-07", "", false, 10, "");
    REQUIRE(every.ok());
    CHECK(every->items.size() == 2);

    auto none = f.data->hospital("H404");
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
    auto no_doctor = f.data->doctor("H002", "D1");
    REQUIRE(no_doctor.ok());
    CHECK_FALSE(no_doctor->has_value());
}

TEST_CASE("fhir: a suspect hospital with no name or place is tagged and has no empty fields", "[fhir]") {
    check_fhir_golden(fhir::organization({{"hospitalId", "H009"}, {"suspect", true}}), "organization_suspect.json");
}

TEST_CASE("fhir: a searchset page links itself and the next page, its parameters encoded", "[fhir]") {
    nlohmann::json item = {{"hospitalId", "H001"}, {"name", "South General"}, {"region", "south"},
                           {"city", "Guangzhou"}, {"suspect", false}};
    auto b = fhir::searchset("https://fhir.example/fhir/r4", "Organization",
                             {{"_count", "1"}, {"address-state", "south coast"}}, {fhir::organization(item)}, "s1ab12");
    check_fhir_golden(b, "searchset_page.json");
    // The last page has no next link, and an empty page no entry array.
    auto last = fhir::searchset("", "Organization", {{"_count", "1"}}, {}, "");
    CHECK(last["link"].size() == 1);
    CHECK(last["link"][0]["url"] == "/fhir/r4/Organization?_count=1");
    CHECK_FALSE(last.contains("entry"));
}

TEST_CASE("fhir: the data interface pages hospitals by cursor and refuses a cursor of another search", "[fhir]") {
    FhirFixture f;
    auto first = f.data->hospitals("", 1, "");
    REQUIRE(first.ok());
    REQUIRE(first->items.size() == 1);
    CHECK(first->items[0]["hospitalId"] == "H001");
    REQUIRE_FALSE(first->next.empty());
    auto second = f.data->hospitals("", 1, first->next);
    REQUIRE(second.ok());
    REQUIRE(second->items.size() == 1);
    CHECK(second->items[0]["hospitalId"] == "H002");
    CHECK(second->next.empty());
    auto north = f.data->hospitals("north", 10, "");
    REQUIRE(north.ok());
    REQUIRE(north->items.size() == 1);
    CHECK(north->items[0]["hospitalId"] == "H002");
    // A cursor made under other filters.
    auto crossed = f.data->hospitals("north", 1, first->next);
    REQUIRE_FALSE(crossed.ok());
    CHECK(crossed.error().code == "fhir.bad_search");
    auto doctors = f.data->doctors("H001", 10, "");
    REQUIRE(doctors.ok());
    REQUIRE(doctors->items.size() == 1);
    CHECK(fhir::practitioner(doctors->items[0])["id"] == "H001.D1");
}

TEST_CASE("fhir: errors are OperationOutcomes and the CapabilityStatement lists what is served", "[fhir]") {
    check_fhir_golden(fhir::operation_outcome("invalid", "_count: expected 1 to 100"), "operation_outcome.json");
    const auto& cs = fhir::capability_statement();
    CHECK(cs["resourceType"] == "CapabilityStatement");
    CHECK(cs["fhirVersion"] == "4.0.1");
    CHECK(cs["format"] == nlohmann::json{"json"});
    std::vector<std::string> types;
    for (const auto& r : cs["rest"][0]["resource"]) types.push_back(r["type"].get<std::string>());
    CHECK(types == std::vector<std::string>{"Organization", "Practitioner", "Schedule", "Slot", "Appointment",
                                            "DiagnosticReport", "Observation"});
    // Exactly what the routes serve: a type's read is a /{id} route, its search-type the bare one.
    std::set<std::string> listed, routed;
    for (const auto& r : cs["rest"][0]["resource"])
        for (const auto& i : r["interaction"])
            listed.insert(r["type"].get<std::string>() + (i["code"] == "read" ? "/{id}" : ""));
    for (const auto& route : fhir::FhirApi::routes()) {
        std::string path = route.path;
        if (path == "/fhir/r4/metadata") continue;
        routed.insert(path.substr(std::string("/fhir/r4/").size()));
    }
    CHECK(listed == routed);
    auto split = fhir::split_practitioner_id("H001.D1.x");
    REQUIRE(split);
    CHECK(split->first == "H001");
    CHECK(split->second == "D1.x");
    CHECK_FALSE(fhir::split_practitioner_id("H001"));
    CHECK_FALSE(fhir::split_practitioner_id(".D1"));
}

namespace {

nlohmann::json fhir_booking(const std::string& state, const char* zh, const char* en) {
    return {{"transactionId", "0123456789abcdef0123456789abcdef"}, {"kind", "booking"}, {"state", state},
            {"status", {{"zh", zh}, {"en", en}}}, {"hospitalId", "H001"}, {"patientId", "P-DEMO-1"},
            {"amount", "15.00"}, {"currency", "CNY"}, {"purpose", "S1"}, {"slotId", "S1"}, {"partition", "south"},
            {"epoch", 1}, {"createdAt", "2026-12-07T01:02:03.456Z"}, {"updatedAt", "2026-12-07T01:02:09.000Z"}};
}

nlohmann::json fhir_lab_report() {
    return nlohmann::json::parse(R"({"reportId": "R-1", "patientId": "P-DEMO-1", "title": "血常规", "status": "F",
        "issuedAt": "2026-11-20T08:30:00", "patientSex": "female", "observations": [
        {"code": "WBC", "name": "White blood cells", "value": "6.1", "units": "10*9/L", "referenceRange": "3.5-9.5", "flag": "N"},
        {"code": "HGB", "name": "Hemoglobin", "value": "170", "units": "g/L", "referenceRange": "115-150", "flag": "H",
         "loinc": {"code": "718-7", "display": "Hemoglobin [Mass/volume] in Blood"}},
        {"code": "NOTE", "name": "Comment", "value": "slightly lipemic", "units": "", "referenceRange": "", "flag": ""}]})");
}

}  // namespace

TEST_CASE("fhir: bookings map to Appointments - IN_DOUBT pending and confirming, booked, cancelled", "[fhir]") {
    FhirFixture f;
    auto slot = f.data->slot("H001", "S1");
    REQUIRE(slot.ok());
    REQUIRE(slot->has_value());
    auto in_doubt = fhir::appointment(fhir_booking("IN_DOUBT", "正在与医院确认", "confirming with the hospital"), **slot);
    CHECK(in_doubt["status"] == "pending");  // never a failure
    check_fhir_golden(in_doubt, "appointment_in_doubt.json");
    check_fhir_golden(fhir::appointment(fhir_booking("POSTED", "预约成功", "booked"), **slot), "appointment_booked.json");
    auto cancelled = fhir_booking("POSTED", "预约成功", "booked");
    cancelled["cancel"] = fhir_booking("POSTED", "预约已取消", "booking cancelled");
    cancelled["cancel"]["kind"] = "cancel";
    check_fhir_golden(fhir::appointment(cancelled, **slot), "appointment_cancelled.json");
    // The slot no longer in the public partition: no times, no doctor.
    auto unknown_slot = fhir::appointment(fhir_booking("HELD", "号源已锁定，正在预约", "slot held, booking with the hospital"),
                                          std::nullopt);
    CHECK(unknown_slot["status"] == "pending");
    CHECK_FALSE(unknown_slot.contains("start"));
    CHECK(unknown_slot["participant"].size() == 1);
    // ... unless the slot was kept as the booking was sent (R4 app-3: pending and booked have times).
    auto kept = fhir_booking("POSTED", "预约成功", "booked");
    kept["bookedSlot"] = {{"hospitalId", "H001"}, {"slotId", "S1"}, {"doctorId", "D1"}, {"date", "2026-12-08"},
                          {"start", "09:00"}, {"end", "09:30"}, {"half", ""}};
    auto after_partition = fhir::appointment(kept, std::nullopt);
    CHECK(after_partition["start"] == "2026-12-08T09:00:00+08:00");
    CHECK(after_partition["end"] == "2026-12-08T09:30:00+08:00");
    CHECK(after_partition["participant"][1]["actor"]["reference"] == "Practitioner/H001.D1");
    CHECK(fhir::appointment(kept, **slot)["start"] == in_doubt["start"]);  // the partition's slot, while it holds one
    for (const char* state : {"REJECTED", "VOIDED"})
        CHECK(fhir::appointment_status(fhir_booking(state, "", "")) == "cancelled");
    for (const char* state : {"CREATED", "HELD", "DISPATCHED", "IN_DOUBT"})
        CHECK(fhir::appointment_status(fhir_booking(state, "", "")) == "pending");
    CHECK(fhir::appointment_status(fhir_booking("CONFIRMED", "", "")) == "booked");
    auto cancel_in_doubt = fhir_booking("POSTED", "", "");
    cancel_in_doubt["cancel"] = fhir_booking("IN_DOUBT", "", "");
    CHECK(fhir::appointment_status(cancel_in_doubt) == "booked");  // until the hospital says it is cancelled
}

TEST_CASE("fhir: a lab report maps to a DiagnosticReport and its lines to Observations", "[fhir]") {
    auto report = fhir_lab_report();
    check_fhir_golden(fhir::diagnostic_report("H001", "P-DEMO-1", report), "diagnostic_report_H001.R-1.json");
    check_fhir_golden(fhir::observation("H001", "P-DEMO-1", report, 2), "observation_H001.R-1.2.json");
    // Mapped to LOINC (the golden file has both codings), unmapped (the HIS's only), and a
    // malformed mapping ignored.
    auto hgb = fhir::observation("H001", "P-DEMO-1", report, 2);
    REQUIRE(hgb["code"]["coding"].size() == 2);
    CHECK(hgb["code"]["coding"][1] == nlohmann::json{{"system", "http://loinc.org"}, {"code", "718-7"},
                                                     {"display", "Hemoglobin [Mass/volume] in Blood"}});
    CHECK(fhir::observation("H001", "P-DEMO-1", report, 1)["code"]["coding"].size() == 1);
    report["observations"][0]["loinc"] = {{"code", "WBC"}, {"display", "x"}};
    CHECK(fhir::observation("H001", "P-DEMO-1", report, 1)["code"]["coding"].size() == 1);
    auto text = fhir::observation("H001", "P-DEMO-1", report, 3);
    CHECK(text["valueString"] == "slightly lipemic");
    CHECK_FALSE(text.contains("interpretation"));
    check_fhir_golden(fhir::diagnostic_report_on_its_way("H001", "P-DEMO-1",
                                                         {{"reportId", "R-2"}, {"title", "肝功能"}, {"status", "F"},
                                                          {"issuedAt", "20261121091500"}}),
                      "diagnostic_report_on_its_way.json");
    CHECK(fhir::report_status("P") == "preliminary");
    CHECK(fhir::report_status("A") == "partial");
    CHECK(fhir::report_status("I") == "registered");
    CHECK(fhir::report_status("what") == "unknown");
    CHECK(fhir::fhir_instant("2026-11-20T08:30:00Z") == "2026-11-20T08:30:00Z");
    CHECK(fhir::fhir_instant("2026-11-20 08:30") == "2026-11-20T08:30:00+08:00");
    CHECK(fhir::fhir_instant("202611200830") == "2026-11-20T08:30:00+08:00");
    CHECK(fhir::fhir_instant("yesterday").empty());
    CHECK(fhir::fhir_instant("2026-11-20").empty());
}

namespace {

// The hospital's side of the patient's reports, played: report.get answered or still on its
// way, the patient's list answered or not.
class FhirFakeHospitalReports final : public fhir::PatientData {
public:
    bool report_answered = false, list_answered = true;
    Result<std::vector<nlohmann::json>> bookings(const std::string&, int) override { return std::vector<nlohmann::json>{}; }
    Result<std::optional<nlohmann::json>> booking(const std::string&) override { return std::optional<nlohmann::json>(); }
    Result<std::optional<nlohmann::json>> ask(const std::string&, const std::string& type, const nlohmann::json& body,
                                              const std::string&, std::string* task_id) override {
        if (task_id) *task_id = "";
        if (type == "report.get") {
            if (body.value("reportId", "") != "R-1") return make_error(ErrorClass::NotFound, "report.not_found", "no report");
            return report_answered ? std::optional<nlohmann::json>(fhir_lab_report()) : std::nullopt;
        }
        if (!list_answered) return std::optional<nlohmann::json>();
        return std::optional<nlohmann::json>(nlohmann::json::parse(
            R"({"reports": [{"reportId": "R-1", "title": "血常规", "status": "F", "issuedAt": "2026-11-20T08:30:00"}]})"));
    }
    void delivered(const std::string&) override {}
};

}  // namespace

TEST_CASE("fhir: a report on its way from the hospital reads as registered once the patient's list names it", "[fhir]") {
    FhirFixture f;
    FhirFakeHospitalReports hospital;
    fhir::FhirApi api(*f.data, false);
    api.set_patient_data(&hospital);
    auth::AccessToken who{auth::Role::Patient, "P-DEMO-1"};
    HttpServer server("127.0.0.1", 0, [&](auto& req, auto& res) { api.handle(who, req, res); });
    REQUIRE(server.start());
    auto read = [&](const std::string& path, int* status) {
        auto r = test::http_get(server.port(), path);
        *status = r.status;
        return nlohmann::json::parse(r.body, nullptr, false);
    };
    int status = 0;
    auto on_its_way = read("/fhir/r4/DiagnosticReport/H001.R-1", &status);
    CHECK(status == 200);
    CHECK(on_its_way["status"] == "registered");
    CHECK(on_its_way["meta"]["tag"][0]["code"] == "on-its-way");
    CHECK(on_its_way["code"]["text"] == "血常规");
    CHECK_FALSE(on_its_way.contains("result"));
    auto line = read("/fhir/r4/Observation/H001.R-1.1", &status);  // its lines come with it
    CHECK(status == 503);
    CHECK(line["issue"][0]["code"] == "transient");
    read("/fhir/r4/DiagnosticReport/H001.R-9", &status);
    CHECK(status == 404);
    // Nothing tells the report is the patient's while their list has not come either.
    hospital.list_answered = false;
    CHECK(read("/fhir/r4/DiagnosticReport/H001.R-1", &status)["issue"][0]["code"] == "transient");
    CHECK(status == 503);
    CHECK(read("/fhir/r4/DiagnosticReport?performer=H001", &status)["issue"][0]["code"] == "transient");
    CHECK(status == 503);
    // Arrived: the whole report, and it is this patient's only.
    hospital.report_answered = true;
    auto arrived = read("/fhir/r4/DiagnosticReport/H001.R-1", &status);
    CHECK(status == 200);
    CHECK(arrived["status"] == "final");
    CHECK(arrived["result"].size() == 3);
    CHECK(read("/fhir/r4/Observation/H001.R-1.3", &status)["valueString"] == "slightly lipemic");
    CHECK(status == 200);
    who.subject = "P-OTHER";
    CHECK(read("/fhir/r4/DiagnosticReport/H001.R-1", &status)["issue"][0]["code"] == "not-found");
    CHECK(status == 404);
    CHECK(read("/fhir/r4/Observation?_id=H001.R-1.3", &status).value("entry", nlohmann::json::array()).empty());
    CHECK(status == 200);
    server.stop();
}
