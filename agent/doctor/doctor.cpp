#include "agent/doctor/doctor.h"

#include <cstdio>
#include <string>

#include "agent/agent_config.h"
#include "agent/doctor/broker_checks.h"
#include "agent/doctor/file_checks.h"
#include "agent/doctor/finding_table.h"
#include "agent/doctor/his_clock.h"
#include "agent/doctor/his_paths.h"
#include "common/log.h"
#include "common/program.h"
#include "common/settings.h"
#include "config-params/param_set.h"

namespace hisgate::agent::doctor {

namespace {

const char* kUsage = R"(usage: hisgate-agent doctor --config FILE [--json] [--report-id ID]

Checks an installed agent: its parameter file, each business path of the HIS (read-only
queries), the broker (TCP, TLS, login), the HIS clock, disk space and the permissions of
its files. Prints a table of what to fix (docs/doctor.md).
  --config FILE     the agent's config file, as hisgate-agent runs with it
  --json            print the rows as JSON instead of a table
  --report-id ID    a report the HIS has, for the report row (default: a made-up id,
                    for which the HIS must answer "no such report")
Exit status: 0 nothing failed, 1 a check failed, 2 the config file cannot be used.
)";

struct Args {
    std::string config, report_id;
    bool json = false;
};

int usage_error(const std::string& why) {
    std::fprintf(stderr, "hisgate-agent doctor: %s\n\n%s", why.c_str(), kUsage);
    return 2;
}

std::string peek_string(const ConfigReader& c, const std::string& path) {
    const auto* v = c.peek(path);
    return v && v->is_string() ? v->get<std::string>() : "";
}

// The parameter file's row; the set itself when it is valid.
Finding parameter_row(const std::string& params_file, const Result<AgentConfig>& agent, std::optional<params::ParamSet>& out) {
    const std::string check = "params_file";
    std::string fix = "correct each line above (hisgate params list; docs/params.md), then run doctor again";
    const auto& catalog = params::Catalog::builtin();
    if (!catalog) return fail(check, catalog.error().describe(), "report this to the platform team");
    auto p = params::ParamSet::load_file(catalog.value(), params_file);
    if (!p) return fail(check, p.error().message, fix);
    // Valid against the catalog, yet the adapter or the appointment rules refused it.
    if (!agent) return fail(check, agent.error().message, fix);
    out = std::move(p.value());
    return ok(check, params_file + ": hospital " + out->string("hospital.id") + ", dialect " + out->string("his.dialect") + ", " +
                         std::to_string(out->count_set()) + " parameters set");
}

}  // namespace

int run(int argc, char** argv) {
    Args args;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (a == "--json") args.json = true;
        else if ((a == "--config" || a == "--report-id") && i + 1 < argc) (a == "--config" ? args.config : args.report_id) = argv[++i];
        else return usage_error("unknown or incomplete argument \"" + a + "\"");
    }
    if (args.config.empty()) return usage_error("--config FILE is required");

    auto loaded = ConfigReader::load_file(args.config);
    if (!loaded) {
        std::fprintf(stderr, "hisgate-agent doctor: %s\n", loaded.error().message.c_str());
        return 2;
    }
    ConfigReader raw = loaded.value();
    // The agent's own reading, so the doctor judges exactly what the agent would run with.
    auto agent = read_agent_config(loaded.value());
    if (!agent && agent.error().code.rfind("config.", 0) == 0) return invalid_config("hisgate-agent doctor", agent.error());

    std::string params_file = peek_string(raw, "params_file");
    std::string state_db = peek_string(raw, "state_db");
    std::string password_file = peek_string(raw, "broker.password_file");
    if (agent) {
        // The doctor's own lines go to the agent's log; to stderr only when they matter.
        log::init("agent-doctor:" + agent->hospital_id, agent->log.file, agent->log.file.empty() ? log::Level::Error : agent->log.level);
    } else {
        log::init("agent-doctor", "", log::Level::Error);
    }

    Findings rows;
    std::optional<params::ParamSet> p;
    rows.push_back(parameter_row(params_file, agent, p));

    rows.push_back(secret_file("params_file", params_file));
    if (!password_file.empty()) rows.push_back(secret_file("broker.password_file", password_file));
    if (std::string key = peek_string(raw, "broker.key_file"); !key.empty()) rows.push_back(secret_file("broker.key_file", key));
    if (p && !p->string("his.rest.token_file").empty())
        rows.push_back(secret_file("his.rest.token_file", p->string("his.rest.token_file")));
    rows.push_back(state_db_access(state_db));
    rows.push_back(disk_space(state_db));

    // Without a valid parameter file there is no hospital id and no adapter.
    std::string hospital_id = agent ? agent->hospital_id : (p ? p->string("hospital.id") : "");
    if (agent) {
        for (auto& f : check_broker(agent->broker, hospital_id, password_file,
                                    std::make_pair(agent->metrics_bind == "0.0.0.0" ? "127.0.0.1" : agent->metrics_bind,
                                                   agent->metrics_port)))
            rows.push_back(std::move(f));
        for (auto& f : check_his_paths(*agent->adapter, *p, args.report_id)) rows.push_back(std::move(f));
        rows.push_back(judge_clock(agent->adapter->read_clock()));
    } else {
        // The broker section is valid (the config passed), so the broker is checked anyway.
        ConfigReader broker_section = raw;
        auto broker = mqtt_options(read_broker_settings(broker_section), "");
        for (auto& f : check_broker(broker, hospital_id, password_file)) rows.push_back(std::move(f));
        rows.push_back(warn("his.*, clock.his", "not checked: they need a valid parameter file", "fix params_file first"));
    }

    int failed = 0;
    for (const auto& f : rows) failed += f.status == Status::Fail;
    log::info("doctor.finished", {{"checks", rows.size()}, {"failed", failed}});
    std::fputs(args.json ? render_json(rows).c_str() : render_table(rows).c_str(), stdout);
    return exit_status(rows);
}

}  // namespace hisgate::agent::doctor
