#include "controlplane/audit/audit_api.h"

#include <cctype>

#include "common/log.h"
#include "common/metrics.h"
#include "common/query_params.h"
#include "controlplane/fleet_api.h"
#include "controlplane/fleet_store.h"

namespace hisgate::controlplane::audit {

namespace {
constexpr char kBadAuditQuery[] = "audit.bad_query";
constexpr size_t kMaxAuditQueryBytes = 2048;
constexpr int kDefaultAuditPage = 100;
constexpr size_t kMaxAuditFilterBytes = 160;  // "role:" and a 64-byte subject, or a route name

// who and route filters: 1 to 160 bytes of A-Z a-z 0-9 . _ - : (roles, subjects, route names).
bool valid_audit_filter(const std::string& v) {
    if (v.empty() || v.size() > kMaxAuditFilterBytes) return false;
    for (unsigned char c : v)
        if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == ':')) return false;
    return true;
}

// A time bound: 1 to 15 digits of ms since the Unix epoch (up to the year 33658).
std::optional<int64_t> audit_ms(const std::string& v) {
    if (v.empty() || v.size() > 15 || v.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::stoll(v);
}

bool is_ip(std::string_view s) { return !s.empty() && s.find('/') == std::string_view::npos && IpRange::parse(s); }

std::string trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
}
}  // namespace

nlohmann::json audit_json(const AuditEntry& e) {
    return {{"seq", e.seq},       {"atMs", e.at_ms},   {"who", e.who},         {"role", e.role},
            {"method", e.method}, {"route", e.route},  {"path", e.path},       {"targets", e.targets},
            {"status", e.status}, {"code", e.code.empty() ? nlohmann::json() : nlohmann::json(e.code)},
            {"from", e.from}};
}

Result<nlohmann::json> audit_page(AuditLog& log, const std::string& raw_query) {
    auto read = read_query(raw_query, kBadAuditQuery, kMaxAuditQueryBytes,
                           {"who", "route", "since_ms", "until_ms", "limit", "cursor"});
    if (!read) return read.error();
    const auto& given = read.value();
    AuditQuery q;
    for (const char* filter : {"who", "route"}) {
        auto it = given.find(filter);
        if (it == given.end()) continue;
        if (!valid_audit_filter(it->second))
            return bad_query(kBadAuditQuery, filter, "1 to 160 characters of A-Z a-z 0-9 . _ - :", it->second);
        (std::string_view(filter) == "who" ? q.who : q.route) = it->second;
    }
    for (const char* bound : {"since_ms", "until_ms"}) {
        auto it = given.find(bound);
        if (it == given.end()) continue;
        auto ms = audit_ms(it->second);
        if (!ms) return bad_query(kBadAuditQuery, bound, "milliseconds since the Unix epoch", it->second);
        (std::string_view(bound) == "since_ms" ? q.since_ms : q.until_ms) = *ms;
    }
    auto limit = query_int(given, kBadAuditQuery, "limit", 1, kMaxFleetPage, kDefaultAuditPage);
    if (!limit) return limit.error();
    if (auto it = given.find("cursor"); it != given.end()) {
        // The fleet's cursor over a seq (its digits are a valid position there too).
        std::string after = fleet_cursor_position(it->second);
        auto seq = after.empty() ? std::nullopt : audit_ms(after);
        if (!seq || *seq <= 0) return bad_query(kBadAuditQuery, "cursor", "the nextCursor of an earlier page", it->second);
        q.before_seq = *seq;
    }
    q.limit = *limit + 1;  // one more tells whether another page follows
    auto rows = log.page(q);
    if (!rows) return rows.error();
    nlohmann::json out = {{"entries", nlohmann::json::array()}};
    for (size_t i = 0; i < rows->size() && i < static_cast<size_t>(*limit); ++i) out["entries"].push_back(audit_json((*rows)[i]));
    if (rows->size() > static_cast<size_t>(*limit)) out["nextCursor"] = fleet_cursor(std::to_string((*rows)[*limit - 1].seq));
    return out;
}

std::string caller_address(const std::string& peer, const std::string& forwarded_for,
                           const std::vector<IpRange>& trusted_proxies) {
    // An empty list would admit every address (ip_range.h): no proxies, no forwarding.
    if (trusted_proxies.empty() || forwarded_for.empty() || !admitted(trusted_proxies, peer)) return peer;
    std::string from = peer;
    std::string_view rest = forwarded_for.size() > 2048 ? std::string_view() : std::string_view(forwarded_for);
    while (!rest.empty()) {
        size_t comma = rest.rfind(',');
        std::string hop = trimmed(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
        if (!is_ip(hop)) break;
        from = hop;
        if (!admitted(trusted_proxies, hop)) break;  // the first hop no proxy of ours is: the client
    }
    return from;
}

std::vector<std::string> path_targets(const std::vector<RouteTemplate>& table, std::string_view route,
                                      const std::vector<std::string>& parts) {
    std::vector<std::string> out;
    for (const auto& t : table) {
        if (route != t.name) continue;
        auto want = route_segments(t.path);
        if (want.size() != parts.size()) continue;
        for (size_t i = 0; i < want.size(); ++i)
            if (want[i].size() > 1 && want[i].front() == '{' && want[i].back() == '}') out.push_back(parts[i]);
        break;
    }
    return out;
}

void record(AuditLog& log, const AuditEntry& e) {
    static auto& failed = metrics::global().counter("hisgate_audit_append_failures_total",
                                                    "Operator actions that could not be written to the audit log");
    auto appended = log.append(e);
    if (appended) return;
    failed.inc();
    log::error("audit.append_failed", {{"who", e.who}, {"route", e.route}, {"status", e.status},
                                       {"error", appended.error().describe()}});
}

}  // namespace hisgate::controlplane::audit
