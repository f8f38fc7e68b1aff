#include "controlplane/alerts/alerts_api.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <chrono>
#include <map>

#include "common/utc_time.h"
#include "transport/topics.h"

namespace hisgate::controlplane::alerts {

namespace {
constexpr size_t kMaxQueryBytes = 1024;
constexpr int kDefaultLimit = 500;

Error bad_query(const std::string& name, const std::string& expected, const std::string& found) {
    std::string shown = found.size() > 64 ? found.substr(0, 64) + "..." : found;
    return make_error(ErrorClass::BadInput, "alerts.bad_query",
                      "query parameter " + name + ": expected " + expected + ", found \"" + shown + "\"");
}

std::string iso_ms(int64_t ms) {
    return iso_utc(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}
}  // namespace

nlohmann::json alert_json(const Alert& a) {
    return {{"id", a.id},
            {"rule", a.rule},
            {"hospitalId", a.hospital_id},
            {"subject", a.subject},
            {"state", to_string(a.state)},
            {"startedAt", iso_ms(a.started_ms)},
            {"resolvedAt", a.state == AlertState::Resolved ? nlohmann::json(iso_ms(a.resolved_ms)) : nlohmann::json()},
            {"owner", a.owner},
            {"detail", a.detail}};
}

Result<nlohmann::json> alerts_page(AlertStore& store, const std::string& raw_query) {
    if (raw_query.size() > kMaxQueryBytes)
        return bad_query("(query)", "at most " + std::to_string(kMaxQueryBytes) + " bytes",
                         std::to_string(raw_query.size()) + " bytes");
    Poco::URI::QueryParameters params;
    try {
        Poco::URI uri;
        uri.setRawQuery(raw_query);
        params = uri.getQueryParameters();
    } catch (const Poco::Exception&) {
        return bad_query("(query)", "name=value pairs joined by &, percent-encoded", raw_query);
    }
    std::map<std::string, std::string> given;
    for (const auto& [name, value] : params) {
        if (name != "state" && name != "hospital" && name != "limit")
            return bad_query(name, "one of state, hospital, limit", name);
        if (!given.emplace(name, value).second) return bad_query(name, "at most once", "repeated");
    }
    AlertQuery q;
    q.limit = kDefaultLimit;
    if (auto it = given.find("state"); it != given.end()) {
        if (it->second == "firing") q.state = AlertState::Firing;
        else if (it->second == "resolved") q.state = AlertState::Resolved;
        else return bad_query("state", "firing or resolved", it->second);
    }
    if (auto it = given.find("hospital"); it != given.end()) {
        if (!topics::valid_hospital_id(it->second))
            return bad_query("hospital", "a hospital id: 1 to 64 characters of A-Z a-z 0-9 _ -", it->second);
        q.hospital_id = it->second;
    }
    if (auto it = given.find("limit"); it != given.end()) {
        const std::string& v = it->second;
        bool digits = !v.empty() && v.size() <= 4 && v.find_first_not_of("0123456789") == std::string::npos;
        int n = digits ? std::stoi(v) : 0;
        if (n < 1 || n > kMaxAlertPage) return bad_query("limit", "an integer from 1 to " + std::to_string(kMaxAlertPage), v);
        q.limit = n;
    }
    auto found = store.list(q);
    if (!found) return found.error();
    nlohmann::json out = {{"alerts", nlohmann::json::array()}};
    for (const auto& a : *found) out["alerts"].push_back(alert_json(a));
    return out;
}

}  // namespace hisgate::controlplane::alerts
