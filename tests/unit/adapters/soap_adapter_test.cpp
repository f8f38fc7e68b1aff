// Every operation of the SOAP adapter against his-sim's SOAP responder and hospital (real
// SQLite, real HTTP over loopback through POCO), hostile values, faults and broken answers.
#include <catch2/catch.hpp>

#include "operation_script.h"

#include <nlohmann/json.hpp>

#include "adapters/registry.h"
#include "adapters/soap/soap_adapter.h"
#include "adapters/soap/soap_envelope.h"
#include "common/http_server.h"
#include "config-params/param_set.h"
#include "his-sim/soap_responder.h"
#include "tests/support/process.h"

using namespace hisgate;

namespace {
const char* kNs = "urn:vendor-d:his";

// A hospital's SOAP parameters with `his` merged in, checked by the catalog.
params::ParamSet soap_params(uint16_t port, const std::string& his, const std::string& path = "/his/soap") {
    auto doc = nlohmann::json::parse(R"({"hospital": {"id": "H004", "region": "north"},
        "his": {"dialect": "soap-xml", "soap": {"namespace": "urn:vendor-d:his", "action_prefix": "urn:vendor-d:his/"},
                "error_map": {"SLOT_FULL": "rejected", "NOT_FOUND": "not_found"}}})");
    doc["his"]["endpoint"] = "http://127.0.0.1:" + std::to_string(port) + path;
    doc["his"].merge_patch(nlohmann::json::parse(his));
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    auto p = params::ParamSet::validate(catalog.value(), doc, "test.json");
    if (!p) FAIL(p.error().describe());
    return p.value();
}

// The simulated HIS behind an HTTP server; `route` may replace the responder to send
// arbitrary bytes.
struct SimulatedSoapHis {
    std::string dir = test::make_temp_dir("his");
    sim::Hospital hospital;
    sim::FaultSwitch faults{sim::Faults{}};
    sim::SoapResponder responder;
    HttpRoute route;
    HttpServer server;

    explicit SimulatedSoapHis(nlohmann::json field_map = nlohmann::json::object(), hl7::Charset charset = hl7::Charset::Utf8,
                          SexCodes sex = SexCodes::hl7_table_0001())
        : hospital(sim::Hospital::open(dir + "/his.db", "H004", sim::utc_today()).value()),
          responder(hospital, kNs, std::move(field_map), faults, charset, std::move(sex)),
          server("127.0.0.1", 0, [this](auto& req, auto& res) {
              if (route) return route(req, res);
              if (req.getURI() != "/his/soap") return send_text(res, 404, "text/plain", "no such service");
              responder.handle(req, res);
          }) {
        REQUIRE(server.start().ok());
    }
};

std::unique_ptr<HisAdapter> adapter_for(const SimulatedSoapHis& his, const std::string& his_params = "{}") {
    auto a = make_soap_adapter(soap_params(his.server.port(), his_params));
    if (!a) FAIL(a.error().describe());
    return std::move(a.value());
}

void set_faults(SimulatedSoapHis& his, const char* json) {
    auto f = sim::Faults::from_json(nlohmann::json::parse(json));
    REQUIRE(f.ok());
    his.faults.set(f.value());
}

struct SoapDialectCase {
    const char* name;
    const char* field_map;
    const char* his_params;
    hl7::Charset charset;
};
const SoapDialectCase kSoapDialects[] = {
    {"hisgate element names, UTF-8", "{}", "{}", hl7::Charset::Utf8},
    {"vendor element names, GB 18030", R"({"ReportId": "RptNo", "Title": "RptName", "OrderId": "JiuZhenHao", "Amount": "JinE"})",
     R"({"charset": "GB 18030-2000", "soap": {"field_map": {"ReportId": "RptNo", "Title": "RptName", "OrderId": "JiuZhenHao", "Amount": "JinE"}}})",
     hl7::Charset::Gb18030},
};
}  // namespace

TEST_CASE("soap adapter: every operation against his-sim, in each dialect") {
    for (const auto& dc : kSoapDialects) {
        DYNAMIC_SECTION(dc.name) {
            SimulatedSoapHis his(nlohmann::json::parse(dc.field_map), dc.charset);
            auto adapter = adapter_for(his, dc.his_params);
            CHECK(adapter->dialect() == "soap-xml");
            test::check_every_operation(*adapter);
        }
    }
}

TEST_CASE("soap adapter: hostile values are escaped and come back intact") {
    SimulatedSoapHis his;
    auto adapter = adapter_for(his);
    std::string slot = "S-DR-101-" + sim::utc_today() + "-09:00";
    for (std::string order : {std::string("O-<b>&amp;\"'</b>"), std::string("]]><x/>"), std::string("订单-张三&李四")}) {
        INFO(order);
        auto b = adapter->book({order, slot, "P-<\"&'>-患者"});
        REQUIRE(b.ok());
        CHECK(b->order_id == order);
        CHECK(b->patient_id == "P-<\"&'>-患者");
        REQUIRE(adapter->cancel(order).ok());
    }
}

TEST_CASE("soap dialect: bad dialect parameters are errors naming the parameter") {
    struct Case {
        const char* params;
        const char* says;
    };
    Case cases[] = {
        {R"({"soap": {"namespace": ""}})", "his.soap.namespace"},
        {R"({"soap": {"field_map": {"ShoeSize": "Shoe"}}})", "his.soap.field_map.ShoeSize: expected one of hisgate's element names"},
        {R"({"soap": {"field_map": {"Title": "1<bad>"}}})", "his.soap.field_map.Title: expected an XML element name"},
        {R"({"soap": {"field_map": {"Title": "X", "Name": "X"}}})", "expected an element name no other field uses"},
        {R"({"endpoint": "127.0.0.1:8080"})", "his.endpoint: expected http(s)://"},
        {R"({"tls": {"enabled": true}})", "his.tls.enabled"},
    };
    for (const auto& c : cases) {
        INFO(c.params);
        auto a = make_soap_adapter(soap_params(8080, c.params));
        REQUIRE_FALSE(a.ok());
        CHECK(a.error().cls == ErrorClass::Config);
        CHECK_THAT(a.error().message, Catch::Contains(c.says));
    }
}

TEST_CASE("soap adapter: transport errors map to error classes") {
    SECTION("nobody listening is unavailable") {
        uint16_t port = 0;
        {
            SimulatedSoapHis gone;
            port = gone.server.port();
        }
        auto a = make_soap_adapter(soap_params(port, "{}"));
        REQUIRE(a.ok());
        auto r = a.value()->get_report("R-DEMO-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Unavailable);
        CHECK(r.error().code == "soap.connect_failed");
    }
    SECTION("no SOAP service at that path is the HIS unavailable, never \"not found\"") {
        SimulatedSoapHis his;
        auto a = make_soap_adapter(soap_params(his.server.port(), "{}", "/elsewhere"));
        REQUIRE(a.ok());
        auto r = a.value()->get_report("R-DEMO-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Unavailable);
        CHECK(r.error().code == "his.http_404");
    }
}

TEST_CASE("soap adapter: malformed answers are protocol errors") {
    const char* answers[] = {
        "this is not XML",
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>",
        "<Envelope><Body/></Envelope>",
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body/></soap:Envelope>",
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
        "<ns:GetReportResponse xmlns:ns=\"urn:other\"><ns:ReportId>R</ns:ReportId></ns:GetReportResponse></soap:Body></soap:Envelope>",
        "<?xml version=\"1.0\" encoding=\"EBCDIC-KLINGON\"?><x/>",
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
    };
    SimulatedSoapHis his;
    std::string answer;
    his.route = [&](auto&, auto& res) { send_text(res, 200, "text/xml", answer); };
    auto adapter = adapter_for(his);
    for (const char* a : answers) {
        INFO(a);
        answer = a;
        auto r = adapter->get_report("R-DEMO-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Protocol);
        CHECK(r.error().code == "his.unreadable_answer");
    }
    // Readable, but the answer to another operation.
    answer = "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
             "<ns:SomethingElse xmlns:ns=\"urn:vendor-d:his\"/></soap:Body></soap:Envelope>";
    auto other = adapter->get_report("R-DEMO-1");
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().cls == ErrorClass::Protocol);
    CHECK(other.error().code == "his.mismatched_answer");
}

TEST_CASE("soap adapter: an answer nested 100,000 elements deep is refused naming the limit, a normal one still reads") {
    SimulatedSoapHis his;
    std::string answer;
    his.route = [&](auto& req, auto& res) {
        if (answer.empty()) return his.responder.handle(req, res);
        send_text(res, 200, "text/xml", answer);
    };
    auto adapter = adapter_for(his);
    std::string open, close;
    for (int i = 0; i < 100000; ++i) open += "<a>", close += "</a>";
    answer = std::string("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>") +
             "<ns:GetReportResponse xmlns:ns=\"urn:vendor-d:his\">" + open + close + "</ns:GetReportResponse></soap:Body></soap:Envelope>";
    auto deep = adapter->get_report("R-DEMO-1");
    REQUIRE_FALSE(deep.ok());
    CHECK(deep.error().cls == ErrorClass::Protocol);
    CHECK(deep.error().code == "his.unreadable_answer");
    CHECK(deep.error().message.find("at most " + std::to_string(soap::kMaxXmlDepth) + " levels deep") != std::string::npos);
    // The same adapter, the simulated HIS's own answer.
    answer.clear();
    auto report = adapter->get_report("R-DEMO-1");
    REQUIRE(report.ok());
    CHECK(report->report_id == "R-DEMO-1");
}

TEST_CASE("soap envelope: the depth limit counts elements only, exactly") {
    soap::SoapDialect d;
    d.ns = kNs;
    // Comments, CDATA, processing instructions and attribute values that look like tags do
    // not count; self-closing elements do not nest.
    auto at_depth = [](int levels) {
        std::string open, close;
        for (int i = 0; i < levels; ++i) open += "<a k=\"x>/b\" j='/>'><!-- <c><d> --><![CDATA[<e><f>]]><?pi <g>?><h/>", close += "</a>";
        return std::string("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>") +
               "<ns:GetReportResponse xmlns:ns=\"urn:vendor-d:his\">" + open + close + "</ns:GetReportResponse></soap:Body></soap:Envelope>";
    };
    // Envelope, Body and the operation are three levels.
    auto deepest = soap::read_envelope(d, at_depth(soap::kMaxXmlDepth - 3));
    if (!deepest) FAIL(deepest.error().describe());
    auto over = soap::read_envelope(d, at_depth(soap::kMaxXmlDepth - 2));
    REQUIRE_FALSE(over.ok());
    CHECK(over.error().cls == ErrorClass::Protocol);
    CHECK(over.error().code == "soap.too_deep");
}

TEST_CASE("soap envelope: what is written reads back, in UTF-8 and GB 18030") {
    for (auto charset : {hl7::Charset::Utf8, hl7::Charset::Gb18030}) {
        soap::SoapDialect d;
        d.ns = kNs;
        d.charset = charset;
        d.fields["Title"] = "RptName";
        soap::Element op{"GetReportResponse", {}, {}};
        op.add("Title", "血常规 <&> \"'");
        auto bytes = soap::write_envelope(d, op);
        REQUIRE(bytes.ok());
        CHECK(bytes->find("RptName") != std::string::npos);
        CHECK(bytes->find("<&>") == std::string::npos);
        CHECK((bytes->find("血常规") == std::string::npos) == (charset == hl7::Charset::Gb18030));
        auto back = soap::read_envelope(d, bytes.value());
        if (!back) FAIL(back.error().describe());
        CHECK(back->operation.name == "GetReportResponse");
        CHECK(back->operation.text_of("Title") == "血常规 <&> \"'");
    }
}

TEST_CASE("his-sim soap faults: latency, silence, lost answers, rejection and a moved element, as the adapter sees them") {
    SimulatedSoapHis his;
    auto adapter = adapter_for(his, R"({"answer_timeout": "300ms", "error_map": {"MAINTENANCE": "unavailable", "NOT_FOUND": "not_found"}})");

    SECTION("latency beyond the answer timeout is a timeout, within it an answer") {
        set_faults(his, R"({"latency_ms": 1200})");
        auto slow = adapter->get_report("R-DEMO-1");
        REQUIRE_FALSE(slow.ok());
        CHECK(slow.error().cls == ErrorClass::Timeout);
        CHECK(slow.error().code == "soap.timeout");
        set_faults(his, R"({"latency_ms": 50})");
        CHECK(adapter->get_report("R-DEMO-1").ok());
    }
    SECTION("a silent HIS is a timeout") {
        set_faults(his, R"({"silent": true})");
        auto r = adapter->payment_status("PAY-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Timeout);
        set_faults(his, "{}");
    }
    SECTION("an answer lost after the HIS committed: the payment is in doubt, and the status query settles it") {
        set_faults(his, R"({"drop_after_commit": 1})");
        test::check_lost_payment_answer_settles(*adapter);
    }
    SECTION("a rejection carries the vendor code, mapped to the error class the parameters name") {
        set_faults(his, R"({"reject": "MAINTENANCE"})");
        auto r = adapter->book({"O-1", "S-DR-101-" + sim::utc_today() + "-08:00", "P-DEMO-1"});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "his.MAINTENANCE");
        CHECK(r.error().cls == ErrorClass::Unavailable);
        set_faults(his, R"({"reject": "WHATEVER"})");
        CHECK(adapter->get_report("R-DEMO-1").error().cls == ErrorClass::Rejected);
    }
    SECTION("an interface change (an element is renamed) shows in what the adapter reads") {
        auto before = adapter->get_report("R-DEMO-1");
        REQUIRE(before.ok());
        CHECK(before->title == "Complete blood count");
        set_faults(his, R"({"moved_fields": {"Title": "ReportTitle"}})");
        auto after = adapter->get_report("R-DEMO-1");
        REQUIRE(after.ok());
        CHECK(after->title.empty());
    }
    SECTION("a duplicated answer replaces the next request's own (HTTP): the adapter never takes it for its answer") {
        auto twice = adapter_for(his, R"({"max_attempts": 2, "error_map": {"NOT_FOUND": "not_found"}})");
        test::check_stale_answers_are_caught(*adapter, *twice, [&] { set_faults(his, R"({"duplicate_answers": 1})"); });
    }
}

TEST_CASE("the vendor-d SOAP dialect file builds its adapter") {
    auto his = nlohmann::json::parse(test::read_file(std::string(HISGATE_SOURCE_DIR) + "/tools/his-sim/dialects/vendor-d-soap.json"));
    his["endpoint"] = "http://127.0.0.1:8080/his/soap";
    nlohmann::json doc = {{"hospital", {{"id", "H9"}, {"region", "north"}}}, {"his", his}};
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    auto p = params::ParamSet::validate(catalog.value(), doc, "vendor-d-soap.json");
    if (!p) FAIL(p.error().describe());
    auto a = make_soap_adapter(p.value());
    REQUIRE(a.ok());
    CHECK(a.value()->dialect() == "soap-xml");
}

TEST_CASE("soap adapter: patient sex travels in the HIS's codes (his.code_tables.sex), both ways") {
    const std::string his_params = std::string(R"({"soap": {"field_map": {"PatientSex": "XingBie"}}, "code_tables": {"sex": )") +
                                   test::kVendorSexCodes + "}}";
    SimulatedSoapHis his(nlohmann::json{{"PatientSex", "XingBie"}}, hl7::Charset::Utf8,
                     SexCodes(nlohmann::json::parse(test::kVendorSexCodes).get<std::map<std::string, std::string>>()));
    auto p = soap_params(his.server.port(), his_params);
    auto adapter = AdapterRegistry::builtin().create(p);
    REQUIRE(adapter.ok());
    test::check_sex_codes_travel(*adapter.value(), his.dir + "/his.db");
    auto raw = make_soap_adapter(p);
    REQUIRE(raw.ok());
    auto report = raw.value()->get_report("R-DEMO-1");
    REQUIRE(report.ok());
    CHECK(report->patient_sex == "2");  // the vendor's code, in the vendor's element
}
