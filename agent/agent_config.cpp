#include "agent/agent_config.h"

#include <algorithm>

#include "adapters/registry.h"
#include "common/settings.h"
#include "common/config.h"

namespace hisgate::agent {

std::string agent_usage() {
    return std::string(R"(usage: hisgate-agent --config FILE | --help | --version
       hisgate-agent doctor --config FILE [--json] [--report-id ID]   (the self-check; docs/doctor.md)

The hospital's agent: connects out to the broker, serves the control plane's requests
through the HIS adapter its parameter file names. FILE is JSON:
  params_file        string, required   the hospital's parameter file: everything about the
                                        hospital and its HIS (hisgate params list; docs/params.md); the HIS's caps and
                                        the queue's behaviour are parameters there (his.*, queue.*)
  state_db           string, required   the agent's SQLite file (queue, outbox, probe state);
                                        its folder must exist and be writable
)") + kBrokerConfigHelp + R"(  metrics.bind       string  address for /metrics (default 127.0.0.1)
  metrics.port       int     port for /metrics (default 9740; 0 = any free port, logged)
  updater.spool_dir  string  where release.install tasks hand requests to hisgate-updater
                             (docs/updater.md); without it release.install is refused
  updater.result_file string the updater's <root>/updater-result.json: how its last install
                             ended, reported to the control plane as lastInstall (docs/updater.md)
)" + kLogConfigHelp;
}

Result<appointments::RuleSet> rules_from_params(const params::ParamSet& p, const std::string& source) {
    nlohmann::json appointment = {{"rules", p.json("appointment.rules")}, {"timezone", p.string("appointment.timezone")}};
    return appointments::RuleSet::from_params(appointment, source, p.string("hospital.timezone"));
}

Result<AgentConfig> read_agent_config(ConfigReader& c) {
    AgentConfig cfg;
    std::string params_file = c.string("params_file");
    cfg.params_file = params_file;
    cfg.state_db = c.string("state_db");
    auto broker = read_broker_settings(c);
    cfg.metrics_bind = c.string("metrics.bind", "127.0.0.1");
    cfg.metrics_port = static_cast<uint16_t>(c.integer("metrics.port", kDefaultMetricsPort, 0, 65535));
    cfg.log = read_log_settings(c);
    cfg.updater_spool = c.string("updater.spool_dir", "");
    cfg.updater_result_file = c.string("updater.result_file", "");
    // For tests only (undocumented in the usage on purpose; docs/agent.md): announce another
    // protocol range than this build speaks, as an older or newer release would.
    cfg.protocol_min = static_cast<int>(c.integer("test.advertise_protocol.min", Envelope::kMinSchema, 0, 1000000));
    cfg.protocol_max = static_cast<int>(c.integer("test.advertise_protocol.max", Envelope::kMaxSchema, 0, 1000000));
    if (cfg.protocol_min > cfg.protocol_max)
        c.problem("test.advertise_protocol", "min <= max",
                  std::to_string(cfg.protocol_min) + " > " + std::to_string(cfg.protocol_max));
    if (auto done = c.finish(); !done) return done.error();

    const auto& catalog = params::Catalog::builtin();
    if (!catalog) return catalog.error();
    auto p = params::ParamSet::load_file(catalog.value(), params_file);
    if (!p) return p.error();
    cfg.hospital_id = p->string("hospital.id");
    cfg.params_hash = p->hash();
    cfg.hospital_name = p->string("hospital.name");
    cfg.region = p->string("hospital.region");
    auto adapter = AdapterRegistry::builtin().create(p.value());
    if (!adapter) return make_error(ErrorClass::Config, "params.invalid", params_file + ": " + adapter.error().message);
    cfg.adapter = std::move(adapter.value());
    auto rules = rules_from_params(p.value(), params_file);
    if (!rules) return rules.error();
    cfg.rules = std::move(rules.value());
    cfg.broker = mqtt_options(broker, "agent-" + cfg.hospital_id);

    cfg.his_concurrency = static_cast<int>(p->integer("his.concurrency"));
    cfg.his_rate_per_minute = static_cast<int>(p->integer("his.rate_per_minute"));
    cfg.his_idempotent = p->boolean("his.idempotent_orders");
    cfg.his_processing_horizon = p->duration("his.processing_horizon");
    cfg.queue.workers = cfg.his_concurrency;
    cfg.queue.drain_interval = p->duration("his.deferred_drain_interval");
    // A drain releases what the rate cap lets through in one interval, at least one task.
    cfg.queue.deferred_batch = static_cast<int>(std::max<int64_t>(
        1, cfg.his_rate_per_minute * cfg.queue.drain_interval.count() / 60000));
    cfg.queue.max_attempts = static_cast<int>(p->integer("queue.max_attempts"));
    cfg.queue.backoff_min = p->duration("queue.retry_backoff_min");
    cfg.queue.backoff_max = std::max(cfg.queue.backoff_min, p->duration("queue.retry_backoff_max"));
    cfg.retention = p->duration("queue.retention");
    cfg.dwell_alert = p->duration("queue.dwell_alert");
    cfg.heartbeat_interval = p->duration("presence.heartbeat_interval");
    auto probes = probes::probes_from_params(p.value(), params_file);
    if (!probes) return probes.error();
    cfg.probes = std::move(probes.value());
    auto extraction = extraction::settings_from_params(p.value());
    if (!extraction) return make_error(ErrorClass::Config, "params.invalid", params_file + ": " + extraction.error().message);
    cfg.extraction = std::move(extraction.value());
    auto vitals = vitals::settings_from_params(p.value());
    if (!vitals) return make_error(ErrorClass::Config, "params.invalid", params_file + ": " + vitals.error().message);
    cfg.vitals = std::move(vitals.value());
    return cfg;
}

}  // namespace hisgate::agent
