// Subcommands of the `hisgate` operator CLI. Each takes the words after its group name
// (e.g. for `hisgate hl7 parse --json f.hl7`: {"parse", "--json", "f.hl7"}) and returns
// the process exit status.
#pragma once

#include <string>
#include <vector>

namespace hisgate::cli {

using Args = std::vector<std::string>;

int hl7_parse_main(const Args& args);  // hl7 parse | hl7 ack        (cli/hl7_parse_command.cpp)
int hl7_net_main(const Args& args);    // hl7 send  | hl7 listen     (cli/hl7_net_command.cpp)
int trace_main(const Args& args);      // trace <trace-id>           (cli/trace_command.cpp)
int params_main(const Args& args);     // params validate|list|docs|diff (cli/params_command.cpp)
int token_main(const Args& args);      // token new-key|issue         (cli/token_command.cpp)
int doctor_main(const Args& args);     // doctor <hospital> [--json]   (cli/doctor_command.cpp)
int triage_main(const Args& args);     // triage [--owner X] [--since T] (cli/triage_command.cpp)
int fleet_main(const Args& args);      // fleet [--json] [filters]    (cli/fleet_command.cpp)
int alerts_main(const Args& args);     // alerts [--state S] [--json] (cli/alerts_command.cpp)
int audit_main(const Args& args);      // audit [--who W] [--since S] [--json] (cli/audit_command.cpp)
int tasks_main(const Args& args);      // tasks <task id> [--json]    (cli/tasks_command.cpp)
int ledger_main(const Args& args);     // ledger list|resolve          (cli/ledger_command.cpp)
int reconcile_main(const Args& args);  // reconcile --date D            (cli/reconcile_command.cpp)
int partition_main(const Args& args);  // partition split|rollback|status (cli/partition_command.cpp)
int rollout_main(const Args& args);    // rollout start|pause|resume|abort|status (cli/rollout_command.cpp)
int release_main(const Args& args);    // release keygen|certify|revoke|build|sign|verify (cli/release_command.cpp)
int config_main(const Args& args);     // config push|history|rollback (cli/config_command.cpp)
int flags_main(const Args& args);      // flags set|list|rm            (cli/config_command.cpp)

}  // namespace hisgate::cli
