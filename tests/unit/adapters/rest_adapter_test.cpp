// Every operation of the REST/JSON adapter against his-sim's REST responder and hospital
// (real SQLite, real HTTP over loopback through POCO), in each REST dialect, and each
// fault his-sim can play.
#include <catch2/catch.hpp>

#include "operation_script.h"

#include <nlohmann/json.hpp>

#include "adapters/registry.h"
#include "adapters/rest/rest_adapter.h"
#include "common/http_server.h"
#include "config-params/param_set.h"
#include "his-sim/rest_responder.h"
#include "his-sim/hospital.h"
#include "tests/support/process.h"

using namespace hisgate;

namespace {

const char* const kRestDialects[][2] = {
    {"camelCase keys at the root", R"({"error_map": {"SLOT_FULL": "rejected", "NOT_FOUND": "not_found"}})"},
    {"vendor base path, renamed keys and a JSON pointer",
     R"({"rest": {"base_path": "/his/api/v2/",
                  "field_map": {"patient.id": "patientNo", "order.id": "orderNo", "payment.amount": "/amount/cents",
                                "report.title": "/meta/title", "slot.fee": "price"}},
         "error_map": {"SLOT_FULL": "rejected", "NOT_FOUND": "not_found"}})"},
};

// A hospital's parameters with `his` merged into the REST basics, checked by the catalog.
Result<params::ParamSet> hospital_params(const std::string& his, uint16_t port) {
    nlohmann::json doc = {{"hospital", {{"id", "H001"}, {"region", "south"}}},
                          {"his", {{"dialect", "rest-json"}, {"endpoint", "http://127.0.0.1:" + std::to_string(port)}}}};
    doc["his"].update(nlohmann::json::parse(his));
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    return params::ParamSet::validate(catalog.value(), doc, "test.json");
}

struct SimulatedRestHis {
    std::string dir = test::make_temp_dir("his");
    sim::Hospital hospital;
    sim::FaultSwitch faults{sim::Faults{}};
    sim::RestResponder responder;
    HttpServer server;

    // Only the dialect's shape matters to the HIS; the endpoint is where it ends up listening.
    explicit SimulatedRestHis(const params::ParamSet& p)
        : hospital(sim::Hospital::open(dir + "/his.db", "H001", sim::utc_today()).value()),
          responder(hospital, p.json("his.rest.field_map"), p.string("his.rest.base_path"), faults,
                    SexCodes(p.code_table("his.code_tables.sex"))),
          server("127.0.0.1", 0, [this](auto& req, auto& res) { responder.handle(req, res); }) {
        REQUIRE(server.start().ok());
    }

    void set_faults(const char* json) {
        auto f = sim::Faults::from_json(nlohmann::json::parse(json));
        REQUIRE(f.ok());
        faults.set(f.value());
    }
};

// The adapter for `his` (a dialect's "his" section), talking to a his-sim that plays it.
std::unique_ptr<HisAdapter> adapter_for(const std::string& his, uint16_t port) {
    auto p = hospital_params(his, port);
    REQUIRE(p.ok());
    auto adapter = make_rest_adapter(p.value());
    REQUIRE(adapter.ok());
    return std::move(adapter.value());
}

params::ParamSet sim_params(const std::string& his) {
    auto p = hospital_params(his, 1);
    REQUIRE(p.ok());
    return p.value();
}

// A server that answers every request with one fixed answer, and keeps the last request's headers.
struct FixedServer {
    int status;
    std::string body;
    std::map<std::string, std::string> seen_headers;
    HttpServer server{"127.0.0.1", 0, [this](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
                          for (const auto& [k, v] : req) seen_headers[k] = v;
                          send_text(res, status, "application/json", body);
                      }};
    FixedServer(int s, std::string b) : status(s), body(std::move(b)) { REQUIRE(server.start().ok()); }
};

}  // namespace

TEST_CASE("rest adapter: every operation against his-sim, in each dialect") {
    for (const auto& [name, his_params] : kRestDialects) {
        DYNAMIC_SECTION(name) {
            SimulatedRestHis his(sim_params(his_params));
            auto adapter = adapter_for(his_params, his.server.port());
            CHECK(adapter->dialect() == "rest-json");
            test::check_every_operation(*adapter);
        }
    }
}

TEST_CASE("rest adapter: HTTP answers and transport failures map to the error contract") {
    SECTION("a vendor code is mapped through his.error_map, whatever the status") {
        FixedServer his(503, R"({"error": {"code": "MAINTENANCE", "message": "back at 6"}})");
        auto r = adapter_for(R"({"error_map": {"MAINTENANCE": "unavailable"}})", his.server.port())->get_report("R-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Unavailable);
        CHECK(r.error().code == "his.MAINTENANCE");
        CHECK_THAT(r.error().message, Catch::Contains("back at 6"));
    }
    SECTION("an unmapped vendor code on a 4xx is a rejection, a mapped one overrides a 404") {
        FixedServer refused(422, R"({"error": {"code": "CARD_EXPIRED"}})");
        auto r = adapter_for("{}", refused.server.port())->pay({"PAY-1", 100, "card"});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Rejected);
        CHECK(r.error().code == "his.CARD_EXPIRED");
        FixedServer missing(404, R"({"error": {"code": "PATIENT_BLOCKED"}})");
        auto m = adapter_for(R"({"error_map": {"PATIENT_BLOCKED": "rejected"}})", missing.server.port())->list_reports("P-1");
        REQUIRE_FALSE(m.ok());
        CHECK(m.error().cls == ErrorClass::Rejected);
    }
    SECTION("a 404 without a vendor code is the HIS unavailable (a web server without its application), never absence") {
        FixedServer his(404, "<html>no such page</html>");
        auto adapter = adapter_for("{}", his.server.port());
        auto r = adapter->get_report("R-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Unavailable);
        CHECK(r.error().code == "rest.http_404");
        auto s = adapter->payment_status("PAY-1");
        REQUIRE_FALSE(s.ok());
        CHECK(s.error().cls == ErrorClass::Unavailable);
        auto b = adapter->booking_status("O-1");
        REQUIRE_FALSE(b.ok());
        CHECK(b.error().cls == ErrorClass::Unavailable);
    }
    SECTION("a 404 with the application's vendor code is not found") {
        FixedServer his(404, R"({"error": {"code": "NO_SUCH_REPORT"}})");
        auto r = adapter_for("{}", his.server.port())->get_report("R-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::NotFound);
        CHECK(r.error().code == "his.NO_SUCH_REPORT");
    }
    SECTION("an answer that is not JSON, or not the expected shape, is a protocol error") {
        FixedServer garbage(200, "<html>hello</html>");
        auto r = adapter_for("{}", garbage.server.port())->get_report("R-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Protocol);
        CHECK(r.error().code == "his.unreadable_answer");
        FixedServer wrong(200, R"({"orderId": "PAY-2", "amountCents": "lots"})");
        auto p = adapter_for("{}", wrong.server.port())->payment_status("PAY-2");
        REQUIRE_FALSE(p.ok());
        CHECK(p.error().cls == ErrorClass::Protocol);
    }
    SECTION("nobody listening is unavailable") {
        auto r = adapter_for("{}", test::free_port())->get_report("R-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Unavailable);
        CHECK(r.error().code == "rest.connect_failed");
    }
    SECTION("the secret from token_file goes in the named header, and the request carries an id") {
        std::string dir = test::make_temp_dir("rest-token");
        test::write_file(dir + "/token", "s3cret-token\n");
        FixedServer his(200, R"({"reportId": "R-1"})");
        nlohmann::json rest = {{"rest", {{"auth_header", "X-Api-Key"}, {"token_file", dir + "/token"}}}};
        REQUIRE(adapter_for(rest.dump(), his.server.port())->get_report("R-1").ok());
        CHECK(his.seen_headers["X-Api-Key"] == "s3cret-token");
        CHECK(his.seen_headers["X-Request-Id"].size() == 16);
    }
}

TEST_CASE("rest adapter: bad parameters are errors naming the parameter") {
    const char* const cases[][2] = {
        {R"({"endpoint": "127.0.0.1:8080"})", "his.endpoint: expected an http:// or https:// URL"},
        {R"({"tls": {"enabled": true}})", "his.tls.enabled"},
        {R"({"rest": {"field_map": {"patient.shoe_size": "size"}}})", "his.rest.field_map.patient.shoe_size: expected one of the logical fields"},
        {R"({"rest": {"field_map": {"patient.id": 7}}})", "his.rest.field_map.patient.id: expected a JSON key"},
        {R"({"rest": {"field_map": {"patient.id": "/a/~9"}}})", "his.rest.field_map.patient.id: expected a JSON key"},
        {R"({"rest": {"token_file": "/nonexistent/token"}})", "his.rest.token_file"},
    };
    for (const auto& [params, says] : cases) {
        INFO(params);
        auto p = hospital_params(params, 8080);
        REQUIRE(p.ok());
        auto adapter = make_rest_adapter(p.value());
        REQUIRE_FALSE(adapter.ok());
        CHECK(adapter.error().cls == ErrorClass::Config);
        CHECK_THAT(adapter.error().message, Catch::Contains(says));
    }
}

TEST_CASE("rest his-sim faults: latency, silence, lost answers, rejection and a moved field, as the adapter sees them") {
    const std::string his_params =
        R"({"answer_timeout": "300ms", "error_map": {"MAINTENANCE": "unavailable", "NOT_FOUND": "not_found"}})";
    SimulatedRestHis his(sim_params(his_params));
    auto adapter = adapter_for(his_params, his.server.port());

    SECTION("latency beyond the answer timeout is a timeout, within it an answer") {
        his.set_faults(R"({"latency_ms": 1200})");
        auto slow = adapter->get_report("R-DEMO-1");
        REQUIRE_FALSE(slow.ok());
        CHECK(slow.error().cls == ErrorClass::Timeout);
        CHECK(slow.error().code == "rest.timeout");
        his.set_faults(R"({"latency_ms": 50})");
        CHECK(adapter->get_report("R-DEMO-1").ok());
    }
    SECTION("a silent HIS is a timeout") {
        his.set_faults(R"({"silent": true})");
        auto r = adapter->payment_status("PAY-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Timeout);
        CHECK(r.error().code == "rest.timeout");
    }
    SECTION("an answer lost after the HIS committed: the payment is in doubt, and the status query settles it") {
        his.set_faults(R"({"drop_after_commit": 1})");
        test::check_lost_payment_answer_settles(*adapter, "rest.answer_lost");
    }
    SECTION("a rejection carries the vendor code, mapped to the error class the parameters name") {
        his.set_faults(R"({"reject": "MAINTENANCE"})");
        auto r = adapter->book({"O-1", "S-DR-101-" + sim::utc_today() + "-08:00", "P-DEMO-1"});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "his.MAINTENANCE");
        CHECK(r.error().cls == ErrorClass::Unavailable);
        his.set_faults(R"({"reject": "WHATEVER"})");
        CHECK(adapter->get_report("R-DEMO-1").error().cls == ErrorClass::Rejected);
    }
    SECTION("an interface change (a field renamed) shows in what the adapter reads") {
        auto before = adapter->get_report("R-DEMO-1");
        REQUIRE(before.ok());
        CHECK(before->title == "Complete blood count");
        his.set_faults(R"({"moved_fields": {"report.title": "reportTitle"}})");
        auto after = adapter->get_report("R-DEMO-1");
        REQUIRE(after.ok());
        CHECK(after->title.empty());
        REQUIRE(adapter->pay({"PAY-1", 100, "cash"}).ok());
        his.set_faults(R"({"moved_fields": {"payment.amount": "amount"}})");
        auto unreadable = adapter->payment_status("PAY-1");
        REQUIRE_FALSE(unreadable.ok());
        CHECK(unreadable.error().cls == ErrorClass::Protocol);
    }
    SECTION("a duplicated answer replaces the next request's own (HTTP): the adapter never takes it for its answer") {
        auto twice = adapter_for(R"({"max_attempts": 2, "error_map": {"NOT_FOUND": "not_found"}})", his.server.port());
        test::check_stale_answers_are_caught(*adapter, *twice, [&] { his.set_faults(R"({"duplicate_answers": 1})"); });
    }
}

TEST_CASE("rest dialect file vendor-c-rest is valid and builds its adapter") {
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    auto his = nlohmann::json::parse(test::read_file(std::string(HISGATE_SOURCE_DIR) + "/tools/his-sim/dialects/vendor-c-rest.json"));
    his["endpoint"] = "http://127.0.0.1:8080";
    nlohmann::json doc = {{"hospital", {{"id", "H9"}, {"region", "north"}}}, {"his", his}};
    auto p = params::ParamSet::validate(catalog.value(), doc, "vendor-c-rest.json");
    REQUIRE(p.ok());
    CHECK(p->string("his.dialect") == "rest-json");
    auto adapter = make_rest_adapter(p.value());
    REQUIRE(adapter.ok());
    CHECK(adapter.value()->dialect() == "rest-json");
}

TEST_CASE("rest adapter: reads are sent up to his.max_attempts times, changes only once") {
    const std::string his_params = R"({"max_attempts": 2})";
    SimulatedRestHis his(sim_params(his_params));
    auto adapter = adapter_for(his_params, his.server.port());

    his.set_faults(R"({"drop_answers": 1})");
    auto report = adapter->get_report("R-DEMO-1");
    REQUIRE(report.ok());  // the second attempt got the answer
    CHECK(report->report_id == "R-DEMO-1");

    his.set_faults(R"({"drop_after_commit": 1})");
    auto paid = adapter->pay({"PAY-7", 800, "cash"});
    REQUIRE_FALSE(paid.ok());  // not resent: its outcome is unknown
    CHECK(paid.error().cls == ErrorClass::Timeout);
    CHECK(adapter->payment_status("PAY-7")->status == "paid");  // the HIS did commit it
}

TEST_CASE("rest adapter: patient sex travels in the HIS's codes (his.code_tables.sex), both ways") {
    const std::string his_params = std::string(R"({"rest": {"field_map": {"patient.sex": "/patient/gender"}},
                                                   "code_tables": {"sex": )") + test::kVendorSexCodes + "}}";
    SimulatedRestHis his(sim_params(his_params));
    auto p = hospital_params(his_params, his.server.port());
    REQUIRE(p.ok());
    auto adapter = AdapterRegistry::builtin().create(p.value());
    REQUIRE(adapter.ok());
    test::check_sex_codes_travel(*adapter.value(), his.dir + "/his.db");
    // On the wire: the vendor's code, where its field map puts it.
    auto raw = make_rest_adapter(p.value());
    REQUIRE(raw.ok());
    auto report = raw.value()->get_report("R-DEMO-1");
    REQUIRE(report.ok());
    CHECK(report->patient_sex == "2");
}

TEST_CASE("rest adapter: report lines the hospital maps to LOINC carry it (his.code_tables.lab_loinc), others do not") {
    const std::string his_params =
        R"({"code_tables": {"lab_loinc": {"718-7": {"code": "718-7", "display": "Hemoglobin [Mass/volume] in Blood"}}}})";
    SimulatedRestHis his(sim_params(his_params));
    auto p = hospital_params(his_params, his.server.port());
    REQUIRE(p.ok());
    auto adapter = AdapterRegistry::builtin().create(p.value());
    REQUIRE(adapter.ok());
    auto report = adapter.value()->get_report("R-DEMO-1");  // his-sim's lines: 718-7, 6690-2, 777-3
    REQUIRE(report.ok());
    REQUIRE(report->observations.size() == 3);
    CHECK(report->observations[0].loinc_code == "718-7");
    CHECK(report->observations[0].loinc_display == "Hemoglobin [Mass/volume] in Blood");
    CHECK(report->observations[1].loinc_code.empty());
    auto answer = report->to_json();
    CHECK(answer["observations"][0]["loinc"] ==
          nlohmann::json{{"code", "718-7"}, {"display", "Hemoglobin [Mass/volume] in Blood"}});
    CHECK_FALSE(answer["observations"][1].contains("loinc"));
    // The dialect's own adapter knows nothing of the map: it is the hospital's, applied around it.
    auto raw = make_rest_adapter(p.value());
    REQUIRE(raw.ok());
    CHECK(raw.value()->get_report("R-DEMO-1")->observations[0].loinc_code.empty());
}
