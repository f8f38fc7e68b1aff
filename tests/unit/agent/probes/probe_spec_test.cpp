// The probes parameter: what it accepts, and the message for each mistake.
#include <catch2/catch.hpp>

#include "agent/probes/probe_spec.h"
#include "config-params/param_set.h"

using namespace hisgate;
using namespace hisgate::agent::probes;
using nlohmann::json;

namespace {
std::string problems_of(const char* probes_json) {
    auto r = parse_probes(json::parse(probes_json), "h.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().cls == ErrorClass::Config);
    CHECK(r.error().code == "probes.invalid");
    return r.error().message;
}
}  // namespace

TEST_CASE("probes parameter: a list of probes is read with every field") {
    auto r = parse_probes(json::parse(R"([
        {"path": "lab_report", "operation": "get_report", "cases": ["R-1", "R-2"], "interval": "30s"},
        {"path": "schedule", "operation": "doctor_schedule", "cases": ["DR-101"]},
        {"path": "report_list", "operation": "list_reports", "cases": ["P-1"], "interval": "1h"},
        {"path": "payment", "operation": "payment_status", "cases": ["T-ORDER-1"], "interval": "1s"}])"),
                          "h.json");
    REQUIRE(r.ok());
    REQUIRE(r->size() == 4);
    CHECK(r->at(0).path == "lab_report");
    CHECK(r->at(0).operation == Operation::GetReport);
    CHECK(r->at(0).cases == std::vector<std::string>{"R-1", "R-2"});
    CHECK(r->at(0).interval == std::chrono::seconds(30));
    CHECK(r->at(1).operation == Operation::DoctorSchedule);
    CHECK(r->at(1).interval == kDefaultInterval);
    CHECK(r->at(2).operation == Operation::ListReports);
    CHECK(r->at(2).interval == std::chrono::hours(1));
    CHECK(r->at(3).operation == Operation::PaymentStatus);
    CHECK(r->at(3).interval == std::chrono::seconds(1));
    CHECK(parse_probes(json::array(), "h.json")->empty());
}

TEST_CASE("probes parameter: each mistake is named by its JSON path with what was expected") {
    struct Case {
        const char* probes;
        const char* message;
    };
    const Case cases[] = {
        {R"([{"path": "r", "operation": "get_report", "cases": ["R1"]},
             {"path": "s", "operation": "get_report", "cases": ["R1"], "interval": "soon"}])",
         R"(h.json: probes[1].interval: expected a duration from 1s to 24h like "5m", found string "soon")"},
        {R"([{"path": "r", "operation": "get_report", "cases": ["R1"], "interval": "500ms"}])",
         R"(h.json: probes[0].interval: expected a duration from 1s to 24h like "5m", found string "500ms")"},
        {R"([{"path": "r", "operation": "get_report", "cases": ["R1"], "interval": 300}])",
         R"(h.json: probes[0].interval: expected a duration from 1s to 24h like "5m", found number 300)"},
        {R"([{"path": "r", "operation": "delete_everything", "cases": ["R1"]}])",
         R"(h.json: probes[0].operation: expected one of get_report, list_reports, doctor_schedule, payment_status, found string "delete_everything")"},
        {R"([{"path": "r", "cases": ["R1"]}])",
         R"(h.json: probes[0].operation: expected one of get_report, list_reports, doctor_schedule, payment_status, found nothing)"},
        {R"([{"path": "r", "operation": "get_report", "cases": []}])",
         R"(h.json: probes[0].cases: expected a non-empty list of candidate cases (each a report id), found an empty list)"},
        {R"([{"path": "r", "operation": "doctor_schedule", "cases": "DR-101"}])",
         R"(h.json: probes[0].cases: expected a non-empty list of candidate cases (each a doctor id), found string "DR-101")"},
        {R"([{"path": "r", "operation": "get_report", "cases": ["R1", 7, ""]}])",
         "h.json: probes[0].cases[1]: expected a report id as a non-empty string, found number 7\n"
         "h.json: probes[0].cases[2]: expected a report id as a non-empty string, found string \"\""},
        {R"([{"path": "r", "operation": "payment_status", "cases": ["T1", "T1"]}])",
         R"(h.json: probes[0].cases[1]: expected a case not listed before, found a repeat of "T1")"},
        {R"([{"path": "Lab Report", "operation": "get_report", "cases": ["R1"]}])",
         R"(h.json: probes[0].path: expected a name of lowercase letters, digits and _ starting with a letter (at most 48), e.g. "lab_report", found string "Lab Report")"},
        {R"([{"operation": "get_report", "cases": ["R1"]}])",
         R"(h.json: probes[0].path: expected the business path's name, e.g. "lab_report", found nothing)"},
        {R"([{"path": "r", "operation": "get_report", "cases": ["R1"], "request": {"report_id": "R1"}}])",
         R"(h.json: probes[0].request: expected one of the fields path, operation, cases, interval, found an unknown field)"},
        {R"([{"path": "r", "operation": "get_report", "cases": ["R1"]},
             {"path": "r", "operation": "list_reports", "cases": ["P1"]}])",
         R"(h.json: probes[1].path: expected a path no earlier probe names, found a second probe for "r")"},
        {R"(["lab_report"])",
         R"(h.json: probes[0]: expected an object {"path", "operation", "cases", "interval"}, found string "lab_report")"},
        {R"({"path": "r"})", R"(h.json: probes: expected a list of probe objects, found an object)"},
    };
    for (const auto& c : cases) {
        INFO(c.probes);
        CHECK(problems_of(c.probes) == c.message);
    }
}

TEST_CASE("probes parameter: every problem of the file is reported at once") {
    auto message = problems_of(R"([{"path": "a", "operation": "get_report", "cases": ["R1"], "interval": "soon"},
                                   {"path": "b", "operation": "nope", "cases": []}])");
    CHECK_THAT(message, Catch::Contains("probes[0].interval"));
    CHECK_THAT(message, Catch::Contains("probes[1].operation"));
    CHECK_THAT(message, Catch::Contains("probes[1].cases"));
}

TEST_CASE("probes parameter: read from a hospital parameter file checked by the catalog") {
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    for (const char* example : {"config-params/examples/south-hl7-gb18030.json", "config-params/examples/north-rest-json.json"}) {
        INFO(example);
        auto p = params::ParamSet::load_file(catalog.value(), std::string(HISGATE_SOURCE_DIR) + "/" + example);
        REQUIRE(p.ok());
        auto probes = probes_from_params(p.value(), example);
        REQUIRE(probes.ok());
    }
    auto doc = json::parse(R"({"hospital": {"id": "H001", "region": "south"},
                               "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:2575"},
                               "probes": [{"path": "lab_report", "operation": "get_report", "cases": ["R-DEMO-1"], "interval": "2m"}]})");
    auto p = params::ParamSet::validate(catalog.value(), doc, "h.json");
    REQUIRE(p.ok());
    auto probes = probes_from_params(p.value(), "h.json");
    REQUIRE(probes.ok());
    REQUIRE(probes->size() == 1);
    CHECK(probes->at(0).interval == std::chrono::minutes(2));
}
