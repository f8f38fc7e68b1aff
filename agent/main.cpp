// hisgate-agent: runs on a hospital's front-end server, connects out to the broker, and
// serves the control plane's requests through the configured HIS adapter.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "agent/doctor/doctor.h"
#include "agent/doctor/his_paths.h"
#include "agent/task_executor.h"
#include "common/log.h"
#include "common/process_metrics.h"
#include "common/program.h"
#include "common/version.h"

using namespace hisgate;

#ifdef HISGATE_TEST_HOOKS
// Test build only: HISGATE_TEST_ABORT_ON_TASK=<text> aborts the process as a task whose
// request contains that text (a request id, an order id) starts running, its attempt
// already counted: a request that crashes the agent, chosen by the test.
namespace {
std::string abort_on_task;
void abort_if_chosen(const agent::Task& task) {
    if (task.request.find(abort_on_task) == std::string::npos) return;
    log::warn("agent.test_hook_abort", {{"task_id", task.id}, {"attempts", task.attempts}});
    struct rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // a test's abort leaves no core file behind
    std::abort();
}
void install_test_hooks() {
    if (const char* id = std::getenv("HISGATE_TEST_ABORT_ON_TASK"); id && *id) {
        abort_on_task = id;
        agent::set_attempt_hook_for_test(abort_if_chosen);
    }
}
}  // namespace
#endif

int main(int argc, char** argv) {
    // `hisgate-agent doctor ...`: hospital IT's self-check, not the agent itself.
    if (argc > 1 && std::string_view(argv[1]) == "doctor") return agent::doctor::run(argc - 1, argv + 1);
    // An agent idles for years: two malloc arenas are plenty for its few threads, and
    // each extra arena would keep its own freed memory resident.
    mallopt(M_ARENA_MAX, 2);
    // A release's install tree stamps its version beside the binary (common/version.h):
    // what the birth, /metrics and --version report, and what the updater's health gate
    // waits for.
    {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) load_version_stamp(std::string(exe, static_cast<size_t>(n)));
    }
    block_shutdown_signals();
    auto start = start_program(argc, argv, "hisgate-agent", agent::agent_usage());
    if (!start.config) return start.exit_status;
    auto cfg = agent::read_agent_config(*start.config);
    if (!cfg) return invalid_config("hisgate-agent", cfg.error());
    cfg->config_file = start.config_file;
    // A pushed parameter set must pass the doctor's read-only path checks (docs/config-push.md).
    cfg->path_check = [](HisAdapter& his, const params::ParamSet& p) {
        std::vector<std::string> failed;
        for (const auto& row : agent::doctor::check_his_paths(his, p, ""))
            if (row.status == agent::doctor::Status::Fail) failed.push_back(row.check + ": " + row.detail);
        return failed;
    };
    log::init("agent:" + cfg->hospital_id, cfg->log.file, cfg->log.level);
    metrics::publish_build_info(HISGATE_REVISION);

#ifdef HISGATE_TEST_HOOKS
    install_test_hooks();
#endif
    agent::Agent a(std::move(cfg.value()));
    if (auto started = a.start(); !started) {
        std::fprintf(stderr, "hisgate-agent: %s\n", started.error().describe().c_str());
        return 2;
    }
    wait_for_shutdown();
    a.stop();
    return 0;
}
