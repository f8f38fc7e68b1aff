#include "agent/agent_config.h"

#include "adapters/registry.h"
#include "common/settings.h"
#include "common/config.h"

namespace hisgate::agent {

std::string agent_usage() {
    return std::string(R"(usage: hisgate-agent --config FILE

The hospital's agent: connects out to the broker, serves the control plane's requests
through the HIS adapter its parameter file names. FILE is JSON:
  params_file        string, required   the hospital's parameter file: everything about the
                                        hospital and its HIS (hisgate params list; docs/params.md)
  state_db           string, required   the agent's SQLite file (queue, outbox, probe state);
                                        its folder must exist and be writable
)") + kBrokerConfigHelp + R"(  workers            int     requests served at once (default 4)
  metrics.bind       string  address for /metrics (default 127.0.0.1)
  metrics.port       int     port for /metrics (default 0 = any free port, logged)
)" + kLogConfigHelp;
}

Result<AgentConfig> read_agent_config(ConfigReader& c) {
    AgentConfig cfg;
    std::string params_file = c.string("params_file");
    cfg.params_file = params_file;
    cfg.state_db = c.string("state_db");
    auto broker = read_broker_settings(c);
    cfg.workers = static_cast<int>(c.integer("workers", 4, 1, 256));
    cfg.metrics_bind = c.string("metrics.bind", "127.0.0.1");
    cfg.metrics_port = static_cast<uint16_t>(c.integer("metrics.port", 0, 0, 65535));
    cfg.log = read_log_settings(c);
    if (auto done = c.finish(); !done) return done.error();

    const auto& catalog = params::Catalog::builtin();
    if (!catalog) return catalog.error();
    auto p = params::ParamSet::load_file(catalog.value(), params_file);
    if (!p) return p.error();
    cfg.hospital_id = p->string("hospital.id");
    cfg.params_hash = p->hash();
    auto adapter = AdapterRegistry::builtin().create(p.value());
    if (!adapter) return make_error(ErrorClass::Config, "params.invalid", params_file + ": " + adapter.error().message);
    cfg.adapter = std::move(adapter.value());
    nlohmann::json appointment = {{"rules", p->json("appointment.rules")}, {"timezone", p->string("appointment.timezone")}};
    auto rules = appointments::RuleSet::from_params(appointment, params_file, p->string("hospital.timezone"));
    if (!rules) return rules.error();
    cfg.rules = std::move(rules.value());
    cfg.broker = mqtt_options(broker, "agent-" + cfg.hospital_id);
    return cfg;
}

}  // namespace hisgate::agent
