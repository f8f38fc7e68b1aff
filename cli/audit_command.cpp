// `hisgate audit [--json] [--who W] [--route R] [--since S] [--until U] [--limit N]
// [--cursor C] [--url URL] [--token-file F]`: the control plane's operator audit log
// (GET /api/v1/audit, docs/console.md "Audit log"), newest first: when, who, what, the
// answer, from where. --since and --until take an age ("15m", "2h", "7d": that long ago),
// a UTC time ("2026-12-07T01:00:00Z") or ms since the Unix epoch. Operator and admin
// tokens. Exit 0 with the list, 1 when the API refused (its code and message are printed)
// or could not be reached, 2 on bad arguments.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "common/utc_time.h"

namespace hisgate::cli {

namespace {
const char* kAuditUsage = R"(usage: hisgate audit [--json] [--who ROLE:NAME|NAME] [--route R] [--since S] [--until U]
                     [--limit N] [--cursor C] [--url URL] [--token-file FILE]
  S, U: an age (30s, 15m, 2h, 7d), a UTC time (2026-12-07T01:00:00Z) or ms since the epoch
)";

// `text` as ms since the Unix epoch (see the usage), or nothing.
std::optional<int64_t> audit_time_ms(const std::string& text, int64_t now_ms) {
    if (text.empty() || text.size() > 32) return std::nullopt;
    if (text.find_first_not_of("0123456789") == std::string::npos)
        return text.size() <= 15 ? std::optional<int64_t>(std::stoll(text)) : std::nullopt;
    const char unit = text.back();
    const std::string digits = text.substr(0, text.size() - 1);
    if (!digits.empty() && digits.size() <= 6 && digits.find_first_not_of("0123456789") == std::string::npos) {
        const int64_t n = std::stoll(digits);
        const int64_t per = unit == 's' ? 1000 : unit == 'm' ? 60000 : unit == 'h' ? 3600000 : unit == 'd' ? 86400000 : 0;
        if (per > 0) return now_ms - n * per;
    }
    std::tm t{};
    const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
    if (!end || (*end != '\0' && std::string(end) != "Z")) return std::nullopt;
    return static_cast<int64_t>(timegm(&t)) * 1000;
}

void print_audit_table(const nlohmann::json& body) {
    const auto& entries = body["entries"];
    if (entries.empty()) {
        std::printf("no audit entries\n");
        return;
    }
    std::printf("%s %s %s %s %s %s %s %s\n", column("WHEN (UTC)", 23).c_str(), column("WHO", 22).c_str(),
                column("METHOD", 6).c_str(), column("ROUTE", 18).c_str(), column("STATUS", 6).c_str(),
                column("CODE", 18).c_str(), column("FROM", 15).c_str(), "PATH");
    for (const auto& e : entries) {
        std::string when = e.contains("atMs") && e["atMs"].is_number_integer() ? iso_utc_ms(e["atMs"].get<int64_t>()) : "-";
        std::string code = field_text(e, "code");
        std::printf("%s %s %s %s %s %s %s %s\n", column(when, 23).c_str(), column(field_text(e, "who"), 22).c_str(),
                    column(field_text(e, "method"), 6).c_str(), column(field_text(e, "route"), 18).c_str(),
                    column(field_text(e, "status"), 6).c_str(), column(code.empty() ? "-" : code, 18).c_str(),
                    column(field_text(e, "from"), 15).c_str(), column(field_text(e, "path"), 80).c_str());
    }
    std::printf("%zu %s", entries.size(), entries.size() == 1 ? "entry" : "entries");
    if (body.contains("nextCursor") && body["nextCursor"].is_string())
        std::printf("; older ones: --cursor %s", body["nextCursor"].get<std::string>().c_str());
    std::printf("\n");
}
}  // namespace

int audit_main(const Args& given) {
    // --since and --until become the API's since_ms and until_ms; the rest goes as it is.
    Args args;
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
    for (size_t i = 0; i < given.size(); ++i) {
        if ((given[i] == "--since" || given[i] == "--until") && i + 1 < given.size()) {
            auto ms = audit_time_ms(given[i + 1], now_ms);
            if (!ms) {
                std::fprintf(stderr, "hisgate audit: %s: expected an age (15m, 2h, 7d), a UTC time or epoch ms, not '%s'\n%s",
                             given[i].c_str(), given[i + 1].substr(0, 64).c_str(), kAuditUsage);
                return 2;
            }
            args.push_back(given[i] + "_ms");
            args.push_back(std::to_string(*ms));
            ++i;
        } else {
            args.push_back(given[i]);
        }
    }
    return run_list_command({"audit", kAuditUsage, "/api/v1/audit",
                             {"--who", "--route", "--since_ms", "--until_ms", "--limit", "--cursor"}, "entries",
                             print_audit_table},
                            args);
}

}  // namespace hisgate::cli
