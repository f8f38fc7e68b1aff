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
       hisgate alerts resolve <alert id> --note TEXT [--json]   (operators and admins)
)";

// `hisgate alerts resolve <id> --note TEXT`: POST /api/v1/alerts/{id}/resolve. Exit 0 with
// the alert resolved, 1 when the API refused (already resolved: 409 alert.not_firing), 2 on
// bad arguments.
int resolve_alert_main(Args args) {
    auto target = api_target(args);
    if (!target) {
        std::fprintf(stderr, "hisgate alerts resolve: %s\n", target.error().message.c_str());
        return 2;
    }
    std::string id, note;
    bool json = false;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--json") json = true;
        else if (args[i] == "--note" && i + 1 < args.size()) note = args[++i];
        else if (id.empty() && !args[i].starts_with("--")) id = args[i];
        else {
            std::fprintf(stderr, "hisgate alerts resolve: unexpected argument '%s'\n%s", args[i].c_str(), kAlertsUsage);
            return 2;
        }
    }
    if (id.empty() || note.empty()) {
        std::fprintf(stderr, "hisgate alerts resolve: needs an alert id and --note (what was done)\n%s", kAlertsUsage);
        return 2;
    }
    auto done = api_post_json(*target, "/api/v1/alerts/" + url_encode(id) + "/resolve", {{"note", note}});
    if (!done) {
        std::fprintf(stderr, "hisgate alerts resolve: %s: %s\n", done.error().code.c_str(), done.error().message.c_str());
        return 1;
    }
    if (json) std::printf("%s\n", done->dump(2).c_str());
    else std::printf("%s %s %s resolved by %s\n", field_text(*done, "id").c_str(), field_text(*done, "rule").c_str(),
                     field_text(*done, "hospitalId").c_str(), field_text(*done, "resolvedBy").c_str());
    return 0;
}

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
    if (!given.empty() && given[0] == "resolve") return resolve_alert_main(Args(given.begin() + 1, given.end()));
    return run_list_command({"alerts", kAlertsUsage, "/api/v1/alerts", {"--state", "--hospital", "--limit"}, "alerts",
                             [](const nlohmann::json& body) { print_alerts_table(body["alerts"]); }},
                            given);
}

}  // namespace hisgate::cli
