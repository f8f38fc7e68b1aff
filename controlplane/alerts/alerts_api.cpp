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
            {"detail", a.detail},
            {"resolvedBy", a.resolved_by.empty() ? nlohmann::json() : nlohmann::json(a.resolved_by)},
            {"note", a.note.empty() ? nlohmann::json() : nlohmann::json(a.note)}};
}

Result<nlohmann::json> resolve_alert(AlertStore& store, const std::string& id, const std::string& who,
                                     const nlohmann::json& body, int64_t now_ms) {
    constexpr size_t kMaxNote = 500;
    if (id.size() > 64) return make_error(ErrorClass::NotFound, "alert.not_found", "no such alert");
    for (const auto& [k, v] : body.items())
        if (k != "note") return make_error(ErrorClass::BadInput, "alerts.bad_note", "unknown field \"" + k.substr(0, 64) + "\": only note");
    auto note = body.find("note");
    if (note == body.end() || !note->is_string() || note->get_ref<const std::string&>().empty() ||
        note->get_ref<const std::string&>().size() > kMaxNote)
        return make_error(ErrorClass::BadInput, "alerts.bad_note",
                          "note: what was done, 1 to " + std::to_string(kMaxNote) + " characters");
    auto done = store.resolve(id, who, note->get<std::string>(), now_ms);
    if (!done) return done.error();
    return alert_json(*done);
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
