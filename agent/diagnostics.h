// What an agent shows of itself when the control plane asks (issue 13 item 7): agents sit
// behind one-way firewalls, so an operator sees inside one only this way, over MQTT.
//   logs.get {traceId}  the lines of a trace from the agent's own log (common/trace_lines.h:
//                       bounded; the log holds no PHI, docs/architecture.md "Logs")
//   doctor.run {}       the agent's doctor (docs/doctor.md) on its own config, its read-only
//                       checks in a child process of its own, bounded in time and output
//   params.get {}       the hospital's parameter file as it is on disk now, for a rollout's
//                       parameter gate (docs/rollouts.md): {"params": <file>, "paramsHash"};
//                       a parameter file holds no patient data (docs/params.md)
// Both are request types of the agent's table (agent/request_types.h): real-time, changing
// nothing at the HIS, so their answers are dropped once delivered.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::agent {

struct Diagnostics {
    std::string log_file;                     // the agent's JSON-lines log; "" = it logs to stderr only
    std::string process;                      // its name in log lines ("agent:H001")
    std::vector<std::string> doctor_command;  // runs `hisgate-agent doctor --json` on this agent's config
    std::chrono::milliseconds doctor_timeout{std::chrono::seconds(60)};
    std::string params_file;                  // the hospital's parameter file ("" = none)
    // Where release.install leaves requests for hisgate-updater (agent/release_install.h);
    // "" when the agent has no updater beside it.
    std::string updater_spool;
};

// {"process", "lines": [...], "truncated"}; BadInput "trace.bad_id" for a malformed id.
Result<nlohmann::json> trace_lines_of(const Diagnostics& d, const nlohmann::json& body);
// {"params": <the parameter file>, "paramsHash": SHA-256 of its canonical JSON}. NotFound
// "params.none" without a file; Unavailable "params.unreadable"; BadInput "params.invalid"
// (not JSON, or over 4 MiB).
Result<nlohmann::json> parameter_file_of(const Diagnostics& d);
// {"exitStatus", "ok", "checks": [...], "table"}: the doctor's own JSON and its table.
Result<nlohmann::json> run_doctor(const Diagnostics& d, const Clock& clock);

}  // namespace hisgate::agent
