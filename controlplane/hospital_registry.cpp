#include "controlplane/hospital_registry.h"

#include <algorithm>

#include "common/check.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/utc_time.h"
#include "release/install_report.h"
#include "transport/envelope.h"
#include "transport/limits.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

namespace {
metrics::Counter& rejected(const char* kind) {
    return metrics::global().counter("hisgate_rejected_messages_total", "Messages rejected as malformed or misaddressed",
                                     {{"kind", kind}});
}

Error reject(const IncomingMessage& msg, Error e) {
    log::warn("registry.state_rejected", {{"topic", msg.topic}, {"error", e.describe()}});
    rejected("state").inc();
    return e;
}

// A state message the liveness rule sets aside: logged and counted by `kind`.
Error set_aside(const char* kind, const char* event, const std::string& hospital, int64_t session, int64_t seq,
                const FleetRecord* held, Error e) {
    log::warn(event, {{"hospital_id", hospital},
                      {"session", session},
                      {"seq", seq},
                      {"held_session", held ? held->session : -1},
                      {"held_seq", held ? held->seq : -1},
                      {"error", e.describe()}});
    rejected(kind).inc();
    return e;
}

// An optional non-negative integer field of the body; nullopt when absent, an error when
// present and not one.
Result<int64_t> counter_field(const nlohmann::json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end()) return int64_t{0};
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > (int64_t{1} << 53))
        return make_error(ErrorClass::BadInput, "state.invalid", std::string("body.") + name +
                                                                   " must be an integer from 0 to 2^53");
    return it->get<int64_t>();
}

std::string text_field(const nlohmann::json& body, const char* name) {
    auto it = body.find(name);
    return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

// Fills what the body says about the agent into `r` (its liveness fields are the caller's).
void describe(FleetRecord& r, const nlohmann::json& body) {
    if (auto n = text_field(body, "name"); !n.empty()) r.name = n;
    if (auto g = text_field(body, "region"); !g.empty()) r.region = g;
    if (auto v = text_field(body, "version"); !v.empty()) r.version = v;
    if (auto a = text_field(body, "adapter"); !a.empty()) r.dialect = a;
    if (auto h = text_field(body, "paramsHash"); !h.empty()) r.params_hash = h;
    if (auto p = body.find("protocol"); p != body.end() && p->is_object()) {
        auto lo = p->find("min"), hi = p->find("max");
        if (lo != p->end() && hi != p->end() && lo->is_number_integer() && hi->is_number_integer()) {
            r.protocol_min = static_cast<int>(std::clamp<int64_t>(lo->get<int64_t>(), 0, 1000000));
            r.protocol_max = static_cast<int>(std::clamp<int64_t>(hi->get<int64_t>(), 0, 1000000));
        }
    }
    r.body = body;
    // lastInstall (how the updater's last install ended) is kept only as the registry read
    // it: all of it within bounds, or none of it (the rest of the state still applies).
    if (auto li = r.body.find("lastInstall"); li != r.body.end()) {
        auto report = release::read_install_report(*li);
        if (report) {
            *li = report->to_json();
        } else {
            log::warn("registry.last_install_ignored", {{"hospital_id", r.hospital_id}, {"error", report.error().describe()}});
            rejected("last_install").inc();
            r.body.erase(li);
        }
    }
}
}  // namespace

HospitalRegistry::HospitalRegistry()
    : own_store_([] {
          auto s = open_sqlite_fleet_store(":memory:");
          HISGATE_CHECK(s.ok(), "error", s.ok() ? "" : s.error().describe());
          return std::move(s.value());
      }()),
      store_(own_store_.get()),
      clock_(SystemClock::instance()),
      window_{Envelope::kMinSchema, Envelope::kMaxSchema} {}

HospitalRegistry::HospitalRegistry(FleetStore& store, Clock& clock, ProtocolWindow window)
    : store_(&store), clock_(clock), window_(window) {}

Result<std::unique_ptr<HospitalRegistry>> HospitalRegistry::open(FleetStore& store, Clock& clock, ProtocolWindow window) {
    auto known = store.all();
    if (!known) return known.error();
    std::unique_ptr<HospitalRegistry> r(new HospitalRegistry(store, clock, window));
    for (auto& rec : known.value()) r->hospitals_[rec.hospital_id] = std::move(rec);
    log::info("registry.loaded", {{"hospitals", r->hospitals_.size()}, {"window", window.describe()}});
    return r;
}

Result<void> HospitalRegistry::apply_state(const IncomingMessage& msg) {
    auto topic_hospital = topics::hospital_of(msg.topic);
    if (!topic_hospital)
        return reject(msg, make_error(ErrorClass::BadInput, "state.bad_topic", "not a hospital state topic"));
    const std::string& hid = *topic_hospital;
    const int64_t now = clock_.wall_ms();
    std::optional<FleetRecord> refused;  // an incompatible agent that just came online
    bool back = false;                   // a compatible agent that just came (back) online
    {
        std::lock_guard lock(mu_);
        auto known = hospitals_.find(hid);
        if (msg.payload.empty()) {
            // A cleared retained state (the hospital decommissioned, or an operator reset):
            // the hospital stays in the fleet, offline.
            if (known == hospitals_.end() || !known->second.online) return {};
            FleetRecord next = known->second;
            next.online = false;
            next.body["online"] = false;
            next.since_ms = now;
            next.updated_ms = now;
            if (auto put = store_->put(next); !put) return put.error();
            known->second = std::move(next);
            log::info("registry.hospital_offline", {{"hospital_id", hid}, {"why", "state cleared"}});
            return {};
        }
        auto env = Envelope::parse(msg.payload, limits::kStateBytes);
        if (!env) return reject(msg, env.error());
        if (env->hospital_id != hid)
            return reject(msg, make_error(ErrorClass::BadInput, "state.foreign_hospital",
                                          "state for hospital " + env->hospital_id + " published on the topic of " + hid));
        if (!env->body.is_object())
            return reject(msg, make_error(ErrorClass::BadInput, "state.invalid", "body must be an object"));
        auto online_field = env->body.find("online");
        if (online_field == env->body.end() || !online_field->is_boolean())
            return reject(msg, make_error(ErrorClass::BadInput, "state.invalid", "body.online must be true or false"));
        if (auto too_long = limits::oversized_field(env->body, "body", "state.too_long")) return reject(msg, *too_long);
        auto session = counter_field(env->body, "session");
        if (!session) return reject(msg, session.error());
        auto seq = counter_field(env->body, "seq");
        if (!seq) return reject(msg, seq.error());
        const bool online = online_field->get<bool>();
        const bool heartbeat = online && env->body.contains("heartbeatAt");
        const FleetRecord* held = known == hospitals_.end() ? nullptr : &known->second;

        // The broker hands every subscriber the retained state again (each reconnect): the
        // same message as the one held changes nothing and is no news.
        if (held && msg.retained && *session == held->session && *seq == held->seq && online == held->online) return {};
        if (held && *session < held->session)
            return set_aside("state_stale", "registry.stale_state", hid, *session, *seq, held,
                             make_error(ErrorClass::Rejected, "state.stale_session",
                                        "state of session " + std::to_string(*session) + " of hospital " + hid +
                                            ", older than the session " + std::to_string(held->session) + " held"));
        if (online) {
            const bool same_session = held && *session == held->session;
            if (same_session && !held->online)
                return set_aside("state_stale", "registry.stale_state", hid, *session, *seq, held,
                                 make_error(ErrorClass::Rejected, "state.session_ended",
                                            "online state of session " + std::to_string(*session) + " of hospital " + hid +
                                                ", which its last will already ended"));
            if (same_session && *seq <= held->seq)
                return set_aside("state_stale", "registry.stale_state", hid, *session, *seq, held,
                                 make_error(ErrorClass::Rejected, "state.stale_seq",
                                            "state " + std::to_string(*seq) + " of hospital " + hid +
                                                " repeated or out of order (held: " + std::to_string(held->seq) + ")"));
            if (heartbeat && !same_session && !msg.retained)
                return set_aside("heartbeat_unknown", "registry.heartbeat_without_birth", hid, *session, *seq, held,
                                 make_error(ErrorClass::Rejected, "state.no_birth",
                                            "heartbeat of session " + std::to_string(*session) + " of hospital " + hid +
                                                " with no birth on record for that session"));
        }

        FleetRecord next = held ? *held : FleetRecord{};
        const bool new_hospital = !held;
        const bool was_online = held && held->online;
        const bool new_session = !held || *session > held->session;
        next.hospital_id = hid;
        if (new_hospital) next.first_seen_ms = now;
        if (new_hospital || was_online != online) next.since_ms = now;
        next.online = online;
        next.session = *session;
        next.seq = *seq;
        next.updated_ms = now;
        if (heartbeat) next.last_heartbeat_ms = now;
        // A will repeats the birth's description; keep what the online states said, and
        // only mark it offline.
        if (online || new_hospital) describe(next, env->body);
        else next.body["online"] = false;
        if (auto put = store_->put(next); !put) {
            log::error("registry.store_failed", {{"hospital_id", hid}, {"error", put.error().describe()}});
            return put.error();
        }
        if (was_online != online || new_hospital)
            log::info(online ? "registry.hospital_online" : "registry.hospital_offline",
                      {{"hospital_id", hid}, {"session", *session}});
        if (online && new_session && !next.compatible(window_)) {
            log::error("registry.agent_incompatible",
                       {{"hospital_id", hid},
                        {"agent_protocol", "[" + std::to_string(next.protocol_min) + "," + std::to_string(next.protocol_max) + "]"},
                        {"controlplane_protocol", window_.describe()},
                        {"version", next.version}});
            metrics::global()
                .counter("hisgate_controlplane_incompatible_agents_total",
                         "Agent sessions refused: their protocol range is outside the control plane's window")
                .inc();
            refused = next;
        }
        back = online && (new_session || !was_online) && !refused;
        hospitals_[hid] = std::move(next);
    }
    if (refused && on_incompatible_) on_incompatible_(*refused);
    if (back && on_back_) on_back_(hid);
    return {};
}

HospitalState HospitalRegistry::to_state(const FleetRecord& r) const {
    HospitalState s;
    s.hospital_id = r.hospital_id;
    s.online = r.online;
    s.compatible = r.compatible(window_);
    s.protocol_min = r.protocol_min;
    s.protocol_max = r.protocol_max;
    s.birth = r.body;
    s.updated_at = iso_utc_ms(r.updated_ms);
    return s;
}

std::optional<HospitalState> HospitalRegistry::find(const std::string& hospital_id) const {
    std::lock_guard lock(mu_);
    auto it = hospitals_.find(hospital_id);
    if (it == hospitals_.end()) return std::nullopt;
    return to_state(it->second);
}

std::vector<HospitalState> HospitalRegistry::online() const {
    std::lock_guard lock(mu_);
    std::vector<HospitalState> out;
    for (const auto& [_, h] : hospitals_)
        if (h.online) out.push_back(to_state(h));
    return out;
}

std::optional<FleetRecord> HospitalRegistry::record(const std::string& hospital_id) const {
    std::lock_guard lock(mu_);
    auto it = hospitals_.find(hospital_id);
    if (it == hospitals_.end()) return std::nullopt;
    return it->second;
}

Result<std::vector<FleetRecord>> HospitalRegistry::list(FleetQuery q) const {
    q.window = window_;
    return store_->list(q);
}

}  // namespace hisgate::controlplane
