// Every operation of the HL7 v2 adapter against his-sim's responder and hospital (real
// SQLite, real MLLP over loopback), in each HL7 dialect his-sim plays.
#include <catch2/catch.hpp>

#include "operation_script.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

#include "adapters/hl7v2/hl7_dialect.h"
#include "config-params/param_set.h"
#include "adapters/hl7v2/hl7v2_adapter.h"
#include "adapters/registry.h"
#include "adapters/rest/rest_adapter.h"
#include "common/sqlite.h"
#include "his-sim/hl7_responder.h"
#include "his-sim/hospital.h"
#include "mllp/server.h"
#include "tests/support/process.h"

using namespace hisgate;

namespace {
struct DialectCase {
    const char* name;
    const char* his_params;
};

const DialectCase kDialects[] = {
    {"standard HL7 2.4, UTF-8", R"({"charset": "UNICODE UTF-8", "error_map": {"SLOT_FULL": "rejected", "NOT_FOUND": "not_found"}})"},
    {"HL7 2.3, GB 18030, vendor field positions",
     R"({"charset": "GB 18030-2000",
         "hl7": {"version": "2.3", "fields": {"patient.id": "PID-2-1", "report.id": "OBR-2", "slot.id": "AIL-3",
                                              "payment.amount": "FT1-12", "query.report_id": "QRD-9"}},
         "error_map": {"SLOT_FULL": "rejected", "NOT_FOUND": "not_found"}})"},
    {"HL7 2.5.1, reports asked by QBP^Q11 (query by parameter)",
     R"({"hl7": {"version": "2.5.1", "query_style": "QBP"}, "error_map": {"SLOT_FULL": "rejected", "NOT_FOUND": "not_found"}})"},
    {"HL7 2.5.1, enhanced acknowledgement mode: an accept ACK, then the answer",
     R"({"hl7": {"version": "2.5.1", "ack_mode": "enhanced"}, "error_map": {"SLOT_FULL": "rejected", "NOT_FOUND": "not_found"}})"},
    {"odd: HL7 2.5, delimiters $%*#, CRLF segment ends, Z-segments",
     R"({"hl7": {"version": "2.5", "encoding_characters": "$%*#", "segment_terminator": "CRLF"},
         "error_map": {"SLOT_FULL": "rejected", "NOT_FOUND": "not_found"}})"},
};

// A hospital's parameters with `his` merged into the HL7 basics, checked by the catalog.
Result<params::ParamSet> hospital_params(const std::string& his) {
    auto doc = nlohmann::json::parse(R"({"hospital": {"id": "H001", "region": "south"},
                                         "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:2575"}})");
    doc["his"].update(nlohmann::json::parse(his));
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    return params::ParamSet::validate(catalog.value(), doc, "test.json");
}

Result<hl7v2::Hl7Dialect> dialect_of(const std::string& his) {
    auto p = hospital_params(his);
    if (!p) return p.error();
    return hl7v2::dialect_from_params(p.value());
}

struct SimulatedHis {
    std::string dir = test::make_temp_dir("his");
    sim::Hospital hospital;
    sim::FaultSwitch faults{sim::Faults{}};
    sim::Hl7Responder responder;
    std::atomic<int> in_flight{0}, most_in_flight{0};  // messages the HIS handles at once
    mllp::Server server;

    explicit SimulatedHis(const hl7v2::Hl7Dialect& dialect, SexCodes sex = SexCodes::hl7_table_0001())
        : hospital(sim::Hospital::open(dir + "/his.db", "H001", sim::utc_today()).value()),
          responder(hospital, dialect, faults, std::move(sex)),
          server(mllp::ServerOptions{}, [this](std::string_view m) {
              int now = ++in_flight;
              for (int seen = most_in_flight; now > seen && !most_in_flight.compare_exchange_weak(seen, now);) {
              }
              auto answer = responder.answer(m);
              --in_flight;
              return answer;
          }) {
        REQUIRE(server.start().ok());
    }
};

std::unique_ptr<HisAdapter> adapter_for(const SimulatedHis& his, const hl7v2::Hl7Dialect& dialect) {
    mllp::ClientOptions o;
    o.port = his.server.port();
    o.max_attempts = 1;
    return make_hl7v2_adapter(o, dialect);
}
}  // namespace

TEST_CASE("hl7v2 adapter: every operation against his-sim, in each dialect") {
    for (const auto& dc : kDialects) {
        DYNAMIC_SECTION(dc.name) {
            auto dialect = dialect_of(dc.his_params);
            REQUIRE(dialect.ok());
            SimulatedHis his(dialect.value());
            auto adapter = adapter_for(his, dialect.value());
            test::check_every_operation(*adapter);
        }
    }
}

TEST_CASE("hl7v2 dialect: bad dialect parameters are errors naming the parameter") {
    struct Case {
        const char* params;
        const char* says;
    };
    Case cases[] = {
        {R"({"hl7": {"segment_terminator": "NEL"}})", "his.hl7.segment_terminator"},
        {R"({"hl7": {"encoding_characters": "^~"}})", "his.hl7.encoding_characters"},
        {R"({"hl7": {"fields": {"patient.shoe_size": "PID-9"}}})", "his.hl7.fields.patient.shoe_size: expected one of the logical fields"},
        {R"({"hl7": {"fields": {"patient.id": "PID-three"}}})", "his.hl7.fields.patient.id: expected an HL7 path"},
        {R"({"hl7": {"z_segments": ["ZPD"], "fields": {"patient.sex": "ZPX-2"}}})",
         "his.hl7.fields.patient.sex: expected a Z-segment listed in his.hl7.z_segments (or one of hisgate's: ZDP, ZDR, ZSL, ZPY), found ZPX"},
        {R"({"error_map": {"X": "explode"}})", "his.error_map"},
        {R"({"charset": "KLINGON"})", "his.charset"},
    };
    for (const auto& c : cases) {
        INFO(c.params);
        auto d = dialect_of(c.params);
        REQUIRE_FALSE(d.ok());
        CHECK_THAT(d.error().message, Catch::Contains(c.says));
    }
}

TEST_CASE("hl7v2 dialect: the wire form uses the dialect's terminator and charset") {
    auto d = dialect_of(R"({"charset": "GB 18030-2000", "hl7": {"segment_terminator": "CRLF"}})");
    REQUIRE(d.ok());
    auto m = d->message("ADT^A08^ADT_A01", "C1");
    REQUIRE(m.ok());
    REQUIRE(m->set("PID-5-1", "张").ok());
    std::string wire = d->wire(m.value());
    CHECK(wire.find("\r\n") != std::string::npos);
    CHECK(wire.find("\xD5\xC5") != std::string::npos);  // 张 in GB 18030
    CHECK(wire.find("张") == std::string::npos);
    auto back = hl7::Message::parse(wire);
    REQUIRE(back.ok());
    CHECK(back->get("PID-5-1") == "张");
}

TEST_CASE("his-sim faults: latency, silence, lost answers, rejection and a moved field, as the adapter sees them") {
    auto dialect = dialect_of(R"({"error_map": {"MAINTENANCE": "unavailable", "NOT_FOUND": "not_found"}})");
    REQUIRE(dialect.ok());
    SimulatedHis his(dialect.value());
    mllp::ClientOptions quick;
    quick.port = his.server.port();
    quick.max_attempts = 1;
    quick.ack_timeout = std::chrono::milliseconds(300);
    auto adapter = make_hl7v2_adapter(quick, dialect.value());
    auto set_faults = [&](const char* json) {
        auto f = sim::Faults::from_json(nlohmann::json::parse(json));
        REQUIRE(f.ok());
        his.faults.set(f.value());
    };

    SECTION("latency beyond the answer timeout is a timeout, within it an answer") {
        set_faults(R"({"latency_ms": 1200})");
        auto slow = adapter->get_report("R-DEMO-1");
        REQUIRE_FALSE(slow.ok());
        CHECK(slow.error().cls == ErrorClass::Timeout);
        set_faults(R"({"latency_ms": 50})");
        CHECK(adapter->get_report("R-DEMO-1").ok());
    }
    SECTION("a silent HIS is a timeout") {
        set_faults(R"({"silent": true})");
        auto r = adapter->payment_status("PAY-1");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().cls == ErrorClass::Timeout);
    }
    SECTION("an answer lost after the HIS committed: the payment is in doubt, and the status query settles it") {
        set_faults(R"({"drop_after_commit": 1})");
        test::check_lost_payment_answer_settles(*adapter);
    }
    SECTION("a duplicated answer is never taken for the next message's") {
        set_faults(R"({"duplicate_answers": 1})");
        auto first = adapter->get_report("R-DEMO-1");
        REQUIRE(first.ok());
        CHECK(first->report_id == "R-DEMO-1");
        // The duplicate of the report is still on the wire; the next answer must be its own.
        auto second = adapter->payment_status("PAY-1");
        REQUIRE(second.ok());
        CHECK(second->status == "not_found");
        auto third = adapter->list_reports("P-DEMO-1");
        REQUIRE(third.ok());
        CHECK(third->size() == 1);
    }
    SECTION("a rejection carries the vendor code, mapped to the error class the parameters name") {
        set_faults(R"({"reject": "MAINTENANCE"})");
        auto r = adapter->book({"O-1", "S-DR-101-" + sim::utc_today() + "-08:00", "P-DEMO-1"});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "his.MAINTENANCE");
        CHECK(r.error().cls == ErrorClass::Unavailable);
        set_faults(R"({"reject": "WHATEVER"})");
        CHECK(adapter->get_report("R-DEMO-1").error().cls == ErrorClass::Rejected);
    }
    SECTION("an interface change (a field moves) shows in what the adapter reads") {
        auto before = adapter->get_report("R-DEMO-1");
        REQUIRE(before.ok());
        CHECK(before->title == "Complete blood count");
        set_faults(R"({"moved_fields": {"report.title": "OBR-5-2"}})");
        auto after = adapter->get_report("R-DEMO-1");
        REQUIRE(after.ok());
        CHECK(after->title.empty());
    }
}

TEST_CASE("his-sim faults: bad fault commands are errors naming the field") {
    struct Case {
        const char* json;
        const char* says;
    };
    Case cases[] = {
        {R"({"latency_ms": -5})", "latency_ms: expected an integer from 0 to 600000"},
        {R"({"silent": "yes"})", "silent: expected true or false"},
        {R"({"moved_fields": {"report.title": 3}})", "moved_fields.report.title: expected an HL7 path"},
        {R"({"explode": true})", "explode: unknown key"},
    };
    for (const auto& c : cases) {
        INFO(c.json);
        auto f = sim::Faults::from_json(nlohmann::json::parse(c.json));
        REQUIRE_FALSE(f.ok());
        CHECK_THAT(f.error().message, Catch::Contains(c.says));
    }
}

TEST_CASE("every example parameter file and his-sim dialect file builds its adapter") {
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    std::vector<std::string> files = {"config-params/examples/south-hl7-gb18030.json"};
    for (const char* d : {"vendor-a-hl7-2.4", "vendor-b-hl7-2.3-gb18030", "vendor-e-hl7-odd"})
        files.push_back(std::string("tools/his-sim/dialects/") + d + ".json");
    for (const auto& f : files) {
        INFO(f);
        auto doc = nlohmann::json::parse(test::read_file(std::string(HISGATE_SOURCE_DIR) + "/" + f));
        if (!doc.contains("hospital")) {  // a dialect file is the "his" section of a hospital's parameters
            nlohmann::json his = doc;
            his["dialect"] = "hl7v2-mllp";
            his["endpoint"] = "127.0.0.1:2575";
            doc = {{"hospital", {{"id", "H9"}, {"region", "north"}}}, {"his", his}};
        }
        auto p = params::ParamSet::validate(catalog.value(), doc, f);
        REQUIRE(p.ok());
        auto adapter = AdapterRegistry::builtin().create(p.value());
        REQUIRE(adapter.ok());
        CHECK(adapter.value()->dialect() == "hl7v2-mllp");
    }
}

TEST_CASE("the registry's adapter applies the hospital's id formats and payment method codes") {
    auto dialect = dialect_of("{}");
    REQUIRE(dialect.ok());
    SimulatedHis his(dialect.value());
    auto doc = nlohmann::json::parse(R"({"hospital": {"id": "H001", "region": "south"},
        "his": {"dialect": "hl7v2-mllp",
                "id_formats": {"patient_id": "^P-[A-Z0-9-]+$", "report_id": "^R-[A-Z0-9-]+$"},
                "code_tables": {"payment_method": {"07": "wechat", "01": "cash"}}}})");
    doc["his"]["endpoint"] = "127.0.0.1:" + std::to_string(his.server.port());
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    auto p = params::ParamSet::validate(catalog.value(), doc, "test.json");
    REQUIRE(p.ok());
    auto adapter = AdapterRegistry::builtin().create(p.value());
    REQUIRE(adapter.ok());
    auto& a = *adapter.value();

    auto hospital_saw = [&](const std::string& sql) {
        auto db = sql::Db::open(his.dir + "/his.db");
        REQUIRE(db.ok());
        auto st = db->prepare(sql);
        REQUIRE(st.ok());
        REQUIRE(st->step());
        return st->text(0);
    };

    auto malformed = a.get_report("r-lowercase");
    REQUIRE_FALSE(malformed.ok());
    CHECK(malformed.error().cls == ErrorClass::BadInput);
    CHECK(malformed.error().code == "his.bad_report_id");
    CHECK(hospital_saw("SELECT count(*) FROM queries") == "0");  // never reached the HIS
    auto report = a.get_report("R-DEMO-1");
    REQUIRE(report.ok());
    CHECK(report->issued_at == "2026-11-20T08:30:00+08:00");  // the HIS's local time, Asia/Shanghai

    auto bad_patient = a.book({"O-1", "S-DR-101-" + sim::utc_today() + "-08:00", "13800000000"});
    REQUIRE_FALSE(bad_patient.ok());
    CHECK(bad_patient.error().code == "his.bad_patient_id");
    CHECK(bad_patient.error().message.find("13800000000") == std::string::npos);  // no PHI in the message
    CHECK(a.list_reports("patient 1").error().code == "his.bad_patient_id");

    REQUIRE(a.pay({"PAY-7", 100, "wechat"}).ok());
    CHECK(hospital_saw("SELECT method FROM payments WHERE order_id = 'PAY-7'") == "07");
    CHECK(a.pay({"PAY-8", 100, "bitcoin"}).error().code == "his.unknown_payment_method");
}

TEST_CASE("report times carry the HIS's own time zone, and an unknown zone stops the adapter") {
    auto dialect = dialect_of("{}");
    REQUIRE(dialect.ok());
    SimulatedHis his(dialect.value());
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    auto build = [&](const char* zone) {
        nlohmann::json doc = {{"hospital", {{"id", "H001"}, {"region", "north"}}},
                              {"his", {{"dialect", "hl7v2-mllp"},
                                       {"endpoint", "127.0.0.1:" + std::to_string(his.server.port())},
                                       {"timezone", zone}}}};
        auto p = params::ParamSet::validate(catalog.value(), doc, "test.json");
        REQUIRE(p.ok());
        return AdapterRegistry::builtin().create(p.value());
    };
    auto berlin = build("Europe/Berlin");
    REQUIRE(berlin.ok());
    auto report = berlin.value()->get_report("R-DEMO-1");
    REQUIRE(report.ok());
    CHECK(report->issued_at == "2026-11-20T08:30:00+01:00");
    auto list = berlin.value()->list_reports("P-DEMO-1");
    REQUIRE(list.ok());
    CHECK((*list)[0].issued_at == "2026-11-20T08:30:00+01:00");

    auto nowhere = build("Mars/Olympus_Mons");
    REQUIRE_FALSE(nowhere.ok());
    CHECK(nowhere.error().cls == ErrorClass::Config);
    CHECK_THAT(nowhere.error().message, Catch::Contains("his.timezone"));
}

TEST_CASE("hl7v2 adapter: query_style QBP asks for reports with QBP^Q11 and QPD, QRY with QRY^R02 and QRD") {
    for (const char* style : {"QBP", "QRY"}) {
        INFO(style);
        auto dialect = dialect_of(std::string(R"({"hl7": {"query_style": ")") + style + "\"}}");
        REQUIRE(dialect.ok());
        std::string dir = test::make_temp_dir("his");
        auto hospital = sim::Hospital::open(dir + "/his.db", "H001", sim::utc_today());
        REQUIRE(hospital.ok());
        sim::FaultSwitch faults{sim::Faults{}};
        sim::Hl7Responder responder(hospital.value(), dialect.value(), faults);
        std::mutex mu;
        std::vector<std::string> seen;  // what reached the HIS: message type and the report id where it was put
        mllp::Server server(mllp::ServerOptions{}, [&](std::string_view raw) {
            auto m = hl7::Message::parse(raw);
            if (m) {
                std::lock_guard lock(mu);
                seen.push_back(m->get("MSH-9-1") + "^" + m->get("MSH-9-2") + " QPD-3=" + m->get("QPD-3") +
                               " QRD-10=" + m->get("QRD-10"));
            }
            return responder.answer(raw);
        });
        REQUIRE(server.start().ok());
        mllp::ClientOptions o;
        o.port = server.port();
        auto adapter = make_hl7v2_adapter(o, dialect.value());
        REQUIRE(adapter->get_report("R-DEMO-1").ok());
        std::lock_guard lock(mu);
        REQUIRE(seen.size() == 1);
        CHECK(seen[0] == (std::string(style) == "QBP" ? "QBP^Q11 QPD-3=R-DEMO-1 QRD-10=" : "QRY^R02 QPD-3= QRD-10=R-DEMO-1"));
    }
}

namespace {
// What reached the HIS and what it answered, one line per message, for checks on the wire.
struct WireSpy {
    std::mutex mu;
    std::vector<hl7::Message> requests;
    std::vector<mllp::Answer> answers;
};

mllp::Server spied_server(WireSpy& spy, sim::Hl7Responder& responder) {
    return mllp::Server(mllp::ServerOptions{}, [&spy, &responder](std::string_view raw) {
        auto answer = responder.answer(raw);
        std::lock_guard lock(spy.mu);
        if (auto m = hl7::Message::parse(raw)) spy.requests.push_back(std::move(m.value()));
        spy.answers.push_back(answer);
        return answer;
    });
}
}  // namespace

TEST_CASE("hl7v2 adapter: ack_mode enhanced asks for both acknowledgements and takes the answer that follows the accept ACK") {
    auto dialect = dialect_of(R"({"hl7": {"ack_mode": "enhanced"}, "error_map": {"NOT_FOUND": "not_found"}})");
    REQUIRE(dialect.ok());
    std::string dir = test::make_temp_dir("his");
    auto hospital = sim::Hospital::open(dir + "/his.db", "H001", sim::utc_today());
    REQUIRE(hospital.ok());
    sim::FaultSwitch faults{sim::Faults{}};
    sim::Hl7Responder responder(hospital.value(), dialect.value(), faults);
    WireSpy spy;
    auto server = spied_server(spy, responder);
    REQUIRE(server.start().ok());
    mllp::ClientOptions o;
    o.port = server.port();
    o.max_attempts = 1;
    o.ack_timeout = std::chrono::milliseconds(500);
    auto adapter = make_hl7v2_adapter(o, dialect.value());

    auto report = adapter->get_report("R-DEMO-1");
    REQUIRE(report.ok());
    CHECK(report->observations.size() == 3);
    auto booked = adapter->book({"O-1", "S-DR-101-" + sim::utc_today() + "-08:00", "P-DEMO-1"});
    REQUIRE(booked.ok());
    CHECK(booked->status == "booked");
    {
        std::lock_guard lock(spy.mu);
        REQUIRE(spy.requests.size() == 2);
        for (size_t i = 0; i < 2; ++i) {
            CHECK(spy.requests[i].get("MSH-15") == "AL");
            CHECK(spy.requests[i].get("MSH-16") == "AL");
            auto accept = hl7::Message::parse(spy.answers[i].accept_ack);
            REQUIRE(accept.ok());  // his-sim sent the accept ACK before the answer
            CHECK(accept->get("MSA-1") == "CA");
            CHECK(accept->get("MSA-2") == spy.requests[i].get("MSH-10"));
        }
    }
    // Accepted, and the application's answer lost: a timeout (outcome unknown), never the
    // accept ACK taken for the payment's answer.
    faults.set(sim::Faults{.drop_after_commit = 1});
    auto lost = adapter->pay({"PAY-1", 100, "cash"});
    REQUIRE_FALSE(lost.ok());
    CHECK(lost.error().cls == ErrorClass::Timeout);
    auto status = adapter->payment_status("PAY-1");
    REQUIRE(status.ok());
    CHECK(status->status == "paid");
}

TEST_CASE("hl7v2 adapter: patient sex travels in the HIS's codes, in the vendor Z-segment his.hl7.z_segments names") {
    // vendor-e keeps sex in its own ZPD segment, coded 1/2 (GB/T 2261.1), not in PID-8.
    const std::string his = std::string(R"({"hl7": {"version": "2.5", "encoding_characters": "$%*#", "segment_terminator": "CRLF",
                                                    "z_segments": ["ZPD"], "fields": {"patient.sex": "ZPD-2"}},
                                            "code_tables": {"sex": )") + test::kVendorSexCodes + "}}";
    auto p = hospital_params(his);
    REQUIRE(p.ok());
    auto dialect = hl7v2::dialect_from_params(p.value());
    REQUIRE(dialect.ok());
    std::string dir = test::make_temp_dir("his");
    auto hospital = sim::Hospital::open(dir + "/his.db", "H001", sim::utc_today());
    REQUIRE(hospital.ok());
    sim::FaultSwitch faults{sim::Faults{}};
    sim::Hl7Responder responder(hospital.value(), dialect.value(), faults, SexCodes(p->code_table("his.code_tables.sex")));
    WireSpy spy;
    auto server = spied_server(spy, responder);
    REQUIRE(server.start().ok());
    auto doc = nlohmann::json::parse(R"({"hospital": {"id": "H001", "region": "south"}, "his": {"dialect": "hl7v2-mllp"}})");
    doc["his"].update(nlohmann::json::parse(his));
    doc["his"]["endpoint"] = "127.0.0.1:" + std::to_string(server.port());
    auto with_port = params::ParamSet::validate(params::Catalog::builtin().value(), doc, "test.json");
    REQUIRE(with_port.ok());
    auto adapter = AdapterRegistry::builtin().create(with_port.value());
    REQUIRE(adapter.ok());

    test::check_sex_codes_travel(*adapter.value(), dir + "/his.db");
    std::lock_guard lock(spy.mu);
    REQUIRE(spy.requests.size() >= 3);
    CHECK(spy.requests[0].get("MSH-9-1") == "SRM");
    CHECK(spy.requests[0].get("ZPD-2") == "2");  // female, in the vendor's segment and code
    CHECK(spy.requests[0].get("PID-8").empty());
    auto report_answer = hl7::Message::parse(spy.answers[2].message);
    REQUIRE(report_answer.ok());
    CHECK(report_answer->get("ZPD-2") == "2");
}

TEST_CASE("hl7v2 adapter: his.hl7.sessions MLLP sessions carry calls at once, one by default") {
    auto dialect = dialect_of("{}");
    REQUIRE(dialect.ok());
    for (int sessions : {1, 3}) {
        INFO(sessions << " sessions");
        SimulatedHis his(dialect.value());
        auto f = sim::Faults::from_json(nlohmann::json::parse(R"({"latency_ms": 300})"));
        REQUIRE(f.ok());
        his.faults.set(f.value());
        mllp::ClientOptions o;
        o.port = his.server.port();
        o.max_attempts = 1;
        auto adapter = make_hl7v2_adapter(o, dialect.value(), sessions);
        std::vector<std::thread> callers;
        std::atomic<int> answered{0};
        for (int i = 0; i < 6; ++i)
            callers.emplace_back([&] {
                if (adapter->get_report("R-DEMO-1").ok()) ++answered;
            });
        for (auto& c : callers) c.join();
        CHECK(answered == 6);
        CHECK(his.most_in_flight == sessions);
    }
}

TEST_CASE("hl7v2 adapter, his.charset ASCII: a value the charset cannot carry is bad_input and nothing reaches the HIS") {
    auto dialect = dialect_of(R"({"charset": "ASCII", "error_map": {"NOT_FOUND": "not_found"}})");
    REQUIRE(dialect.ok());
    std::string dir = test::make_temp_dir("his");
    auto hospital = sim::Hospital::open(dir + "/his.db", "H001", sim::utc_today());
    REQUIRE(hospital.ok());
    sim::FaultSwitch faults{sim::Faults{}};
    sim::Hl7Responder responder(hospital.value(), dialect.value(), faults);
    WireSpy spy;
    auto server = spied_server(spy, responder);
    REQUIRE(server.start().ok());
    mllp::ClientOptions o;
    o.port = server.port();
    o.max_attempts = 1;
    auto adapter = make_hl7v2_adapter(o, dialect.value());
    std::string slot = "S-DR-201-" + sim::utc_today() + "-AM";

    // Before: the booking went out with no PID segment, the payment without FT1-7.
    auto booking = adapter->book({"O-1", slot, "P-Müller"});
    REQUIRE_FALSE(booking.ok());
    CHECK(booking.error().cls == ErrorClass::BadInput);
    CHECK(booking.error().code == "hl7.charset_unrepresentable");
    CHECK_THAT(booking.error().message, Catch::Contains("PID-3-1") && Catch::Contains("ASCII"));
    CHECK(booking.error().message.find("Müller") == std::string::npos);  // no PHI in the message
    auto payment = adapter->pay({"PAY-1", 1500, "espèces"});
    REQUIRE_FALSE(payment.ok());
    CHECK(payment.error().cls == ErrorClass::BadInput);
    CHECK_THAT(payment.error().message, Catch::Contains("FT1-7"));
    CHECK(adapter->list_reports("P-Łódź").error().cls == ErrorClass::BadInput);
    {
        std::lock_guard lock(spy.mu);
        CHECK(spy.requests.empty());
    }
    auto held = adapter->booking_status("O-1");
    REQUIRE(held.ok());
    CHECK(held->status == "not_found");

    // What ASCII can carry goes out whole.
    auto ascii = adapter->book({"O-2", slot, "P-MULLER"});
    REQUIRE(ascii.ok());
    std::lock_guard lock(spy.mu);
    REQUIRE(spy.requests.size() == 2);
    CHECK(spy.requests[1].get("MSH-18") == "ASCII");
    CHECK(spy.requests[1].get("PID-3-1") == "P-MULLER");
    CHECK(spy.requests[1].get("AIG-3") == slot);
}

TEST_CASE("hl7v2 dialect: a header parameter his.charset cannot write is a start-up error naming it") {
    struct Case {
        const char* his;
        const char* names;
    };
    Case cases[] = {
        {R"({"charset": "ASCII", "hl7": {"sending_facility": "Klinik Süd"}})", "his.hl7.sending_facility"},
        {R"({"charset": "ASCII", "hl7": {"receiving_application": "HIS–2"}})", "his.hl7.receiving_application"},
        {R"({"charset": "8859/1", "hl7": {"sending_application": "网关"}})", "his.hl7.sending_application"},
    };
    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    for (const auto& c : cases) {
        INFO(c.his);
        auto p = hospital_params(c.his);
        REQUIRE(p.ok());
        // Before: the adapter started, and every message it sent lacked MSH-18.
        auto adapter = AdapterRegistry::builtin().create(p.value());
        REQUIRE_FALSE(adapter.ok());
        CHECK(adapter.error().cls == ErrorClass::Config);
        CHECK_THAT(adapter.error().message, Catch::StartsWith(c.names));
    }
    auto fits = hospital_params(R"({"charset": "8859/1", "hl7": {"sending_facility": "Klinik Süd"}})");
    REQUIRE(fits.ok());
    CHECK(AdapterRegistry::builtin().create(fits.value()).ok());
}

TEST_CASE("hl7v2 adapter: an answer in GB 18030 with an empty MSH-18 is matched and read in his.charset") {
    auto dialect = dialect_of(R"({"charset": "GB 18030-2000"})");
    REQUIRE(dialect.ok());
    std::string dir = test::make_temp_dir("his");
    auto hospital = sim::Hospital::open(dir + "/his.db", "H001", sim::utc_today());
    REQUIRE(hospital.ok());
    sim::FaultSwitch faults{sim::Faults{}};
    sim::Hl7Responder responder(hospital.value(), dialect.value(), faults);
    // A HIS that writes GB 18030 and does not say so: his-sim's answer with MSH-18 emptied.
    std::atomic<int> undeclared{0};
    mllp::Server server(mllp::ServerOptions{}, [&](std::string_view raw) {
        mllp::Answer answer = responder.answer(raw);
        auto m = hl7::Message::parse(answer.message, hl7::ParseOptions{.default_charset = hl7::Charset::Gb18030});
        if (m && m->set("MSH-18", "").ok()) {
            answer.message = m->serialize();
            if (!hl7::Message::parse(answer.message).ok()) ++undeclared;  // not readable as UTF-8
        }
        return answer;
    });
    REQUIRE(server.start().ok());
    mllp::ClientOptions o;
    o.port = server.port();
    o.max_attempts = 1;
    o.ack_timeout = std::chrono::milliseconds(2000);
    auto adapter = make_hl7v2_adapter(o, dialect.value());

    // Before: the client read the answer as UTF-8, found no MSA-2 and timed out.
    auto data = adapter->extract_reference_data(sim::utc_today(), sim::utc_today());
    REQUIRE(data.ok());
    CHECK(undeclared == 1);
    bool found = false;
    for (const auto& d : data->departments) found = found || d.name == "内科 Internal Medicine";
    CHECK(found);
}

TEST_CASE("hl7v2 adapter: a vendor code is read where the answer's version puts it (ERR-1-4 before 2.5)") {
    // As HL7 2.3 and 2.4 HISs write it: the code in ERR-1's fourth component (ELD).
    auto d = dialect_of(R"({"hl7": {"version": "2.3"}, "error_map": {"NOT_FOUND": "not_found"}})");
    REQUIRE(d.ok());
    for (const char* err : {"ERR|^^^NOT_FOUND&No such order&L", "ERR|PID^1^3^NOT_FOUND", "ERR||||E|||No such order"}) {
        INFO(err);
        std::string version = std::string(err).find("||||") != std::string::npos ? "2.5" : "2.3";
        auto answer = hl7::Message::parse("MSH|^~\\&|HIS|H|HG|H|20240101||ACK^S12^ACK|A1|P|" + version +
                                          "\rMSA|AE|C1|No such order\r" + err + "\r");
        REQUIRE(answer.ok());
        auto e = d->answer_error(answer.value(), "booking status");
        if (version == "2.5") {
            CHECK(e.code == "his.rejected");
        } else {
            CHECK(e.code == "his.NOT_FOUND");
            CHECK(e.cls == ErrorClass::NotFound);
        }
    }
    // And from his-sim, which writes the code where each version puts it, in every dialect.
    for (const auto& dc : kDialects) {
        DYNAMIC_SECTION(dc.name) {
            auto dialect = dialect_of(dc.his_params);
            REQUIRE(dialect.ok());
            SimulatedHis his(dialect.value());
            his.faults.set(sim::Faults{.reject = "NOT_FOUND"});
            auto adapter = adapter_for(his, dialect.value());
            auto r = adapter->get_report("R-DEMO-1");
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().code == "his.NOT_FOUND");
            CHECK(r.error().cls == ErrorClass::NotFound);
        }
    }
}

TEST_CASE("hl7v2 adapter: the push listener's parameters are read by the adapter's factory, errors naming them") {
    auto p = hospital_params(R"({})");
    REQUIRE(p.ok());
    auto none = hl7v2::push_settings_from_params(p.value());
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());

    auto doc = nlohmann::json::parse(R"({"hospital": {"id": "H001", "region": "south"},
        "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:2575"},
        "extraction": {"push": {"listen": "0.0.0.0:6661"}, "hl7": {"fields": {"doctor.department_id": "PRA-2-1"}}}})");
    auto with_push = params::ParamSet::validate(params::Catalog::builtin().value(), doc, "test.json");
    REQUIRE(with_push.ok());
    auto push = hl7v2::push_settings_from_params(with_push.value());
    REQUIRE(push.ok());
    REQUIRE(push->has_value());
    CHECK((*push)->host == "0.0.0.0");
    CHECK((*push)->port == 6661);
    CHECK((*push)->fields.path("doctor.department_id") == "PRA-2-1");
    CHECK((*push)->fields.path("doctor.title") == "PRA-3-1");

    struct Case {
        const char* dialect;
        const char* extraction;
        const char* says;
    };
    Case cases[] = {
        {"hl7v2-mllp", R"({"push": {"listen": "127.0.0.1:70000"}})", "extraction.push.listen: expected a port from 1 to 65535"},
        {"hl7v2-mllp", R"({"hl7": {"fields": {"slot.colour": "ZSL-11"}}})", "extraction.hl7.fields.slot.colour: expected one of the logical fields"},
        {"hl7v2-mllp", R"({"hl7": {"fields": {"slot.id": "SCH-two"}}})", "extraction.hl7.fields.slot.id: expected an HL7 path"},
        {"hl7v2-mllp", R"({"hl7": {"fields": {"slot.id": 2}}})", "extraction.hl7.fields.slot.id: expected an HL7 path"},
        {"rest-json", R"({"push": {"listen": "127.0.0.1:6661"}})", "extraction.push.listen: expected \"\" for the rest-json dialect"},
        {"soap-xml", R"({"push": {"listen": "127.0.0.1:6661"}})", "extraction.push.listen: expected \"\" for the soap-xml dialect"},
    };
    for (const auto& c : cases) {
        INFO(c.dialect << " " << c.extraction);
        nlohmann::json d = {{"hospital", {{"id", "H001"}, {"region", "south"}}},
                            {"his", {{"dialect", c.dialect},
                                     {"endpoint", std::string(c.dialect) == "hl7v2-mllp" ? "127.0.0.1:2575" : "http://127.0.0.1:8080/his"}}},
                            {"extraction", nlohmann::json::parse(c.extraction)}};
        if (std::string(c.dialect) == "soap-xml")
            d["his"]["soap"] = {{"namespace", "urn:vendor-d:his"}, {"action_prefix", "urn:vendor-d:his/"}};
        auto checked = params::ParamSet::validate(params::Catalog::builtin().value(), d, "test.json");
        INFO((checked.ok() ? "" : checked.error().describe()));
        REQUIRE(checked.ok());
        auto adapter = AdapterRegistry::builtin().create(checked.value());
        REQUIRE_FALSE(adapter.ok());
        CHECK(adapter.error().code == "params.invalid");
        CHECK_THAT(adapter.error().message, Catch::Contains(c.says));
    }
}

TEST_CASE("adapter registry: a dialect name registered twice fails loudly, the first factory stays") {
    AdapterRegistry r;
    REQUIRE(register_hl7v2_mllp(r).ok());
    auto twice = r.add("hl7v2-mllp", make_rest_adapter);
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.error().code == "adapters.duplicate_dialect");
    CHECK_THAT(twice.error().message, Catch::Contains("hl7v2-mllp"));
    CHECK(r.dialects() == std::vector<std::string>{"hl7v2-mllp"});
    auto p = hospital_params(R"({})");
    REQUIRE(p.ok());
    auto adapter = r.create(p.value());
    REQUIRE(adapter.ok());
    CHECK(adapter.value()->dialect() == "hl7v2-mllp");
    CHECK(AdapterRegistry::builtin().dialects() == std::vector<std::string>{"hl7v2-mllp", "rest-json", "soap-xml"});
}

TEST_CASE("hl7v2 adapter: the HIS's clock is MSH-7 of a read-only answer, a time without offset read in his.timezone") {
    auto dialect = dialect_of(R"({"timezone": "UTC"})");  // his-sim writes UTC wall-clock times
    REQUIRE(dialect.ok());
    SimulatedHis his(dialect.value());
    auto adapter = adapter_for(his, dialect.value());
    auto before = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    auto reading = adapter->read_clock();
    auto after = std::chrono::system_clock::now();
    REQUIRE(reading.ok());
    CHECK_THAT(reading->source, Catch::Contains("MSH-7") && Catch::Contains("read in UTC"));
    CHECK(reading->zone_assumed);
    // Written by the HIS (whole seconds) while the exchange ran, and read in the right zone.
    CHECK(reading->his >= before);
    CHECK(reading->his <= after);
    CHECK(reading->local >= before);
    CHECK(reading->local <= after);
}
