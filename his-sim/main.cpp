// his-sim: a simulated hospital information system for tests, benchmarks, the demo, and
// hospital IT rehearsals. It keeps its hospital in SQLite and answers HL7 v2 over MLLP.
#include <cstdio>

#include "common/config.h"
#include "common/log.h"
#include "common/program.h"
#include "common/settings.h"
#include "his-sim/hl7_responder.h"
#include "his-sim/hospital.h"
#include "mllp/server.h"

using namespace hisgate;

static const char* kUsage = R"(usage: his-sim --config FILE

A simulated HIS. FILE is JSON:
  hospital_id   string, required   the hospital this HIS belongs to ([A-Za-z0-9_-])
  db            string, required   SQLite file holding the hospital (created and seeded)
  mllp.bind     string             address to listen on (default 127.0.0.1)
  mllp.port     int, required      MLLP port (0 = any free port; the chosen one is logged)
  faults.latency_ms  int           delay before every answer (default 0)
  faults.silent      bool          read every message and never answer (default false)
  dialect       object             the "his" section of a hospital parameter file: charset,
                                   hl7.version, hl7.encoding_characters, hl7.segment_terminator,
                                   hl7.fields, ... (docs/params.md); default: HL7 2.4, UTF-8
  log.file      string             JSON-lines log file (default: stderr)
  log.level     string             debug | info | warn | error (default info)
)";

int main(int argc, char** argv) {
    block_shutdown_signals();
    auto start = start_program(argc, argv, "his-sim", kUsage);
    if (!start.config) return start.exit_status;
    auto& c = *start.config;
    std::string hospital_id = c.string("hospital_id");
    std::string db_path = c.string("db");
    mllp::ServerOptions mllp;
    mllp.bind = c.string("mllp.bind", "127.0.0.1");
    mllp.port = static_cast<uint16_t>(c.integer("mllp.port", std::nullopt, 0, 65535));
    sim::Faults faults;
    faults.latency = std::chrono::milliseconds(c.integer("faults.latency_ms", 0, 0, 600000));
    faults.silent = c.boolean("faults.silent", false);
    const auto* shape = c.section("dialect");
    auto dialect = hl7v2::dialect_from_params(shape ? *shape : nlohmann::json::object());
    if (!dialect) c.problem("dialect", "a valid HL7 dialect", dialect.error().message);
    auto log_settings = read_log_settings(c);
    if (auto done = c.finish(); !done) return invalid_config("his-sim", done.error());

    log::init("his-sim:" + hospital_id, log_settings.file, log_settings.level);
    auto db = sim::Hospital::open(db_path, hospital_id, sim::utc_today());
    if (!db) {
        log::error("sim.db_failed", {{"error", db.error().describe()}});
        std::fprintf(stderr, "his-sim: %s\n", db.error().describe().c_str());
        return 2;
    }
    sim::Hl7Responder responder(db.value(), std::move(dialect.value()), faults);
    mllp::Server server(mllp, [&](std::string_view m) { return responder.answer(m); });
    if (auto started = server.start(); !started) {
        std::fprintf(stderr, "his-sim: %s\n", started.error().describe().c_str());
        return 2;
    }
    log::info("sim.started", {{"mllp_port", server.port()}, {"hospital_id", hospital_id}});
    std::printf("his-sim %s listening for MLLP on %s:%u\n", hospital_id.c_str(), mllp.bind.c_str(), server.port());
    std::fflush(stdout);
    wait_for_shutdown();
    server.stop();
    log::info("sim.stopped");
    return 0;
}
