// his-sim: a simulated hospital information system for tests, benchmarks, the demo, and
// hospital IT rehearsals. It keeps its hospital in SQLite and answers HL7 v2 over MLLP.
#include <cstdio>

#include "common/config.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/program.h"
#include "common/settings.h"
#include "adapters/registry.h"
#include "config-params/param_set.h"
#include "his-sim/hl7_responder.h"
#include "his-sim/hospital.h"
#include "mllp/server.h"

using namespace hisgate;

static const std::string kUsage = std::string(R"(usage: his-sim --config FILE

A simulated HIS. FILE is JSON:
  params_file   string, required   the hospital's parameter file: its dialect (his.*) is
                                   what this HIS speaks, and it listens on his.endpoint
  db            string, required   SQLite file holding the hospital (created and seeded)
  faults        object             faults in force at start (see below); default none
  control.bind  string             address of the fault control API (default 127.0.0.1)
  control.port  int                its port (default 0 = any free port, logged)
)") + kLogConfigHelp + R"(
Faults (the "faults" section, or PUT http://control/faults with the same JSON; GET reads them):
  latency_ms         int      delay before every answer
  silent             bool     read every message and never answer
  drop_after_commit  int      lose the next N answers after the HIS committed the operation
  duplicate_answers  int      send the next N answers twice
  reject             string   refuse every message with this vendor error code
  moved_fields       object   interface change: logical field -> new HL7 path, e.g. {"report.title": "OBR-5-2"}
)";

namespace {
// The fault control API: GET /faults, PUT /faults {...}.
void serve_fault_control(sim::FaultSwitch& faults, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    if (req.getURI() != "/faults") {
        send_text(res, 404, "application/json", R"({"code":"http.not_found","message":"the control API serves /faults"})");
        return;
    }
    if (req.getMethod() == "PUT" || req.getMethod() == "POST") {
        std::string body(std::istreambuf_iterator<char>(req.stream()), {});
        auto doc = nlohmann::json::parse(body, nullptr, false);
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
    if (p->string("his.dialect") != "hl7v2-mllp")
        return invalid_config("his-sim", make_error(ErrorClass::Config, "params.unsupported_dialect",
                                                    params_file + ": his.dialect: his-sim does not play \"" +
                                                        p->string("his.dialect") + "\" yet"));
    auto dialect = hl7v2::dialect_from_params(p.value());
    auto endpoint = host_and_port(p->string("his.endpoint"), "his.endpoint");
    if (!dialect) return invalid_config("his-sim", dialect.error());
    if (!endpoint) return invalid_config("his-sim", endpoint.error());
    std::string hospital_id = p->string("hospital.id");
    mllp::ServerOptions mllp;
    mllp.bind = endpoint->first;
    mllp.port = endpoint->second;

    log::init("his-sim:" + hospital_id, log_settings.file, log_settings.level);
    auto db = sim::Hospital::open(db_path, hospital_id, sim::utc_today());
    if (!db) {
        log::error("sim.db_failed", {{"error", db.error().describe()}});
        std::fprintf(stderr, "his-sim: %s\n", db.error().describe().c_str());
        return 2;
    }
    sim::FaultSwitch faults(initial_faults);
    sim::Hl7Responder responder(db.value(), std::move(dialect.value()), faults);
    HttpServer control(control_bind, control_port, [&](auto& req, auto& res) { serve_fault_control(faults, req, res); });
    if (auto started = control.start(); !started) {
        std::fprintf(stderr, "his-sim: %s\n", started.error().describe().c_str());
        return 2;
    }
    mllp::Server server(mllp, [&](std::string_view m) { return responder.answer(m); });
    if (auto started = server.start(); !started) {
        std::fprintf(stderr, "his-sim: %s\n", started.error().describe().c_str());
        return 2;
    }
    log::info("sim.started", {{"mllp_port", server.port()}, {"control_port", control.port()}, {"hospital_id", hospital_id}});
    std::printf("his-sim %s listening for MLLP on %s:%u\n", hospital_id.c_str(), mllp.bind.c_str(), server.port());
    std::fflush(stdout);
    wait_for_shutdown();
    server.stop();
    log::info("sim.stopped");
    return 0;
}
