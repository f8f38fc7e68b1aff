// hisgate fleet: every hospital the control plane's fleet registry knows, as a table an
// operator reads at a glance, or as JSON (GET /api/v1/fleet, every cursor page).
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace hisgate::cli {

namespace {
constexpr const char* kFleetUsage =
    "usage: hisgate fleet [--json] [--region R] [--dialect D] [--version V] [--state online|offline|incompatible]\n"
    "                     [--url URL] [--token-file F] [--page-size N]\n"
    "  URL and token file also from the CLI config file ($HISGATE_CLI_CONFIG or ~/.config/hisgate/cli.json)\n";
// Pages followed at most (of 1000 hospitals each): a cursor that never ends is a bug, not a fleet.
constexpr int kMaxPages = 10000;

int fleet_usage_error(const std::string& why) {
    std::fprintf(stderr, "hisgate fleet: %s\n%s", why.c_str(), kFleetUsage);
    return 2;
}

// Seconds since the Unix epoch of "2026-01-05T00:00:00.000Z"; nullopt when it is not one.
std::optional<int64_t> epoch_of(const nlohmann::json& iso) {
    if (!iso.is_string()) return std::nullopt;
    std::tm t{};
    const std::string s = iso.get<std::string>();
    if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &t)) return std::nullopt;
    return static_cast<int64_t>(timegm(&t));
}

// "45s", "12m", "3h05m", "2d04h"
std::string age(int64_t seconds) {
    if (seconds < 0) seconds = 0;
    char buf[32];
    if (seconds < 60) std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(seconds));
    else if (seconds < 3600) std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(seconds / 60));
    else if (seconds < 86400)
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                      static_cast<long long>(seconds % 3600 / 60));
    else
        std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(seconds / 86400),
                      static_cast<long long>(seconds % 86400 / 3600));
    return buf;
}

void cell(std::string& line, const std::string& s, size_t cols) { line += column(s, cols) + "  "; }

// The public partition's copy of the hospital's reference data: the last change set
// applied, or the change sets missing while a gap is open ("-" when it has none).
std::string reference_cell(const nlohmann::json& h) {
    auto r = h.find("reference");
    if (r == h.end() || !r->is_object() || !r->contains("seq") || !(*r)["seq"].is_number_integer()) return "-";
    std::string out = "seq " + std::to_string((*r)["seq"].get<int64_t>());
    const auto& gap = (*r)["gap"];
    if (gap.is_object() && gap.contains("missingFrom") && gap["missingFrom"].is_number_integer() &&
        gap.contains("missingTo") && gap["missingTo"].is_number_integer())
        out += " GAP " + std::to_string(gap["missingFrom"].get<int64_t>()) + "-" + std::to_string(gap["missingTo"].get<int64_t>());
    return out;
}

// The public partition's stream and the replicas following it, under the table.
void print_public_partition(const nlohmann::json& summary) {
    if (!summary.is_object() || !summary.contains("streamPosition") || !summary["streamPosition"].is_number_integer()) return;
    std::printf("public partition: stream at %lld, %lld hospital(s) with a gap\n",
                static_cast<long long>(summary["streamPosition"].get<int64_t>()),
                static_cast<long long>(summary.value("gaps", 0)));
    if (!summary.contains("replicas") || !summary["replicas"].is_array()) return;
    for (const auto& r : summary["replicas"]) {
        if (!r.is_object() || !r.contains("position") || !r["position"].is_number_integer() || !r.contains("lagEntries") ||
            !r["lagEntries"].is_number_integer())
            continue;
        std::printf("  replica %s  position %lld  lag %lld entries  heard %s\n", column(field_text(r, "name"), 24).c_str(),
                    static_cast<long long>(r["position"].get<int64_t>()), static_cast<long long>(r["lagEntries"].get<int64_t>()),
                    field_text(r, "heardAt").c_str());
    }
}

void print_fleet_table(const nlohmann::json& hospitals) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    std::map<std::string, int> counts;
    std::string header;
    const size_t widths[] = {12, 24, 8, 22, 10, 14, 10, 6, 20};
    const char* titles[] = {"HOSPITAL", "NAME", "REGION", "STATE", "HEARTBEAT", "VERSION", "DIALECT", "QUEUE", "REFERENCE"};
    for (size_t i = 0; i < 9; ++i) cell(header, titles[i], widths[i]);
    while (!header.empty() && header.back() == ' ') header.pop_back();
    std::printf("%s\n", header.c_str());
    for (const auto& h : hospitals) {
        std::string state = field_text(h, "state");
        counts[state]++;
        auto since = epoch_of(h.value("since", nlohmann::json()));
        auto beat = epoch_of(h.value("lastHeartbeat", nlohmann::json()));
        std::string queue = "-";
        if (auto q = h.find("queue"); q != h.end() && q->is_object() && q->contains("depth") && (*q)["depth"].is_number())
            queue = std::to_string((*q)["depth"].get<int64_t>());
        std::string line;
        cell(line, field_text(h, "hospitalId"), widths[0]);
        cell(line, field_text(h, "name").empty() ? "-" : field_text(h, "name"), widths[1]);
        cell(line, field_text(h, "region"), widths[2]);
        cell(line, state + (since ? " " + age(now - *since) : ""), widths[3]);
        cell(line, beat ? age(now - *beat) + " ago" : "-", widths[4]);
        cell(line, field_text(h, "version"), widths[5]);
        cell(line, field_text(h, "dialect"), widths[6]);
        cell(line, queue, widths[7]);
        cell(line, reference_cell(h), widths[8]);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::printf("%s\n", line.c_str());
    }
    std::string summary = std::to_string(hospitals.size()) + (hospitals.size() == 1 ? " hospital" : " hospitals");
    const char* order[] = {"online", "offline", "incompatible"};
    bool first = true;
    for (const char* s : order) {
        if (!counts.count(s)) continue;
        summary += (first ? ": " : ", ") + std::to_string(counts[s]) + " " + s;
        first = false;
    }
    std::printf("%s\n", summary.c_str());
}
}  // namespace

int fleet_main(const Args& given) {
    Args args = given;
    for (const auto& a : args)
        if (a == "--help" || a == "-h") {
            std::printf("%s", kFleetUsage);
            return 0;
        }
    auto target = api_target(args);
    if (!target) {
        std::fprintf(stderr, "hisgate fleet: %s\n", target.error().message.c_str());
        return 2;
    }
    bool json = false;
    std::string query;
    int page_size = 1000;  // --page-size: hospitals per request (tests and slow links)
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--json") {
            json = true;
            continue;
        }
        if (a == "--page-size") {
            const std::string v = i + 1 < args.size() ? args[++i] : "";
            bool digits = !v.empty() && v.size() <= 4 && v.find_first_not_of("0123456789") == std::string::npos;
            page_size = digits ? std::stoi(v) : 0;
            if (page_size < 1 || page_size > 1000) return fleet_usage_error("--page-size: expected 1 to 1000, found '" + v + "'");
            continue;
        }
        const char* filters[][2] = {{"--region", "region"}, {"--dialect", "dialect"}, {"--version", "version"}, {"--state", "state"}};
        bool known = false;
        for (auto& [flag, param] : filters) {
            if (a != flag) continue;
            if (i + 1 >= args.size()) return fleet_usage_error(std::string(flag) + " needs a value");
            query += std::string(query.empty() ? "" : "&") + param + "=" + url_encode(args[++i]);
            known = true;
        }
        if (!known) return fleet_usage_error("unknown argument '" + a + "'");
    }
    nlohmann::json all = nlohmann::json::array();
    nlohmann::json public_partition;  // the last page's summary
    std::string cursor;
    for (int page = 0;; ++page) {
        if (page >= kMaxPages) {
            std::fprintf(stderr, "hisgate fleet: more than %d pages; stopping\n", kMaxPages);
            return 1;
        }
        std::string q = "limit=" + std::to_string(page_size) + (query.empty() ? "" : "&" + query) + (cursor.empty() ? "" : "&cursor=" + url_encode(cursor));
        auto got = api_get(*target, "/api/v1/fleet?" + q);
        if (!got) {
            std::fprintf(stderr, "hisgate fleet: %s: %s\n", got.error().code.c_str(), got.error().message.c_str());
            return 1;
        }
        const auto& doc = got.value();
        if (!doc.is_object() || !doc.contains("hospitals") || !doc["hospitals"].is_array()) {
            std::fprintf(stderr, "hisgate fleet: the API's answer has no hospitals list\n");
            return 1;
        }
        for (const auto& h : doc["hospitals"]) all.push_back(h);
        if (doc.contains("publicPartition")) public_partition = doc["publicPartition"];
        auto next = doc.find("nextCursor");
        if (next == doc.end() || !next->is_string() || next->get<std::string>() == cursor) break;
        cursor = next->get<std::string>();
    }
    if (json) std::printf("%s\n", nlohmann::json({{"hospitals", all}, {"publicPartition", public_partition}}).dump(2).c_str());
    else {
        print_fleet_table(all);
        print_public_partition(public_partition);
    }
    return 0;
}

}  // namespace hisgate::cli
