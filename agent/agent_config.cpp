#include "agent/agent_config.h"

#include <Poco/SHA2Engine.h>

#include "adapters/registry.h"
#include "common/settings.h"
#include "common/config.h"
#include "transport/topics.h"

namespace hisgate::agent {

std::string agent_usage() {
    return std::string(R"(usage: hisgate-agent --config FILE

The hospital's agent: connects out to the broker, serves the control plane's requests
through the HIS adapter. FILE is JSON:
  hospital_id        string, required   this hospital's id ([A-Za-z0-9_-], at most 64)
)") + kBrokerConfigHelp + R"(  his.adapter        string, required   the HIS dialect, e.g. "hl7v2-mllp"
  his.*              the adapter's parameters (hl7v2-mllp: host, port, connect_timeout_ms,
                     ack_timeout_ms, max_attempts, and "dialect": the his section of the
                     hospital's parameters: charset, hl7.version, hl7.encoding_characters,
                     hl7.segment_terminator, hl7.fields, error_map ...; see docs/params.md)
  workers            int     requests served at once (default 4)
  metrics.bind       string  address for /metrics (default 127.0.0.1)
  metrics.port       int     port for /metrics (default 0 = any free port, logged)
)" + kLogConfigHelp;
}

Result<AgentConfig> read_agent_config(ConfigReader& c) {
    AgentConfig cfg;
    cfg.hospital_id = c.string("hospital_id");
    if (!cfg.hospital_id.empty() && !topics::valid_hospital_id(cfg.hospital_id))
        c.problem("hospital_id", "1 to 64 characters of A-Z a-z 0-9 _ -", "\"" + cfg.hospital_id + "\"");
    cfg.broker = mqtt_options(read_broker_settings(c), "agent-" + cfg.hospital_id);

    std::string dialect = c.string("his.adapter");
    if (!dialect.empty()) cfg.adapter = AdapterRegistry::builtin().create(dialect, c, "his.");
    if (const auto* his = c.peek("his")) {
        Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
        sha.update(his->dump());
        cfg.adapter_params_hash = Poco::DigestEngine::digestToHex(sha.digest());
    }
    cfg.workers = static_cast<int>(c.integer("workers", 4, 1, 256));
    cfg.metrics_bind = c.string("metrics.bind", "127.0.0.1");
    cfg.metrics_port = static_cast<uint16_t>(c.integer("metrics.port", 0, 0, 65535));
    cfg.log = read_log_settings(c);
    if (auto done = c.finish(); !done) return done.error();
    return cfg;
}

}  // namespace hisgate::agent
