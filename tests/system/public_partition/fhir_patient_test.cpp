// The FHIR facade's patient side (docs/fhir.md, "The patient's own data") over real
// processes: broker, his-sim and the agent, pay-sim, and the control plane with its ledgers.
// A patient books through /api/v1 and reads the bookings as Appointments (one whose answer
// his-sim drops: IN_DOUBT, pending "confirming with the hospital", then booked; one
// cancelled), and his-sim's lab report as a DiagnosticReport and its Observations. Another
// patient gets 404 for each, staff 403, bad input an OperationOutcome. Every resource type
// the facade serves is written out and validated against the R4 definitions with npm
// `fhir` (tests/fhir_validate/validate.cjs), together with the mapping golden files.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "his-sim/hospital.h"
#include "tests/support/process.h"
#include "tests/support/running_pay_sim.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace hisgate::test;
using namespace std::chrono_literals;

namespace {

struct FhirPatientWorld {
    RunningPaySim pay;
    System sys;
    std::string out_dir;  // what the validator reads

    FhirPatientWorld()
        : sys({.hospitals = {"H001"},
               // The first booking's answer is dropped: IN_DOUBT until the first probe, 15 s on.
               .sim_faults = {{"H001", R"({"drop_after_commit": 1})"}},
               .his_params = {{"H001", his_params()}},
               .more_params = {{"H001", R"({"extraction": {"interval": "10s"}})"}},
               .controlplane_config = config(pay)}) {
        out_dir = sys.dir() + "/fhir-resources";
        std::filesystem::create_directories(out_dir);
    }
    // With the demo H001's map of his-sim's lab codes to LOINC (tools/his-sim/dialects/).
    static std::string his_params() {
        auto demo = nlohmann::json::parse(
            test::read_file(std::string(HISGATE_SOURCE_DIR) + "/tools/his-sim/dialects/vendor-a-hl7-2.4.json"));
        return nlohmann::json{{"idempotent_orders", false},
                              {"deferred_drain_interval", "1s"},
                              {"code_tables", {{"lab_loinc", demo["code_tables"]["lab_loinc"]}}}}
            .dump();
    }
    static std::string config(const RunningPaySim& pay) {
        return nlohmann::json{{"request_timeouts_ms", {{"appointment.book", 1000}}},
                              {"ledger", {{"dir", pay.dir + "/ledgers"},
                                          {"reply_timeout_ms", 2000},
                                          {"first_probe_ms", 15000},
                                          {"probe_cap_ms", 2000},
                                          {"retry_ms", 1000},
                                          {"max_probes", 1000}}},
                              {"payments", {{"url", "http://127.0.0.1:" + std::to_string(pay.port)},
                                            {"key_file", pay.dir + "/merchant.key"}}}}
            .dump();
    }
    // GET as `patient` (role patient unless `role` says otherwise): the body as JSON.
    nlohmann::json read(const std::string& path, int* status = nullptr, const std::string& patient = "P-DEMO-1",
                        const std::string& role = "patient") {
        auto r = sys.get(path, sys.bearer(role, patient));
        if (status) *status = r.status;
        auto doc = nlohmann::json::parse(r.body, nullptr, false);
        return doc.is_discarded() ? nlohmann::json() : doc;
    }
    // Keeps a resource for the validator.
    void keep(const std::string& name, const nlohmann::json& resource) {
        std::ofstream(out_dir + "/" + name + ".json") << resource.dump(2);
    }
    std::string book(const std::string& slot, const std::string& key) {
        auto h = sys.bearer("patient", "P-DEMO-1");
        h["Idempotency-Key"] = key;
        auto r = sys.post("/api/v1/bookings", R"({"hospitalId":"H001","slotId":")" + slot + R"(","patientId":"P-DEMO-1"})", h);
        INFO(r.body);
        REQUIRE(r.status == 201);
        return nlohmann::json::parse(r.body)["transactionId"].get<std::string>();
    }
};

// The OperationOutcome's issue code, when `doc` is one.
std::string fhir_patient_issue(const nlohmann::json& doc) {
    if (!doc.is_object() || doc.value("resourceType", "") != "OperationOutcome") return "";
    return doc["issue"][0].value("code", "");
}

bool fhir_patient_refused(FhirPatientWorld& w, const std::string& path, int status, const std::string& code,
                          const std::string& patient = "P-DEMO-1", const std::string& role = "patient") {
    int got = 0;
    auto doc = w.read(path, &got, patient, role);
    INFO(path << ": " << got << " " << doc.dump());
    return got == status && fhir_patient_issue(doc) == code;
}

// `r` with its volatile values (ids, days, times of this run) replaced by fixed ones of the
// same form (so the golden file is valid R4 too), compared with
// tests/unit/controlplane/fhir/<name>; HISGATE_UPDATE_GOLDEN=1 rewrites the file instead
// (docs/fhir.md, "R4 validation and golden files").
void fhir_patient_golden(const std::string& name, const nlohmann::json& r,
                         const std::vector<std::pair<std::string, std::string>>& volatile_values) {
    std::string text = r.dump();
    for (const auto& [from, to] : volatile_values)
        for (size_t at = 0; !from.empty() && (at = text.find(from, at)) != std::string::npos; at += to.size())
            text.replace(at, from.size(), to);
    auto normalized = nlohmann::json::parse(text);
    const std::string path = std::string(HISGATE_SOURCE_DIR) + "/tests/unit/controlplane/fhir/" + name;
    if (std::getenv("HISGATE_UPDATE_GOLDEN")) std::ofstream(path) << normalized.dump(2) << "\n";
    std::ifstream in(path);
    REQUIRE(in.good());
    auto want = nlohmann::json::parse(in);
    INFO(name << "\nwant: " << want.dump(2) << "\ngot:  " << normalized.dump(2));
    CHECK(normalized == want);
}

std::vector<std::string> fhir_patient_ids(const nlohmann::json& bundle) {
    std::vector<std::string> ids;
    for (const auto& e : bundle.value("entry", nlohmann::json::array())) ids.push_back(e["resource"].value("id", ""));
    return ids;
}

std::string fhir_patient_next(const nlohmann::json& bundle) {
    for (const auto& l : bundle.value("link", nlohmann::json::array()))
        if (l.value("relation", "") == "next") {
            auto url = l.value("url", "");
            return url.substr(url.find("/fhir/r4/"));
        }
    return "";
}

}  // namespace

TEST_CASE("fhir patient data: Appointments, DiagnosticReports and Observations of the signed-in patient, R4-valid",
          "[system]") {
    FhirPatientWorld w;
    REQUIRE(w.sys.start());
    int status = 0;
    const std::string day = sim::add_days(sim::utc_today(), 2);
    const std::string slot_a = "S-DR-201-" + day + "-AM", slot_b = "S-DR-201-" + day + "-PM";
    // his-sim's quotas reach the public primary by the agent's extraction.
    REQUIRE(eventually([&] {
        w.read("/fhir/r4/Slot/H001." + slot_b, &status);
        return status == 200;
    }, 40s));

    // A booking whose answer his-sim drops: pending, "confirming with the hospital", then booked.
    const std::string in_doubt = w.book(slot_a, "fhir-book-a");
    nlohmann::json a;
    REQUIRE(eventually([&] {
        a = w.read("/fhir/r4/Appointment/" + in_doubt);
        return a["extension"][0].value("valueCode", "") == "IN_DOUBT";
    }, 30s));
    INFO(a.dump(1));
    CHECK(a["status"] == "pending");
    CHECK(a["comment"].get<std::string>().find("confirming with the hospital") != std::string::npos);
    CHECK(a["text"]["div"].get<std::string>().find("confirming with the hospital") != std::string::npos);
    CHECK(a["slot"][0]["reference"] == "Slot/H001." + slot_a);
    CHECK(a["participant"][1]["actor"]["reference"] == "Practitioner/H001.DR-201");
    CHECK(a["supportingInformation"][0]["reference"] == "Organization/H001");
    CHECK(a["start"].get<std::string>().rfind(day + "T00:00:00+08:00", 0) == 0);
    w.keep("appointment_in_doubt", a);
    // The run's volatile values: the transaction ids, the day booked, the creation times.
    const std::vector<std::pair<std::string, std::string>> fixed = {
        {in_doubt, "00000000000000000000000000000001"},
        {day, "2000-01-01"},
        {a.value("created", "?"), "2000-01-01T00:00:00.000Z"}};
    fhir_patient_golden("live_appointment_in_doubt.json", a, fixed);
    REQUIRE(eventually([&] { return w.read("/fhir/r4/Appointment/" + in_doubt)["status"] == "booked"; }, 60s));
    w.keep("appointment_booked", w.read("/fhir/r4/Appointment/" + in_doubt));
    // R4 app-3: the hospital moves the booked quota out of the extraction window, so it leaves
    // the public partition (checked below, after the next pull); the Appointment keeps the
    // times the booking was sent with.
    const nlohmann::json moved = {{"doctorId", "DR-201"}, {"departmentId", "D-PED"}, {"date", sim::add_days(day, 60)},
                                  {"start", ""}, {"end", ""}, {"half", "AM"}, {"capacity", 20}, {"booked", 1},
                                  {"feeCents", 0}};
    REQUIRE(http_send(w.sys.sim_control_port("H001"), "PUT", "/slots/" + slot_a, moved.dump()).status == 200);
    // The probe that confirmed it linked P-DEMO-1 to H001's number (controlplane/patient_links.h).
    auto mine = w.read("/api/v1/me/reports");
    INFO(mine.dump());
    CHECK(mine["hospitals"].size() == 1);

    // A second one, booked and then cancelled by the patient.
    const std::string cancelled = w.book(slot_b, "fhir-book-b");
    REQUIRE(eventually([&] { return w.read("/fhir/r4/Appointment/" + cancelled)["status"] == "booked"; }, 60s));
    {
        auto h = w.sys.bearer("patient", "P-DEMO-1");
        h["Idempotency-Key"] = "fhir-cancel-b";
        auto c = w.sys.post("/api/v1/bookings/" + cancelled + "/cancel", "", h);
        INFO(c.body);
        REQUIRE(c.status == 201);
    }
    REQUIRE(eventually([&] { return w.read("/fhir/r4/Appointment/" + cancelled)["status"] == "cancelled"; }, 60s));
    auto was_cancelled = w.read("/fhir/r4/Appointment/" + cancelled);
    w.keep("appointment_cancelled", was_cancelled);
    fhir_patient_golden("live_appointment_cancelled.json", was_cancelled,
                        {{cancelled, "00000000000000000000000000000002"},
                         {day, "2000-01-01"},
                         {was_cancelled.value("created", "?"), "2000-01-01T00:00:00.000Z"}});

    REQUIRE(eventually([&] {
        w.read("/fhir/r4/Slot/H001." + slot_a, &status);
        return status == 404;
    }, 40s));
    auto kept = w.read("/fhir/r4/Appointment/" + in_doubt);
    INFO(kept.dump(1));
    CHECK(kept["status"] == "booked");
    CHECK(kept["start"] == day + "T00:00:00+08:00");
    CHECK(kept["end"] == day + "T12:00:00+08:00");
    CHECK(kept["participant"][1]["actor"]["reference"] == "Practitioner/H001.DR-201");
    w.keep("appointment_slot_gone", kept);

    // Search: the patient's own, newest first, a page at a time; by status and by date.
    auto first = w.read("/fhir/r4/Appointment?patient=Patient/P-DEMO-1&_count=1", &status);
    CHECK(status == 200);
    CHECK(fhir_patient_ids(first) == std::vector<std::string>{cancelled});
    auto second = w.read(fhir_patient_next(first));
    CHECK(fhir_patient_ids(second) == std::vector<std::string>{in_doubt});
    CHECK(fhir_patient_next(second).empty());
    w.keep("bundle_appointments", first);
    CHECK(fhir_patient_ids(w.read("/fhir/r4/Appointment?status=cancelled")) == std::vector<std::string>{cancelled});
    CHECK(fhir_patient_ids(w.read("/fhir/r4/Appointment?status=booked,pending")) == std::vector<std::string>{in_doubt});
    CHECK(fhir_patient_ids(w.read("/fhir/r4/Appointment?date=" + day)).size() == 2);
    CHECK(fhir_patient_ids(w.read("/fhir/r4/Appointment?date=gt" + day)).empty());

    // Lab reports: his-sim's R-DEMO-1 is P-DEMO-1's, at H001, linked to P-DEMO-1 by the booking
    // it confirmed (controlplane/patient_links.h); without performer, the linked hospitals'.
    auto reports = w.read("/fhir/r4/DiagnosticReport?performer=Organization/H001&patient=P-DEMO-1", &status);
    INFO(reports.dump(1));
    CHECK(status == 200);
    auto report_ids = fhir_patient_ids(reports);
    CHECK(std::find(report_ids.begin(), report_ids.end(), "H001.R-DEMO-1") != report_ids.end());
    CHECK(fhir_patient_ids(w.read("/fhir/r4/DiagnosticReport?patient=P-DEMO-1")) == report_ids);
    w.keep("bundle_reports", reports);
    auto report = w.read("/fhir/r4/DiagnosticReport/H001.R-DEMO-1", &status);
    INFO(report.dump(1));
    REQUIRE(status == 200);
    CHECK(report["status"] == "final");
    CHECK(report["subject"]["identifier"]["value"] == "P-DEMO-1");
    REQUIRE(report.value("result", nlohmann::json::array()).size() >= 1);
    CHECK(report["result"][0]["reference"] == "Observation/H001.R-DEMO-1.1");
    w.keep("diagnostic_report", report);
    fhir_patient_golden("live_diagnostic_report.json", report, {});  // his-sim's seeded report: nothing volatile
    auto lines = w.read("/fhir/r4/Observation?_has:DiagnosticReport:result:_id=H001.R-DEMO-1&_count=100", &status);
    CHECK(status == 200);
    CHECK(fhir_patient_ids(lines).size() == report["result"].size());
    w.keep("bundle_observations", lines);
    auto line = w.read("/fhir/r4/Observation/H001.R-DEMO-1.1", &status);
    CHECK(status == 200);
    CHECK(line["resourceType"] == "Observation");
    CHECK(line["code"].contains("text"));
    // his-sim's 718-7 is mapped by H001's his.code_tables.lab_loinc: LOINC beside the HIS's own code.
    REQUIRE(line["code"]["coding"].size() == 2);
    CHECK(line["code"]["coding"][0]["system"] == "urn:hisgate:hospital:H001:lab-code");
    CHECK(line["code"]["coding"][1] == nlohmann::json{{"system", "http://loinc.org"}, {"code", "718-7"},
                                                      {"display", "Hemoglobin [Mass/volume] in Blood"}});
    w.keep("observation", line);
    fhir_patient_golden("live_observation.json", line, {});
    CHECK(fhir_patient_ids(w.read("/fhir/r4/Observation?_id=H001.R-DEMO-1.1")) == std::vector<std::string>{"H001.R-DEMO-1.1"});

    // Another patient: each of P-DEMO-1's resources answers 404, as one that does not exist,
    // and a search naming P-DEMO-1 finds nothing.
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment/" + in_doubt, 404, "not-found", "P-OTHER"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/DiagnosticReport/H001.R-DEMO-1", 404, "not-found", "P-OTHER"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Observation/H001.R-DEMO-1.1", 404, "not-found", "P-OTHER"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment/00112233445566778899aabbccddeeff", 404, "not-found", "P-OTHER"));
    CHECK(fhir_patient_ids(w.read("/fhir/r4/Appointment?patient=P-DEMO-1", nullptr, "P-OTHER")).empty());
    CHECK(fhir_patient_ids(w.read("/fhir/r4/Appointment", nullptr, "P-OTHER")).empty());
    CHECK(fhir_patient_ids(w.read("/fhir/r4/DiagnosticReport?performer=H001&patient=P-DEMO-1", nullptr, "P-OTHER")).empty());
    CHECK(fhir_patient_ids(w.read("/fhir/r4/Observation?_has:DiagnosticReport:result:_id=H001.R-DEMO-1", nullptr, "P-OTHER")).empty());
    // Staff read bookings and reports on /api/v1: 403 here.
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment/" + in_doubt, 403, "forbidden", "op", "operator"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/DiagnosticReport?performer=H001", 403, "forbidden", "admin", "admin"));

    // Bad input: each an OperationOutcome, before any work.
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment?name=x", 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment/not-a-transaction", 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment/" + std::string(200, 'a'), 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment?_count=1000", 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment?status=maybe", 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment?date=tomorrow", 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment?_cursor=abc", 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment?patient=" + std::string(100, 'P'), 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Appointment?date=" + std::string(3000, '2'), 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/DiagnosticReport?performer=", 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/DiagnosticReport/R-DEMO-1", 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/DiagnosticReport/H001.R%20x", 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/DiagnosticReport/H001.NO-SUCH-REPORT", 404, "not-found"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Observation/H001.R-DEMO-1", 400, "invalid"));  // no line number
    CHECK(fhir_patient_refused(w, "/fhir/r4/Observation/H001.R-DEMO-1.0", 400, "invalid"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Observation/H001.R-DEMO-1.999", 404, "not-found"));
    CHECK(fhir_patient_refused(w, "/fhir/r4/Observation", 400, "invalid"));  // neither _id nor _has
    auto outcome = w.read("/fhir/r4/Appointment?name=x");
    CHECK(outcome["issue"][0]["diagnostics"].get<std::string>().find("name") != std::string::npos);
    w.keep("operation_outcome", outcome);

    // The reference data too, so every resource type the facade serves is validated.
    auto cs = w.read("/fhir/r4/metadata");
    std::set<std::string> served;
    for (const auto& r : cs["rest"][0]["resource"]) served.insert(r["type"].get<std::string>());
    CHECK(served == std::set<std::string>{"Appointment", "DiagnosticReport", "Observation", "Organization", "Practitioner",
                                          "Schedule", "Slot"});
    w.keep("capability_statement", cs);
    w.keep("organization", w.read("/fhir/r4/Organization/H001"));
    w.keep("bundle_organizations", w.read("/fhir/r4/Organization"));
    w.keep("practitioner", w.read("/fhir/r4/Practitioner/H001.DR-201"));
    w.keep("bundle_practitioners", w.read("/fhir/r4/Practitioner?organization=H001&_count=2"));
    w.keep("schedule", w.read("/fhir/r4/Schedule/H001.DR-201"));
    w.keep("slot", w.read("/fhir/r4/Slot/H001." + slot_a));
    w.keep("bundle_slots", w.read("/fhir/r4/Slot?schedule=Schedule/H001.DR-201&start=ge" + day + "&_count=3"));
    // The mappings' golden files (tests/unit/controlplane/fhir): valid R4 as well.
    const std::string goldens = std::string(HISGATE_SOURCE_DIR) + "/tests/unit/controlplane/fhir";
    for (const auto& f : std::filesystem::directory_iterator(goldens))
        if (f.path().extension() == ".json")
            std::filesystem::copy_file(f.path(), w.out_dir + "/golden_" + f.path().filename().string());

    const std::string validator = std::string(HISGATE_SOURCE_DIR) + "/tests/fhir_validate";
    INFO("npm ci in " << validator << " installs the validator (scripts/test does)");
    REQUIRE(std::filesystem::exists(validator + "/node_modules/fhir/package.json"));
    const std::string report_file = w.sys.dir() + "/fhir-validation.txt";
    int rc = std::system(("node " + validator + "/validate.cjs " + w.out_dir + " > " + report_file + " 2>&1").c_str());
    std::ifstream in(report_file);
    std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(said);
    CHECK(said.find("validated ") != std::string::npos);
    CHECK(WIFEXITED(rc));
    CHECK(WEXITSTATUS(rc) == 0);  // no error-severity message
}
