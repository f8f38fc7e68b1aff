// `hisgate triage [--owner X] [--since T] [--limit N] [--json] [--url URL] [--token-file F]`:
// the open errors of the control plane's error book (GET /api/v1/triage), grouped by the
// team that owns them, with counts and a sample trace id to follow with `hisgate trace`.
// URL and token as every API command takes them (cli/api_client.h: flags, else the CLI
// config file). Exit 0 with the list, 1 when the API refused (its code and message are
// printed) or could not be reached, 2 on bad arguments or a missing URL or token.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace hisgate::cli {

namespace {
const char* kUsage = R"(usage: hisgate triage [--owner TEAM] [--since T] [--limit N] [--json]
                      [--url URL] [--token-file FILE]
  T: an ISO 8601 UTC instant (2026-12-03T18:00:00Z) or an age (90s, 15m, 2h, 7d)
)";

int usage(const std::string& why) {
    std::cerr << "hisgate triage: " << why << "\n" << kUsage;
    return 2;
}

std::string text(const nlohmann::json& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end()) return "";
    if (it->is_string()) return it->get<std::string>();
    return it->dump();
}

// A column of at most `width` characters.
std::string cell(std::string s, size_t width) {
    if (s.size() > width) s = s.substr(0, width - 1) + "~";
    s.resize(width, ' ');
    return s;
}

void print_table(const nlohmann::json& body) {
    const auto& owners = body.value("owners", nlohmann::json::array());
    if (owners.empty()) {
        std::printf("no open errors\n");
        return;
    }
    for (const auto& o : owners) {
        std::printf("%s: %s open error groups, %s errors\n", text(o, "owner").c_str(), text(o, "groups").c_str(),
                    text(o, "count").c_str());
        std::printf("  %7s  %s %s %s %s %s %s\n", "COUNT", cell("CLASS", 11).c_str(), cell("CODE", 28).c_str(),
                    cell("HOSPITAL", 10).c_str(), cell("PATH", 20).c_str(), cell("LAST SEEN", 24).c_str(), "SAMPLE TRACE");
        for (const auto& e : o.value("errors", nlohmann::json::array()))
            std::printf("  %7s  %s %s %s %s %s %s\n", text(e, "count").c_str(), cell(text(e, "class"), 11).c_str(),
                        cell(text(e, "code"), 28).c_str(), cell(text(e, "hospitalId"), 10).c_str(),
                        cell(text(e, "path"), 20).c_str(), cell(text(e, "lastSeen"), 24).c_str(),
                        text(e, "sampleTraceId").c_str());
        std::printf("\n");
    }
    std::printf("%s groups, %s errors%s\n", text(body, "groups").c_str(), text(body, "count").c_str(),
                body.value("truncated", false) ? " (more than listed: use --limit)" : "");
}
}  // namespace

int triage_main(const Args& given) {
    Args args = given;
    for (const auto& a : args)
        if (a == "--help" || a == "-h") {
            std::printf("%s", kUsage);
            return 0;
        }
    auto target = api_target(args);
    if (!target) return usage(target.error().message);
    std::string query;
    bool json = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--json") json = true;
        else if ((a == "--owner" || a == "--since" || a == "--limit") && i + 1 < args.size())
            query += (query.empty() ? "?" : "&") + a.substr(2) + "=" + url_encode(args[++i]);
        else return usage("unexpected argument '" + a + "'");
    }
    auto got = api_get(*target, "/api/v1/triage" + query);
    if (!got) {
        std::cerr << "hisgate triage: " << got.error().code << ": " << got.error().message << "\n";
        return 1;
    }
    const auto& body = got.value();
    if (!body.is_object() || !body.contains("owners") || !body["owners"].is_array()) {
        std::cerr << "hisgate triage: the API's answer has no owners list\n";
        return 1;
    }
    if (json) std::printf("%s\n", body.dump(2).c_str());
    else print_table(body);
    return 0;
}

}  // namespace hisgate::cli
