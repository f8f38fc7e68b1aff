#include "controlplane/vitals/vitals_api.h"

#include <Poco/URI.h>

#include <map>

#include "common/http_server.h"
#include "common/log.h"
#include "common/query_params.h"
#include "controlplane/api_error.h"
#include "controlplane/json_body.h"
#include "controlplane/vitals/fhir_observation.h"
#include "controlplane/vitals/vitals_json.h"
#include "transport/topics.h"

namespace hisgate::controlplane::vitals {

namespace {
constexpr const char* kBadQuery = "vitals.bad_query";
constexpr std::size_t kMaxQueryBytes = 512;
constexpr auto kFeedKeepAlive = std::chrono::seconds(10);


Error forbidden(const std::string& why) { return make_error(ErrorClass::Rejected, "auth.forbidden", why); }

// A bed, ward or sign name from the query or the path: what the agents send (vitals_batch.h).
Result<std::string> name_param(const std::map<std::string, std::string>& q, const char* name, bool required) {
    auto it = q.find(name);
    if (it == q.end() || it->second.empty()) {
        if (required) return bad_query(kBadQuery, name, "a value", "nothing");
        return std::string();
    }
    if (it->second.size() > kMaxNameBytes) return bad_query(kBadQuery, name, "at most 64 bytes", it->second);
    for (unsigned char c : it->second)
        if (c < 0x20 || c == 0x7f) return bad_query(kBadQuery, name, "printable text", it->second);
    return it->second;
}

Result<std::string> hospital_param(const std::map<std::string, std::string>& q) {
    auto it = q.find("hospital");
    if (it == q.end()) return bad_query(kBadQuery, "hospital", "a hospital id", "nothing");
    if (!topics::valid_hospital_id(it->second)) return bad_query(kBadQuery, "hospital", "a hospital id", it->second);
    return it->second;
}

Result<int64_t> ms_param(const std::map<std::string, std::string>& q, const char* name, int64_t fallback) {
    auto it = q.find(name);
    if (it == q.end()) return fallback;
    const auto& v = it->second;
    if (v.empty() || v.size() > 15 || v.find_first_not_of("0123456789") != std::string::npos)
        return bad_query(kBadQuery, name, "milliseconds since 1970 (up to 15 digits)", v);
    return std::stoll(v);
}
}  // namespace

const std::vector<RouteTemplate>& VitalsApi::routes() {
    static const std::vector<RouteTemplate> table = {
        {"vitals_beds", "/api/v1/vitals/beds", "GET, HEAD"},
        {"vitals_history", "/api/v1/vitals/beds/{bedId}/history", "GET, HEAD"},
        {"vitals_observations", "/api/v1/vitals/beds/{bedId}/observations", "GET, HEAD"},
        {"vitals_alarms", "/api/v1/vitals/alarms", "GET, HEAD"},
        {"vitals_acknowledge", "/api/v1/vitals/alarms/{alarmId}/acknowledge", "POST"},
        {"vitals_silence", "/api/v1/vitals/alarms/{alarmId}/silence", "POST"},
        {"vitals_audit", "/api/v1/vitals/audit", "GET, HEAD"},
        {"vitals_feed", "/api/v1/vitals/feed", "GET"},
    };
    return table;
}

std::optional<VitalsApi::Route> VitalsApi::route_of(const std::vector<std::string>& parts) {
    return match_route(routes(), parts);
}

void VitalsApi::handle(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                       Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    if (who.role == auth::Role::Patient) return send_api_error(res, forbidden("bedside vitals are for ward staff"));
    if (route == "vitals_acknowledge") return act(who, parts[4], AlarmAction::Acknowledge, req, res);
    if (route == "vitals_silence") return act(who, parts[4], AlarmAction::Silence, req, res);

    std::vector<const char*> names = {"hospital"};
    if (route == "vitals_history") names = {"hospital", "name", "resolution", "from", "to", "limit"};
    if (route == "vitals_observations") names = {"hospital", "from", "to", "limit"};
    if (route == "vitals_alarms") names = {"hospital", "open", "limit"};
    if (route == "vitals_audit") names = {"hospital", "limit"};
    if (route == "vitals_feed") names = {"hospital", "ward", "bed"};
    auto q = read_query(Poco::URI(req.getURI()).getRawQuery(), kBadQuery, kMaxQueryBytes, names);
    if (!q) return send_api_error(res, q.error());
    auto hospital = hospital_param(*q);
    if (!hospital) return send_api_error(res, hospital.error());

    if (route == "vitals_beds") return beds(*hospital, res);
    if (route == "vitals_feed") {
        auto ward = name_param(*q, "ward", false);
        if (!ward) return send_api_error(res, ward.error());
        auto bed = name_param(*q, "bed", false);
        if (!bed) return send_api_error(res, bed.error());
        return feed(*hospital, *ward, *bed, res);
    }
    auto limit = query_int(*q, kBadQuery, "limit", 1, 10000, route == "vitals_history" ? 3600 : 100);
    if (!limit) return send_api_error(res, limit.error());
    const int64_t now = clock_.wall_ms();
    auto to = ms_param(*q, "to", now + 1);
    if (!to) return send_api_error(res, to.error());
    auto from = ms_param(*q, "from", *to - 3600000);
    if (!from) return send_api_error(res, from.error());
    const std::string bed = parts.size() > 4 ? parts[4] : "";
    if ((route == "vitals_history" || route == "vitals_observations") && (bed.empty() || bed.size() > kMaxNameBytes))
        return send_api_error(res, make_error(ErrorClass::BadInput, "vitals.bad_bed", "a bed is 1..64 bytes"));
    if (route == "vitals_observations") {
        auto samples = store_.samples(*hospital, bed, *from, *to, *limit);
        if (!samples) return send_api_error(res, samples.error());
        return send_text(res, 200, "application/fhir+json",
                         searchset(observations_of(*hospital, bed, *samples))
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    if (route == "vitals_history") {
        auto name = name_param(*q, "name", true);
        if (!name) return send_api_error(res, name.error());
        Resolution resolution = Resolution::Raw;
        if (auto r = q->find("resolution"); r != q->end()) {
            if (r->second == "minute") resolution = Resolution::Minute;
            else if (r->second == "hour") resolution = Resolution::Hour;
            else if (r->second != "raw") return send_api_error(res, bad_query(kBadQuery, "resolution", "raw, minute or hour", r->second));
        }
        auto points = store_.history(*hospital, bed, *name, resolution, *from, *to, *limit);
        if (!points) return send_api_error(res, points.error());
        nlohmann::json list = nlohmann::json::array();
        for (const auto& p : *points) {
            nlohmann::json j = {{"at", p.at_ms}, {"value", p.value}};
            if (resolution != Resolution::Raw) j["min"] = p.min, j["max"] = p.max, j["count"] = p.count;
            list.push_back(std::move(j));
        }
        return send_json(res, 200, {{"hospitalId", *hospital}, {"bed", bed}, {"name", *name}, {"points", list}});
    }
    if (route == "vitals_alarms") {
        bool open_only = false;
        if (auto o = q->find("open"); o != q->end()) {
            if (o->second != "true" && o->second != "false")
                return send_api_error(res, bad_query(kBadQuery, "open", "true or false", o->second));
            open_only = o->second == "true";
        }
        auto list = store_.alarms(*hospital, open_only, *limit);
        if (!list) return send_api_error(res, list.error());
        nlohmann::json out = nlohmann::json::array();
        for (const auto& a : *list) out.push_back(alarm_json(a));
        return send_json(res, 200, {{"hospitalId", *hospital}, {"alarms", out}});
    }
    if (route == "vitals_audit") {
        auto entries = store_.audit(*hospital, *limit);
        if (!entries) return send_api_error(res, entries.error());
        nlohmann::json out = nlohmann::json::array();
        for (const auto& e : *entries)
            out.push_back({{"id", e.id}, {"alarmId", e.alarm_id}, {"action", e.action}, {"who", e.who},
                           {"from", e.from}, {"at", e.at_ms}, {"detail", e.detail}});
        return send_json(res, 200, {{"hospitalId", *hospital}, {"audit", out}});
    }
}

void VitalsApi::beds(const std::string& hospital_id, Poco::Net::HTTPServerResponse& res) {
    auto latest = store_.latest(hospital_id);
    if (!latest) return send_api_error(res, latest.error());
    auto open = store_.alarms(hospital_id, true, 10000);
    if (!open) return send_api_error(res, open.error());
    // Every bed a monitor reports or a value names, by bed.
    std::map<std::string, nlohmann::json> beds;
    auto bed_entry = [&](const std::string& bed) -> nlohmann::json& {
        auto& b = beds[bed];
        if (b.is_null())
            b = {{"bed", bed}, {"ward", ""}, {"monitors", nlohmann::json::array()}, {"online", false},
                 {"values", nlohmann::json::array()}, {"lastAt", nullptr}, {"alarms", nlohmann::json::array()}};
        return b;
    };
    for (const auto& m : board_.monitors(hospital_id)) {
        if (m.report.bed.empty()) continue;
        auto& b = bed_entry(m.report.bed);
        b["monitors"].push_back(monitor_json(m));
        if (!m.report.ward.empty()) b["ward"] = m.report.ward;
        if (m.online) b["online"] = true;
    }
    for (const auto& bl : *latest) {
        auto& b = bed_entry(bl.bed);
        int64_t last = 0;
        for (const auto& v : bl.values) {
            b["values"].push_back(latest_json(v));
            last = std::max(last, v.observed_ms);
        }
        b["lastAt"] = last;
    }
    for (const auto& a : *open) bed_entry(a.bed)["alarms"].push_back(alarm_json(a));
    nlohmann::json list = nlohmann::json::array();
    for (auto& [bed, b] : beds) list.push_back(std::move(b));
    send_json(res, 200, {{"hospitalId", hospital_id}, {"at", clock_.wall_ms()}, {"beds", list}});
}

void VitalsApi::feed(const std::string& hospital_id, const std::string& ward, const std::string& bed,
                     Poco::Net::HTTPServerResponse& res) {
    auto sub = feed_.subscribe({hospital_id, ward, bed});
    if (!sub) {
        res.set("Retry-After", "5");
        return send_json(res, 503, error_body(make_error(ErrorClass::Unavailable, "vitals.feed_full",
                                                          "the ward feed has as many listeners as it serves; try again")));
    }
    res.setContentType("text/event-stream");
    res.set("Cache-Control", "no-cache");
    res.setChunkedTransferEncoding(true);
    auto& out = res.send();
    // First the state as of now: each monitor, so a screen starts complete.
    for (const auto& m : board_.monitors(hospital_id)) {
        FeedEvent e{hospital_id, m.report.ward, m.report.bed, "monitor", monitor_json(m).dump()};
        if (FeedFilter{hospital_id, ward, bed}.matches(e)) out << "event: monitor\ndata: " << e.data << "\n\n";
    }
    out << ": ready\n\n";
    out.flush();
    while (out.good()) {
        auto events = sub->next(kFeedKeepAlive);
        if (!events) break;
        if (events->empty()) out << ": keep-alive\n\n";
        for (const auto& e : *events) out << "event: " << e.type << "\ndata: " << e.data << "\n\n";
        out.flush();
    }
    feed_.unsubscribe(sub);
}

void VitalsApi::act(const auth::AccessToken& who, const std::string& id_text, AlarmAction action,
                    Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    if (who.role != auth::Role::Operator && who.role != auth::Role::Admin)
        return send_api_error(res, forbidden("acknowledging or silencing an alarm needs an operator or admin token"));
    if (id_text.empty() || id_text.size() > 15 || id_text.find_first_not_of("0123456789") != std::string::npos)
        return send_api_error(res, make_error(ErrorClass::BadInput, "vitals.bad_alarm_id", "an alarm id is a number"));
    int64_t silence_ms = 0;
    if (action == AlarmAction::Silence) {
        auto body = read_json_object(req, "the silence");
        if (!body) return send_api_error(res, body.error());
        auto seconds = body->find("seconds");
        if (seconds == body->end() || !seconds->is_number_integer() || seconds->get<int64_t>() < 1 ||
            seconds->get<int64_t>() > 3600)
            return send_api_error(res, make_error(ErrorClass::BadInput, "vitals.bad_silence",
                                                       "seconds: expected an integer from 1 to 3600"));
        silence_ms = seconds->get<int64_t>() * 1000;
    }
    const std::string from = req.clientAddress().host().toString();
    auto done = store_.act(std::stoll(id_text), action, who.subject, from, silence_ms, clock_.wall_ms());
    if (!done) return send_api_error(res, done.error());
    const char* change = action == AlarmAction::Acknowledge ? "acknowledged" : "silenced";
    log::info("audit.vitals_alarm", {{"who", who.subject}, {"action", change}, {"alarm_id", done->id},
                                     {"hospital_id", done->hospital_id}, {"from", from}});
    intake_.announce_alarm(*done, change);
    send_json(res, 200, alarm_json(*done));
}

}  // namespace hisgate::controlplane::vitals
