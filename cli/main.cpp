// hisgate: the operator CLI.
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "common/program.h"

static const char* kMainUsage = R"(usage: hisgate <command> ...
       hisgate --version

commands:
  trace <trace-id> [--hospitals H1,H2] [--url URL] [--token-file F]
                                       every log line of every process that handled the
                                       trace, agents' included (asked over MQTT by the
                                       control plane), in time order, with per-hop timings
  trace <trace-id> --logs DIR          the same from the JSON-lines log files in DIR
  doctor <hospital> [--json] [--url URL] [--token-file F]
                                       the agent's self-check, run by the agent itself
  hl7 parse [--json|--stats] FILE|-    parse HL7 v2 messages
  hl7 ack FILE                         print the ACK for each message
  hl7 send HOST:PORT FILE              send messages over MLLP, print each ACK
  hl7 listen PORT [--store DIR] [--tls ...]   answer MLLP messages with the right ACK
  params validate FILE                 check a hospital parameter file, every problem at once
  params list [--json] | docs [OUT] | diff OLD NEW   the parameter catalog (docs/params.md)
  token new-key --keys DIR             a new API signing key (the newest signs; rotation)
  token issue --keys DIR --role ROLE --subject ID [--ttl 24h]   a bearer token for the API
  triage [--owner TEAM] [--since T] [--json] [--url URL] [--token-file F]
                                       open errors grouped by the team that owns them
  fleet [--json] [--region R] [--dialect D] [--version V] [--state S] [--url URL] [--token-file F]
                                       every hospital the control plane knows: state and
                                       since when, last heartbeat, version, dialect, queue
  alerts [--state firing|resolved] [--hospital H] [--json] [--url URL] [--token-file F]
                                       the fleet's alerts: rule, hospital, since, owner
  audit [--who W] [--route R] [--since 2h] [--until T] [--json] [--url URL] [--token-file F]
                                       the operator audit log, newest first: when, who,
                                       what, the answer, from where (operators, admins)
  tasks <task id> [--json] [--url URL] [--token-file F]
                                       one request: pending, answered or expired, its
                                       hospital, type and error
  ledger list [--state in_doubt] [--manual true] [--json]   transactions in a state (the
                                       operators' queue with --manual true)
  ledger resolve <id> --outcome committed|rejected --evidence TEXT
                                       settle an IN_DOUBT transaction by what the hospital
                                       said (recorded with the operator's name)
  reconcile --date D [--partition P] [--json]   the day's ledgers against each hospital's
                                       statement and the provider's bill; exit 1 on a mismatch
  partition split <source> --into A,B --by province=P1,P2   split a ledger partition live (the
                                       listed provinces to A, the rest to B); waits, prints the freeze
  partition rollback <source>          after a split: the source owns its provinces again
  partition status [--json]            the partition map in use and the newest split
  release keygen|certify|revoke        Ed25519 release keys, the root's certificates of
                                       signing keys and its revocation list
  release build --version V --from DIR --out DIR [--previous DIR]
                                       the full package and zstd deltas from the five
                                       previous releases, with an unsigned manifest
  release sign|verify [--packages]     sign a manifest; check its signature, key, every
                                       package and delta (docs/releases.md)
  rollout start --release V [--waves 1%,10%,50%,100%] [--max-failure 5%] [--select k=v,...]
          [--wave-timeout 30m]         take a release to the fleet in waves that halt themselves
  rollout pause|resume|abort|status [ID] [--watch]   (docs/rollouts.md)
  config push <hospital|selector> params.json [--now]   push a parameter set (a selector such as
                                       region=south takes a merge patch); standard mode waits for
                                       the quiet window (docs/config-push.md)
  config history <hospital> [--json]   every set pushed: version, status, who, when, hash
  config rollback <hospital> [--to N]  push an earlier set again, at once
  flags set NAME [--hospitals H1,H2] [--select region=R] [--percent P] [--min-version V]
  flags list [--json] | flags rm NAME  feature flags, delivered to the online agents
                                       (URL/token also from $HISGATE_CLI_CONFIG or
                                       ~/.config/hisgate/cli.json)
)";

int main(int argc, char** argv) {
    using namespace hisgate::cli;
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        std::printf("%s", kMainUsage);
        return argc < 2 ? 2 : 0;
    }
    std::string group = argv[1];
    if (group == "--version") {
        hisgate::print_version("hisgate");
        return 0;
    }
    Args rest(argv + 2, argv + argc);
    if (group == "trace") return trace_main(rest);
    if (group == "params") return params_main(rest);
    if (group == "token") return token_main(rest);
    if (group == "triage") return triage_main(rest);
    if (group == "fleet") return fleet_main(rest);
    if (group == "doctor") return doctor_main(rest);
    if (group == "alerts") return alerts_main(rest);
    if (group == "audit") return audit_main(rest);
    if (group == "tasks") return tasks_main(rest);
    if (group == "ledger") return ledger_main(rest);
    if (group == "reconcile") return reconcile_main(rest);
    if (group == "partition") return partition_main(rest);
    if (group == "release") return release_main(rest);
    if (group == "rollout") return rollout_main(rest);
    if (group == "config") return config_main(rest);
    if (group == "flags") return flags_main(rest);
    if (group == "hl7" && !rest.empty()) {
        const std::string& sub = rest[0];
        if (sub == "parse" || sub == "ack") return hl7_parse_main(rest);
        if (sub == "send" || sub == "listen") return hl7_net_main(rest);
    }
    std::fprintf(stderr, "hisgate: unknown command '%s'\n\n%s", group.c_str(), kMainUsage);
    return 2;
}
