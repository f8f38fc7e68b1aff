// `hisgate triage [--owner X] [--since T] [--limit N] [--json] [--url URL] [--token-file F]`:
// the open errors of the control plane's error book (GET /api/v1/triage), grouped by the
// team that owns them, with counts and a sample trace id to follow with `hisgate trace`.
// URL and token as every API command takes them (cli/api_client.h: flags, else the CLI
// config file). Exit 0 with the list, 1 when the API refused (its code and message are
// printed) or could not be reached, 2 on bad arguments or a missing URL or token.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace hisgate::cli {

namespace {
const char* kTriageUsage = R"(usage: hisgate triage [--owner TEAM] [--since T] [--limit N] [--json]
                      [--url URL] [--token-file FILE]
  T: an ISO 8601 UTC instant (2026-12-03T18:00:00Z) or an age (90s, 15m, 2h, 7d)
)";

void print_triage_table(const nlohmann::json& body) {
    const auto& owners = body.value("owners", nlohmann::json::array());
    if (owners.empty()) {
        std::printf("no open errors\n");
        return;
    }
    for (const auto& o : owners) {
        std::printf("%s: %s open error groups, %s errors\n", field_text(o, "owner").c_str(), field_text(o, "groups").c_str(),
                    field_text(o, "count").c_str());
        std::printf("  %7s  %s %s %s %s %s %s\n", "COUNT", column("CLASS", 11).c_str(), column("CODE", 28).c_str(),
                    column("HOSPITAL", 10).c_str(), column("PATH", 20).c_str(), column("LAST SEEN", 24).c_str(), "SAMPLE TRACE");
        for (const auto& e : o.value("errors", nlohmann::json::array()))
            std::printf("  %7s  %s %s %s %s %s %s\n", field_text(e, "count").c_str(), column(field_text(e, "class"), 11).c_str(),
                        column(field_text(e, "code"), 28).c_str(), column(field_text(e, "hospitalId"), 10).c_str(),
                        column(field_text(e, "path"), 20).c_str(), column(field_text(e, "lastSeen"), 24).c_str(),
                        field_text(e, "sampleTraceId").c_str());
        std::printf("\n");
    }
    std::printf("%s groups, %s errors%s\n", field_text(body, "groups").c_str(), field_text(body, "count").c_str(),
                body.value("truncated", false) ? " (more than listed: use --limit)" : "");
}
}  // namespace

int triage_main(const Args& given) {
    return run_list_command({"triage", kTriageUsage, "/api/v1/triage", {"--owner", "--since", "--limit"}, "owners",
                             [](const nlohmann::json& body) { print_triage_table(body); }},
                            given);
}

}  // namespace hisgate::cli
