// `hisgate alerts [--state firing|resolved] [--hospital H] [--limit N] [--json] [--url URL]
// [--token-file F]`: the control plane's alerts (GET /api/v1/alerts, docs/alerts.md), newest
// first: rule, hospital, state, since when, owner, detail. URL and token as every API
// command takes them (cli/api_client.h). Exit 0 with the list, 1 when the API refused (its
// code and message are printed) or could not be reached, 2 on bad arguments.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace hisgate::cli {

namespace {
const char* kAlertsUsage = R"(usage: hisgate alerts [--state firing|resolved] [--hospital H] [--limit N] [--json]
                      [--url URL] [--token-file FILE]
)";

void print_alerts_table(const nlohmann::json& alerts) {
    if (alerts.empty()) {
        std::printf("no alerts\n");
        return;
    }
    std::printf("%s %s %s %s %s %s %s\n", column("STATE", 9).c_str(), column("RULE", 19).c_str(),
                column("HOSPITAL", 10).c_str(), column("SUBJECT", 12).c_str(), column("STARTED", 24).c_str(),
                column("OWNER", 16).c_str(), "DETAIL");
    for (const auto& a : alerts) {
        std::string started = field_text(a, "startedAt");
        std::printf("%s %s %s %s %s %s %s\n", column(field_text(a, "state"), 9).c_str(),
                    column(field_text(a, "rule"), 19).c_str(), column(field_text(a, "hospitalId"), 10).c_str(),
                    column(field_text(a, "subject"), 12).c_str(), column(started, 24).c_str(),
                    column(field_text(a, "owner"), 16).c_str(), field_text(a, "detail").c_str());
    }
}
}  // namespace

int alerts_main(const Args& given) {
    return run_list_command({"alerts", kAlertsUsage, "/api/v1/alerts", {"--state", "--hospital", "--limit"}, "alerts",
                             [](const nlohmann::json& body) { print_alerts_table(body["alerts"]); }},
                            given);
}

}  // namespace hisgate::cli
