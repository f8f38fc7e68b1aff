#include "controlplane/fleet_api.h"

#include <cctype>
#include <chrono>

#include "common/utc_time.h"
#include "common/query_params.h"
#include "transport/limits.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

namespace {
constexpr char kBadQuery[] = "fleet.bad_query";
constexpr size_t kMaxQueryBytes = 2048;
constexpr size_t kMaxFilterBytes = limits::kIdBytes;
constexpr int kDefaultPage = 100;


// A filter value: 1 to 64 bytes of A-Z a-z 0-9 . _ + : - (ids, regions, dialects, versions).
bool valid_filter(const std::string& v) {
    if (v.empty() || v.size() > kMaxFilterBytes) return false;
    for (unsigned char c : v)
        if (!(std::isalnum(c) || c == '.' || c == '_' || c == '+' || c == ':' || c == '-')) return false;
    return true;
}

nlohmann::json field_or_null(const nlohmann::json& body, const char* name) {
    auto it = body.find(name);
    return it == body.end() ? nlohmann::json() : *it;
}
}  // namespace

std::string fleet_cursor(const std::string& hospital_id) {
    static const char* hex = "0123456789abcdef";
    std::string out = "h1";
    for (unsigned char c : hospital_id) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

std::string fleet_cursor_position(const std::string& cursor) {
    if (cursor.size() < 4 || cursor.size() > 2 + 2 * limits::kHospitalIdBytes || cursor.compare(0, 2, "h1") != 0 ||
        cursor.size() % 2 != 0)
        return "";
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string id;
    for (size_t i = 2; i < cursor.size(); i += 2) {
        int hi = nibble(cursor[i]), lo = nibble(cursor[i + 1]);
        if (hi < 0 || lo < 0) return "";
        id += static_cast<char>(hi * 16 + lo);
    }
    return topics::valid_hospital_id(id) ? id : "";
}

nlohmann::json fleet_json(const FleetRecord& r, const ProtocolWindow& window) {
    return {{"hospitalId", r.hospital_id},
            {"name", r.name},
            {"region", r.region},
            {"state", r.state(window)},
            {"online", r.online},
            {"compatible", r.compatible(window)},
            {"since", iso_utc_ms(r.since_ms)},
            {"lastHeartbeat", r.last_heartbeat_ms > 0 ? nlohmann::json(iso_utc_ms(r.last_heartbeat_ms)) : nlohmann::json()},
            {"firstSeen", iso_utc_ms(r.first_seen_ms)},
            {"updatedAt", iso_utc_ms(r.updated_ms)},
            {"version", r.version},
            {"protocol", {{"min", r.protocol_min}, {"max", r.protocol_max}}},
            {"dialect", r.dialect},
            {"paramsHash", r.params_hash},
            {"session", r.session},
            {"capabilities", field_or_null(r.body, "capabilities")},
            {"caps", field_or_null(r.body, "caps")},
            {"queue", field_or_null(r.body, "queue")},
            {"probes", field_or_null(r.body, "probes")},
            {"certNotAfter", field_or_null(r.body, "certNotAfter")},
            {"lastInstall", field_or_null(r.body, "lastInstall")}};
}

Result<nlohmann::json> fleet_page(const HospitalRegistry& registry, const std::string& raw_query) {
    auto read = read_query(raw_query, kBadQuery, kMaxQueryBytes, {"region", "dialect", "version", "state", "limit", "cursor"});
    if (!read) return read.error();
    const auto& given = read.value();
    FleetQuery q;
    q.limit = kDefaultPage;
    for (const char* filter : {"region", "dialect", "version"}) {
        auto it = given.find(filter);
        if (it == given.end()) continue;
        if (!valid_filter(it->second))
            return bad_query(kBadQuery, filter, "1 to 64 characters of A-Z a-z 0-9 . _ + : -", it->second);
        std::string f = filter;
        (f == "region" ? q.region : f == "dialect" ? q.dialect : q.version) = it->second;
    }
    if (auto it = given.find("state"); it != given.end()) {
        if (it->second == "online") q.state = FleetStateFilter::Online;
        else if (it->second == "offline") q.state = FleetStateFilter::Offline;
        else if (it->second == "incompatible") q.state = FleetStateFilter::Incompatible;
        else return bad_query(kBadQuery, "state", "online, offline or incompatible", it->second);
    }
    auto limit = query_int(given, kBadQuery, "limit", 1, kMaxFleetPage, q.limit);
    if (!limit) return limit.error();
    q.limit = *limit;
    if (auto it = given.find("cursor"); it != given.end()) {
        q.after = fleet_cursor_position(it->second);
        if (q.after.empty()) return bad_query(kBadQuery, "cursor", "the nextCursor of an earlier page", it->second);
    }
    const int page = q.limit;
    q.limit = page + 1;  // one more tells whether another page follows
    auto found = registry.list(q);
    if (!found) return found.error();
    auto& rows = found.value();
    nlohmann::json out = {{"hospitals", nlohmann::json::array()},
                          {"window", {{"min", registry.window().min}, {"max", registry.window().max}}}};
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(page); ++i)
        out["hospitals"].push_back(fleet_json(rows[i], registry.window()));
    if (rows.size() > static_cast<size_t>(page)) out["nextCursor"] = fleet_cursor(rows[page - 1].hospital_id);
    return out;
}

Result<nlohmann::json> fleet_one(const HospitalRegistry& registry, const std::string& hospital_id) {
    auto r = topics::valid_hospital_id(hospital_id) ? registry.record(hospital_id) : std::nullopt;
    if (!r) return make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital with that id in the fleet");
    return fleet_json(*r, registry.window());
}

}  // namespace hisgate::controlplane
