// hisgate-agent: runs on a hospital's front-end server, connects out to the broker, and
// serves the control plane's requests through the configured HIS adapter.
#include <malloc.h>

#include <cstdio>
#include <string_view>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "agent/doctor/doctor.h"
#include "common/log.h"
#include "common/process_metrics.h"
#include "common/program.h"

using namespace hisgate;

int main(int argc, char** argv) {
    // `hisgate-agent doctor ...`: hospital IT's self-check, not the agent itself.
    if (argc > 1 && std::string_view(argv[1]) == "doctor") return agent::doctor::run(argc - 1, argv + 1);
    // An agent idles for years: two malloc arenas are plenty for its few threads, and
    // each extra arena would keep its own freed memory resident.
    mallopt(M_ARENA_MAX, 2);
    block_shutdown_signals();
    auto start = start_program(argc, argv, "hisgate-agent", agent::agent_usage());
    if (!start.config) return start.exit_status;
    auto cfg = agent::read_agent_config(*start.config);
    if (!cfg) return invalid_config("hisgate-agent", cfg.error());
    log::init("agent:" + cfg->hospital_id, cfg->log.file, cfg->log.level);
    metrics::publish_build_info(HISGATE_REVISION);

    agent::Agent a(std::move(cfg.value()));
    if (auto started = a.start(); !started) {
        std::fprintf(stderr, "hisgate-agent: %s\n", started.error().describe().c_str());
        return 2;
    }
    wait_for_shutdown();
    a.stop();
    return 0;
}
