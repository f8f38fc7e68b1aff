// his-sim: a simulated hospital information system for tests, benchmarks, the demo, and
// hospital IT rehearsals. It keeps its hospital in SQLite and answers HL7 v2 over MLLP.
#include <Poco/URI.h>

#include <cstdio>
#include <memory>

#include "common/config.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/program.h"
#include "common/settings.h"
#include "adapters/registry.h"
#include "config-params/param_set.h"
#include "his-sim/body_limits.h"
#include "his-sim/hl7_responder.h"
#include "his-sim/rest_responder.h"
#include "his-sim/soap_responder.h"
#include "his-sim/hospital.h"
#include "his-sim/load_meter.h"
#include "his-sim/reference_control.h"
#include "his-sim/reference_push.h"
#include "mllp/server.h"

using namespace hisgate;

static const std::string kUsage = std::string(R"(usage: his-sim --config FILE | --help | --version

A simulated HIS. FILE is JSON:
  params_file   string, required   the hospital's parameter file: its dialect (his.*) is
                                   what this HIS speaks, and it listens on his.endpoint
  db            string, required   SQLite file holding the hospital (created and seeded)
  faults        object             faults in force at start (see below); default none
  control.bind  string             address of the fault control API (default 127.0.0.1)
  control.port  int                its port (default 0 = any free port, logged)
)") + kLogConfigHelp + R"(
Load (GET http://control/load): what this HIS is handling, as the hospital would count it:
  {"inFlight", "maxInFlight", "started", "maxStartedIn60s", "startedInLast60s"}

Faults (the "faults" section, or PUT http://control/faults with the same JSON; GET reads them):
  latency_ms         int      delay before every answer
  silent             bool     read every message and never answer
  drop_after_commit  int      lose the next N answers to changes (book, cancel, pay, refund)
  drop_answers       int      lose the next N answers of any kind (queries too)
  duplicate_answers  int      send the next N answers twice
  reject             string   refuse every message with this vendor error code
  moved_fields       object   interface change: logical field -> new HL7 path, e.g. {"report.title": "OBR-5-2"}

Reference data, as the hospital's staff would change it (committed at once; the next
extraction of any dialect sees it; 400 names a bad field, 409 a change the records forbid;
an HL7 HIS whose parameters set extraction.push.listen also pushes each change there as
MFN^M02 or SIU^S12/S17, and the answer's "push" says how the agent took it):
  PUT /doctors/{doctorId}  {"departmentId", "name", "title"}          DELETE /doctors/{doctorId}
  PUT /slots/{slotId}      {"doctorId", "departmentId", "date", "start", "end", "half",
                            "capacity", "booked", "feeCents"}          DELETE /slots/{slotId}
)";

namespace {
// The control API: GET /faults, PUT /faults {...}; GET /load; PUT and DELETE /doctors/{id}
// and /slots/{id} (his-sim/reference_control.h).
void serve_control(sim::FaultSwitch& faults, sim::LoadMeter& load, sim::Hospital& hospital,
                   sim::ReferencePusher* pusher, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    if (sim::serve_reference_control(hospital, pusher, req, res)) return;
    if (req.getURI() == "/load" && req.getMethod() == "GET") {
        send_text(res, 200, "application/json", load.to_json().dump());
        return;
    }
    if (req.getURI() != "/faults") {
        send_text(res, 404, "application/json",
                  R"j({"code":"http.not_found","message":"the control API serves /faults (GET, PUT), /load (GET), /doctors/{id} and /slots/{id} (PUT, DELETE)"})j");
        return;
    }
    if (req.getMethod() == "PUT" || req.getMethod() == "POST") {
        auto body = read_body(req, sim::kMaxControlBodyBytes, "a faults body");
        auto doc = body ? nlohmann::json::parse(body.value(), nullptr, false) : nlohmann::json(nlohmann::json::value_t::discarded);
        auto parsed = doc.is_discarded() ? Result<sim::Faults>(make_error(ErrorClass::BadInput, "faults.invalid_json", "the body is not JSON"))
                                         : sim::Faults::from_json(doc);
        if (!parsed) {
            send_text(res, 400, "application/json",
                      nlohmann::json{{"code", parsed.error().code}, {"message", parsed.error().message}}.dump());
            return;
        }
        faults.set(parsed.value());
        log::info("sim.faults_set", {{"faults", parsed->to_json()}});
    }
    send_text(res, 200, "application/json", faults.current().to_json().dump());
}
}  // namespace

int main(int argc, char** argv) {
    block_shutdown_signals();
    auto start = start_program(argc, argv, "his-sim", kUsage);
    if (!start.config) return start.exit_status;
    auto& c = *start.config;
    std::string params_file = c.string("params_file");
    std::string db_path = c.string("db");
    sim::Faults initial_faults;
    if (const auto* section = c.section("faults")) {
        auto parsed = sim::Faults::from_json(*section);
        if (parsed) initial_faults = parsed.value();
        else c.problem("faults", "valid faults", parsed.error().message);
    }
    std::string control_bind = c.string("control.bind", "127.0.0.1");
    auto control_port = static_cast<uint16_t>(c.integer("control.port", 0, 0, 65535));
    auto log_settings = read_log_settings(c);
    if (auto done = c.finish(); !done) return invalid_config("his-sim", done.error());

    const auto& catalog = params::Catalog::builtin();
    if (!catalog) return invalid_config("his-sim", catalog.error());
    auto p = params::ParamSet::load_file(catalog.value(), params_file);
    if (!p) return invalid_config("his-sim", p.error());
    std::string hospital_id = p->string("hospital.id");
    std::string dialect_name = p->string("his.dialect");
    std::string endpoint = p->string("his.endpoint");
    log::init("his-sim:" + hospital_id, log_settings.file, log_settings.level);
    // his.idempotent_orders false: this HIS executes a repeated order again.
    auto order_ids = p->boolean("his.idempotent_orders") ? sim::OrderIds::IdempotencyKeys : sim::OrderIds::ExecuteAgain;
    // A hospital whose HIS speaks GB 18030 has Chinese names, so CJK text crosses that charset.
    auto his_charset = hl7::charset_from_hl7(p->string("his.charset"));
    auto names = his_charset.ok() && his_charset.value() == hl7::Charset::Gb18030 ? sim::SeedNames::Chinese
                                                                                    : sim::SeedNames::English;
    auto db = sim::Hospital::open(db_path, hospital_id, sim::utc_today(), order_ids, names);
    if (!db) {
        log::error("sim.db_failed", {{"error", db.error().describe()}});
        std::fprintf(stderr, "his-sim: %s\n", db.error().describe().c_str());
        return 2;
    }
    // Changes made through the control API also go to the agent's push listener, when the
    // parameters name one (his-sim/reference_push.h).
    auto pusher = sim::ReferencePusher::from_params(p.value());
    if (!pusher) return invalid_config("his-sim", pusher.error());
    sim::FaultSwitch faults(initial_faults);
    // Every request of every dialect is counted from its handler's entry to its answer.
    sim::LoadMeter load;
    HttpServer control(control_bind, control_port, [&](auto& req, auto& res) { serve_control(faults, load, db.value(), pusher->get(), req, res); });
    if (auto started = control.start(); !started) {
        std::fprintf(stderr, "his-sim: %s\n", started.error().describe().c_str());
        return 2;
    }
    // One front end per dialect, all on the same hospital, all speaking the HIS's sex codes.
    SexCodes sex(p->code_table("his.code_tables.sex"));
    std::unique_ptr<sim::Hl7Responder> hl7;
    std::unique_ptr<mllp::Server> mllp_server;
    std::unique_ptr<sim::RestResponder> rest;
    std::unique_ptr<sim::SoapResponder> soap;
    std::unique_ptr<HttpServer> http;
    if (dialect_name == "hl7v2-mllp") {
        auto dialect = hl7v2::dialect_from_params(p.value());
        auto at = host_and_port(endpoint, "his.endpoint");
        if (!dialect) return invalid_config("his-sim", dialect.error());
        if (!at) return invalid_config("his-sim", at.error());
        hl7 = std::make_unique<sim::Hl7Responder>(db.value(), std::move(dialect.value()), faults, sex);
        mllp::ServerOptions options;
        options.bind = at->first;
        options.port = at->second;
        mllp_server = std::make_unique<mllp::Server>(options, [&](std::string_view m) {
            sim::LoadMeter::Request counted(load);
            return hl7->answer(m);
        });
        if (auto started = mllp_server->start(); !started) {
            std::fprintf(stderr, "his-sim: %s\n", started.error().describe().c_str());
            return 2;
        }
    } else {
        Poco::URI uri(endpoint);
        if (dialect_name == "rest-json") {
            // The adapter calls the endpoint's path followed by the base path.
            std::string base = uri.getPath() + p->string("his.rest.base_path");
            rest = std::make_unique<sim::RestResponder>(db.value(), p->json("his.rest.field_map"), base, faults, sex);
        } else {
            auto charset = hl7::charset_from_hl7(p->string("his.charset"));
            if (!charset) return invalid_config("his-sim", charset.error());
            soap = std::make_unique<sim::SoapResponder>(db.value(), p->string("his.soap.namespace"),
                                                        p->json("his.soap.field_map"), faults, charset.value(), sex);
        }
        http = std::make_unique<HttpServer>(uri.getHost(), uri.getPort(), [&](auto& req, auto& res) {
            sim::LoadMeter::Request counted(load);
            if (rest) rest->handle(req, res);
            else soap->handle(req, res);
        });
        if (auto started = http->start(); !started) {
            std::fprintf(stderr, "his-sim: %s\n", started.error().describe().c_str());
            return 2;
        }
    }
    log::info("sim.started", {{"dialect", dialect_name}, {"endpoint", endpoint}, {"control_port", control.port()},
                              {"hospital_id", hospital_id}});
    std::printf("his-sim %s (%s) serving %s\n", hospital_id.c_str(), dialect_name.c_str(), endpoint.c_str());
    std::fflush(stdout);
    wait_for_shutdown();
    if (mllp_server) mllp_server->stop();
    if (http) http->stop();
    log::info("sim.stopped");
    return 0;
}
