#include "controlplane/triage/triage_listing.h"

#include <chrono>
#include <cstdio>
#include <map>

#include "common/utc_time.h"

namespace hisgate::controlplane::triage {

namespace {
constexpr std::size_t kMaxValue = 64;

Error bad_query(const std::string& param, const std::string& expected, const std::string& found) {
    return make_error(ErrorClass::BadInput, "triage.bad_query",
                      "query parameter " + param + ": expected " + expected + ", found " + found);
}

std::string shown(const std::string& v) {
    std::string out;
    for (char c : v) out.push_back(c > ' ' && c < 0x7f ? c : '?');
    return "\"" + out + "\"";
}


bool all_digits(const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}
}  // namespace

std::optional<int64_t> parse_since(const std::string& text, int64_t now_ms) {
    if (text.size() >= 2 && text.size() <= 10 && all_digits(text.substr(0, text.size() - 1))) {
        int64_t n = std::stoll(text.substr(0, text.size() - 1));
        int64_t unit = 0;
        switch (text.back()) {
            case 's': unit = 1000; break;
            case 'm': unit = 60 * 1000; break;
            case 'h': unit = 3600 * 1000; break;
            case 'd': unit = 86400 * 1000; break;
            default: return std::nullopt;
        }
        if (n > 3650LL * 86400 * 1000 / unit) return std::nullopt;  // at most ten years back
        return now_ms - n * unit;
    }
    int y, mo, d, h, mi, s, used = 0;
    if (text.size() < 20 || text.size() > 30) return std::nullopt;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6 || used != 19)
        return std::nullopt;
    std::string rest = text.substr(19);
    int64_t frac_ms = 0;
    if (!rest.empty() && rest[0] == '.') {
        size_t digits = rest.find_first_not_of("0123456789", 1);
        if (digits == std::string::npos || digits == 1 || digits > 10) return std::nullopt;
        std::string f = rest.substr(1, digits - 1);
        f.resize(3, '0');
        frac_ms = std::stoll(f.substr(0, 3));
        rest = rest.substr(digits);
    }
    if (rest != "Z") return std::nullopt;
    using namespace std::chrono;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || s > 60 || y < 1970) return std::nullopt;
    auto tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + milliseconds{frac_ms};
    return duration_cast<milliseconds>(tp.time_since_epoch()).count();
}

Result<TriageQuery> read_triage_query(const std::vector<std::pair<std::string, std::string>>& params,
                                      const OwnerRules& rules, int64_t now_ms) {
    TriageQuery q;
    std::map<std::string, int> seen;
    for (const auto& [name, value] : params) {
        if (name != "owner" && name != "since" && name != "limit")
            return bad_query(name.size() <= kMaxValue ? name : name.substr(0, kMaxValue) + "...",
                             "one of owner, since, limit", "an unknown parameter");
        if (++seen[name] > 1) return bad_query(name, "at most one value", "several");
        if (value.size() > kMaxValue)
            return bad_query(name, "at most " + std::to_string(kMaxValue) + " bytes", std::to_string(value.size()) + " bytes");
        if (name == "owner") {
            if (!rules.teams().count(value)) {
                std::string teams;
                for (const auto& [t, _] : rules.teams()) teams += (teams.empty() ? "" : ", ") + t;
                return bad_query("owner", "a team of the triage rules (" + teams + ")", shown(value));
            }
            q.owner = value;
        } else if (name == "since") {
            auto since = parse_since(value, now_ms);
            if (!since)
                return bad_query("since", "an ISO 8601 UTC instant (2026-12-03T18:00:00Z) or an age (90s, 15m, 2h, 7d)",
                                 shown(value));
            q.since_ms = *since;
        } else {
            if (!all_digits(value) || value.size() > 5 || std::stoll(value) < 1 || std::stoll(value) > 10000)
                return bad_query("limit", "an integer from 1 to 10000", shown(value));
            q.limit = std::stoll(value);
        }
    }
    return q;
}

nlohmann::json triage_listing(const std::vector<ErrorGroup>& groups, const TriageQuery& q) {
    nlohmann::json owners = nlohmann::json::array();
    int64_t total_count = 0;
    for (const auto& g : groups) {
        if (owners.empty() || owners.back()["owner"] != g.owner)
            owners.push_back({{"owner", g.owner}, {"groups", 0}, {"count", 0}, {"errors", nlohmann::json::array()}});
        auto& o = owners.back();
        o["groups"] = o["groups"].get<int64_t>() + 1;
        o["count"] = o["count"].get<int64_t>() + g.count;
        total_count += g.count;
        o["errors"].push_back({{"class", std::string(to_string(g.cls))},
                               {"code", g.code},
                               {"hospitalId", g.tags.hospital},
                               {"path", g.tags.path},
                               {"dialect", g.tags.dialect},
                               {"version", g.tags.version},
                               {"region", g.tags.region},
                               {"count", g.count},
                               {"firstSeen", iso_utc_ms(g.first_ms)},
                               {"lastSeen", iso_utc_ms(g.last_ms)},
                               {"sampleTraceId", g.sample_trace_id},
                               {"rule", g.rule}});
    }
    nlohmann::json out = {{"owners", owners}, {"groups", groups.size()}, {"count", total_count}};
    if (!q.owner.empty()) out["owner"] = q.owner;
    if (q.since_ms) out["since"] = iso_utc_ms(q.since_ms);
    out["truncated"] = static_cast<int64_t>(groups.size()) >= q.limit;
    return out;
}

}  // namespace hisgate::controlplane::triage
