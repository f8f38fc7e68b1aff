// What an operator asks of agents behind one-way firewalls, over MQTT (issue 13 item 7):
//   trace(id)        the lines of a trace from every process that handled it: this
//                    instance's own log, and each agent's (`logs.get`, agent/diagnostics.h)
//                    of the hospitals named, or else of those this instance's lines name
//   doctor(hospital) the agent's doctor, its read-only checks (`doctor.run`)
// Both go through the Router as any request does (its timeouts, its task records: the
// answers change nothing at the HIS, so their contents go once delivered).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "controlplane/router.h"

namespace hisgate::controlplane {

class RemoteDiagnostics {
public:
    // `own_log_file`: this instance's JSON-lines log ("" = it logs to stderr: no own lines).
    RemoteDiagnostics(Router& router, std::string own_log_file, std::string own_process)
        : router_(router), own_log_file_(std::move(own_log_file)), own_process_(std::move(own_process)) {}

    // {"traceId", "lines": [...] in time order, "sources": [{"process", "lines", "truncated",
    // "error"?}]}: a hospital that cannot answer is a source with its error, never a failure
    // of the whole. BadInput "trace.bad_id"; at most kMaxHospitals hospitals.
    Result<nlohmann::json> trace(const std::string& trace_id, std::vector<std::string> hospitals);
    // The agent's answer: {"exitStatus", "ok", "checks", "table"}, or the routing error.
    Result<nlohmann::json> doctor(const std::string& hospital_id);

    static constexpr std::size_t kMaxHospitals = 16;

private:
    Router& router_;
    std::string own_log_file_;
    std::string own_process_;
};

}  // namespace hisgate::controlplane
