#include "controlplane/alerts/alerts_api.h"

#include <chrono>

#include "common/utc_time.h"
#include "common/query_params.h"
#include "transport/topics.h"

namespace hisgate::controlplane::alerts {

namespace {
constexpr char kBadQuery[] = "alerts.bad_query";
constexpr size_t kMaxQueryBytes = 1024;
constexpr int kDefaultLimit = 500;

}  // namespace

nlohmann::json alert_json(const Alert& a) {
    return {{"id", a.id},
            {"rule", a.rule},
            {"hospitalId", a.hospital_id},
            {"subject", a.subject},
            {"state", to_string(a.state)},
            {"startedAt", iso_utc_ms(a.started_ms)},
            {"resolvedAt", a.state == AlertState::Resolved ? nlohmann::json(iso_utc_ms(a.resolved_ms)) : nlohmann::json()},
            {"owner", a.owner},
            {"detail", a.detail}};
}

Result<nlohmann::json> alerts_page(AlertStore& store, const std::string& raw_query) {
    auto read = read_query(raw_query, kBadQuery, kMaxQueryBytes, {"state", "hospital", "limit"});
    if (!read) return read.error();
    const auto& given = read.value();
    AlertQuery q;
    q.limit = kDefaultLimit;
    if (auto it = given.find("state"); it != given.end()) {
        if (it->second == "firing") q.state = AlertState::Firing;
        else if (it->second == "resolved") q.state = AlertState::Resolved;
        else return bad_query(kBadQuery, "state", "firing or resolved", it->second);
    }
    if (auto it = given.find("hospital"); it != given.end()) {
        if (!topics::valid_hospital_id(it->second))
            return bad_query(kBadQuery, "hospital", "a hospital id: 1 to 64 characters of A-Z a-z 0-9 _ -", it->second);
        q.hospital_id = it->second;
    }
    auto limit = query_int(given, kBadQuery, "limit", 1, kMaxAlertPage, q.limit);
    if (!limit) return limit.error();
    q.limit = *limit;
    auto found = store.list(q);
    if (!found) return found.error();
    nlohmann::json out = {{"alerts", nlohmann::json::array()}};
    for (const auto& a : *found) out["alerts"].push_back(alert_json(a));
    return out;
}

}  // namespace hisgate::controlplane::alerts
