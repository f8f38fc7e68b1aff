#include "controlplane/config_push.h"

#include "common/digest.h"
#include "common/log.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

namespace {

using json = nlohmann::json;

Error bad(const std::string& code, const std::string& message) { return make_error(ErrorClass::BadInput, code, message); }

bool is_staff(auth::Role r) { return r != auth::Role::Patient; }
bool may_write(auth::Role r) { return r == auth::Role::Operator || r == auth::Role::Admin || r == auth::Role::Service; }

// "region=south,dialect=x" -> the query; nullopt when `target` is not a selector.
std::optional<Result<FleetQuery>> selector_of(const std::string& target) {
    if (target.find('=') == std::string::npos) return std::nullopt;
    FleetQuery q;
    q.limit = static_cast<int>(kMaxPushTargets);
    size_t i = 0;
    while (i <= target.size()) {
        size_t comma = target.find(',', i);
        if (comma == std::string::npos) comma = target.size();
        std::string part = target.substr(i, comma - i);
        size_t eq = part.find('=');
        std::string key = eq == std::string::npos ? part : part.substr(0, eq);
        std::string value = eq == std::string::npos ? "" : part.substr(eq + 1);
        bool plain = value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
                     std::string::npos;
        if (value.empty() || value.size() > 64 || !plain || (key != "region" && key != "dialect" && key != "version"))
            return Result<FleetQuery>(bad("config.bad_target",
                                          "a selector is key=value[,key=value], keys region, dialect, version"));
        (key == "region" ? q.region : key == "dialect" ? q.dialect : q.version) = value;
        i = comma + 1;
    }
    return Result<FleetQuery>(q);
}

std::string canonical(const json& set) { return set.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

nlohmann::json ConfigPush::send(const std::string& hospital_id, const json& set, const std::string& mode,
                                const std::string& who, int64_t rollback_of) {
    ConfigRecord r;
    r.hospital_id = hospital_id;
    r.params = set;
    r.hash = sha256_hex(canonical(set));
    r.pushed_by = who;
    r.pushed_ms = clock_.wall_ms();
    r.mode = mode;
    r.rollback_of = rollback_of;
    auto added = store_.add(r);
    if (!added) return {{"hospitalId", hospital_id}, {"status", "failed"}, {"detail", {{"error", added.error().describe()}}}};
    r = added.value();
    log::info("config.push_sent", {{"hospital_id", hospital_id}, {"version", r.version}, {"mode", mode}, {"by", who}});
    auto answer = ask_(hospital_id, "config.apply", {{"params", set}, {"version", r.version}, {"hash", r.hash}, {"mode", mode}});
    json detail;
    if (answer) {
        r.status = answer->value("outcome", std::string("failed"));
        detail = answer.value();
        detail.erase("outcome");
        detail.erase("version");
        detail.erase("hash");
    } else {
        // It may still reach the agent (a timeout): then its config.applied event or a later
        // push's answer says what came of it; the agent's own history is the authority.
        r.status = "failed";
        detail = {{"error", {{"code", answer.error().code}, {"message", answer.error().message}}}};
    }
    r.detail = detail;
    r.updated_ms = clock_.wall_ms();
    if (auto set_status = store_.set_status(hospital_id, r.version, r.status, detail, r.updated_ms); !set_status)
        log::error("config.status_not_stored", {{"hospital_id", hospital_id}, {"error", set_status.error().describe()}});
    log::info("config.push_answered", {{"hospital_id", hospital_id}, {"version", r.version}, {"status", r.status}});
    return r.to_json();
}

Result<json> ConfigPush::push(const std::string& target, const json& params, const std::string& mode, const std::string& who) {
    if (mode != "now" && mode != "standard") return bad("config.bad_mode", "mode is \"now\" or \"standard\"");
    if (!params.is_object()) return bad("config.bad_params", "params must be a JSON object (a parameter set)");
    if (canonical(params).size() > kMaxPushedSetBytes)
        return bad("config.too_large", "a parameter set is at most " + std::to_string(kMaxPushedSetBytes) + " bytes");
    json results = json::array();
    auto selector = selector_of(target);
    if (!selector) {
        if (!topics::valid_hospital_id(target))
            return bad("config.bad_target", "the target is a hospital id or a selector such as region=south");
        if (!registry_.record(target))
            return make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital " + target + " in the fleet");
        results.push_back(send(target, params, mode, who, 0));
        return json{{"results", results}};
    }
    if (!*selector) return selector->error();
    auto hospitals = registry_.list(selector->value());
    if (!hospitals) return hospitals.error();
    for (const auto& h : hospitals.value()) {
        // The patch goes over the newest set the hospital runs.
        auto past = store_.history(h.hospital_id, 50);
        if (!past) return past.error();
        const ConfigRecord* base = nullptr;
        for (const auto& r : past.value())
            if (r.status == "applied") {
                base = &r;
                break;
            }
        if (!base) {
            results.push_back({{"hospitalId", h.hospital_id},
                               {"status", "skipped"},
                               {"detail", {{"reason", "no applied set to patch: push it a whole set first"}}}});
            continue;
        }
        json set = base->params;
        set.merge_patch(params);
        if (canonical(set).size() > kMaxPushedSetBytes) {
            results.push_back({{"hospitalId", h.hospital_id}, {"status", "skipped"}, {"detail", {{"reason", "the patched set is too large"}}}});
            continue;
        }
        results.push_back(send(h.hospital_id, set, mode, who, 0));
    }
    return json{{"results", results}, {"selector", target}};
}

Result<json> ConfigPush::rollback(const std::string& hospital_id, std::optional<int64_t> to, const std::string& who) {
    if (!topics::valid_hospital_id(hospital_id) || !registry_.record(hospital_id))
        return make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital " + hospital_id + " in the fleet");
    std::optional<ConfigRecord> chosen;
    if (to) {
        auto one = store_.get(hospital_id, *to);
        if (!one) return one.error();
        if (!*one)
            return make_error(ErrorClass::NotFound, "config.unknown_version",
                              "hospital " + hospital_id + " has no configuration version " + std::to_string(*to));
        chosen = one->value();
    } else {
        auto past = store_.history(hospital_id, 200);
        if (!past) return past.error();
        int applied = 0;
        for (const auto& r : past.value())
            if (r.status == "applied" && ++applied == 2) {
                chosen = r;
                break;
            }
        if (!chosen)
            return make_error(ErrorClass::NotFound, "config.nothing_to_roll_back",
                              "hospital " + hospital_id + " has no applied set before the one it runs");
    }
    return json{{"results", {send(hospital_id, chosen->params, "now", who, chosen->version)}}};
}

Result<json> ConfigPush::history(const std::string& hospital_id, int limit) {
    if (!topics::valid_hospital_id(hospital_id))
        return make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital with that id");
    auto past = store_.history(hospital_id, limit);
    if (!past) return past.error();
    json rows = json::array();
    for (const auto& r : past.value()) rows.push_back(r.to_json());
    return json{{"hospitalId", hospital_id}, {"history", rows}};
}

Result<json> ConfigPush::version(const std::string& hospital_id, int64_t version) {
    auto one = store_.get(hospital_id, version);
    if (!one) return one.error();
    if (!*one)
        return make_error(ErrorClass::NotFound, "config.unknown_version",
                          "hospital " + hospital_id + " has no configuration version " + std::to_string(version));
    return one->value().to_json(true);
}

void ConfigPush::take_applied(const events::AgentEvent& e) {
    const json& b = e.envelope.body;
    if (!b.is_object() || !b.contains("version") || !b["version"].is_number_integer() || !b.contains("outcome") ||
        !b["outcome"].is_string())
        return log::warn("config.bad_applied_event", {{"hospital_id", e.hospital_id}});
    int64_t version = b["version"].get<int64_t>();
    std::string outcome = b["outcome"].get<std::string>().substr(0, 32);
    json detail = b;
    for (const char* k : {"outcome", "version", "hash", "mode"}) detail.erase(k);
    if (auto r = store_.set_status(e.hospital_id, version, outcome, detail, clock_.wall_ms()); !r)
        log::warn("config.applied_not_stored", {{"hospital_id", e.hospital_id}, {"error", r.error().describe()}});
    else log::info("config.applied_event", {{"hospital_id", e.hospital_id}, {"version", version}, {"outcome", outcome}});
}

std::optional<params::FlagTarget> ConfigPush::target_of(const std::string& hospital_id) const {
    auto r = registry_.record(hospital_id);
    if (!r) return std::nullopt;
    return params::FlagTarget{r->hospital_id, r->region, r->dialect, r->version};
}

bool ConfigPush::enabled(std::string_view name, const std::string& hospital_id) const {
    auto target = target_of(hospital_id);
    if (!target) return false;
    std::lock_guard lock(flags_mu_);
    if (!flags_cache_) {
        auto read = store_.flags();
        if (!read) return false;
        flags_cache_ = std::move(read.value());
    }
    return flags_cache_->enabled(name, *target);
}

json ConfigPush::deliver_flags(const params::FlagSet& flags) {
    json delivered = json::array();
    for (const auto& h : registry_.online()) {
        auto answer = ask_(h.hospital_id, "config.flags", flags.to_json());
        if (answer) delivered.push_back({{"hospitalId", h.hospital_id}, {"enabled", answer->value("enabled", json::array())}});
        else delivered.push_back({{"hospitalId", h.hospital_id}, {"error", answer.error().code}});
    }
    return delivered;
}

Result<json> ConfigPush::set_flag(const std::string& name, json body, const std::string& who) {
    if (!body.is_object()) return bad("flags.invalid", "a flag is a JSON object");
    body["name"] = name;
    body["updatedBy"] = who;
    body["updatedMs"] = clock_.wall_ms();
    auto flag = params::FeatureFlag::from_json(body);
    if (!flag) return flag.error();
    auto all = store_.flags();
    if (!all) return all.error();
    if (!all->find(name) && all->all().size() >= params::kMaxFlags)
        return bad("flags.too_many", "at most " + std::to_string(params::kMaxFlags) + " flags");
    if (auto put = store_.put_flag(flag.value()); !put) return put.error();
    all->put(flag.value());
    {
        std::lock_guard lock(flags_mu_);
        flags_cache_ = all.value();
    }
    log::info("flags.set", {{"flag", name}, {"by", who}});
    return json{{"flag", flag->to_json()}, {"delivered", deliver_flags(all.value())}};
}

Result<json> ConfigPush::remove_flag(const std::string& name) {
    auto removed = store_.remove_flag(name);
    if (!removed) return removed.error();
    if (!removed.value()) return make_error(ErrorClass::NotFound, "flags.unknown", "no flag named " + name.substr(0, 64));
    auto all = store_.flags();
    if (!all) return all.error();
    {
        std::lock_guard lock(flags_mu_);
        flags_cache_ = all.value();
    }
    log::info("flags.removed", {{"flag", name}});
    return json{{"removed", name}, {"delivered", deliver_flags(all.value())}};
}

Result<json> ConfigPush::list_flags() {
    auto all = store_.flags();
    if (!all) return all.error();
    json on = json::object();
    for (const auto& h : registry_.online())
        if (auto t = target_of(h.hospital_id)) on[h.hospital_id] = all->enabled_for(*t);
    json out = all->to_json();
    out["enabledOnline"] = on;
    return out;
}

const std::vector<RouteTemplate>& ConfigPush::routes() {
    // "rollback" before "{version}": the first template that matches names the route.
    static const std::vector<RouteTemplate> table = {
        {"config_push", "/api/v1/config/push", "POST"},
        {"flags_list", "/api/v1/flags", "GET, HEAD"},
        {"flags_one", "/api/v1/flags/{name}", "PUT, DELETE"},
        {"config_history", "/api/v1/hospitals/{hospitalId}/config", "GET, HEAD"},
        {"config_rollback", "/api/v1/hospitals/{hospitalId}/config/rollback", "POST"},
        {"config_version", "/api/v1/hospitals/{hospitalId}/config/{version}", "GET, HEAD"},
    };
    return table;
}

std::optional<ApiRoute> ConfigPush::route_of(const std::vector<std::string>& parts) { return match_route(routes(), parts); }

Result<json> ConfigPush::handle(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                                const json& body) {
    auto forbidden = [](const std::string& why) { return make_error(ErrorClass::Rejected, "auth.forbidden", why); };
    if (!is_staff(who.role)) return forbidden("configuration is for operators and services");
    bool writes = route == "config_push" || route == "config_rollback" || route == "flags_one";
    if (writes && !may_write(who.role)) return forbidden("configuration is changed by operators, admins and services");
    if (route == "config_push") {
        auto target = body.find("target");
        if (target == body.end() || !target->is_string() || target->get_ref<const std::string&>().size() > 200)
            return bad("config.bad_target", "body.target: a hospital id or a selector such as region=south");
        auto params = body.find("params");
        if (params == body.end()) return bad("config.bad_params", "body.params: the parameter set");
        auto mode = body.find("mode");
        std::string m = mode != body.end() && mode->is_string() ? mode->get<std::string>() : "standard";
        return push(target->get<std::string>(), *params, m, who.subject);
    }
    if (route == "config_history") return history(parts[3]);
    if (route == "config_version") {
        const std::string& n = parts[5];
        if (n.empty() || n.size() > 12 || n.find_first_not_of("0123456789") != std::string::npos)
            return make_error(ErrorClass::NotFound, "config.unknown_version", "a version is a whole number");
        return version(parts[3], std::stoll(n));
    }
    if (route == "config_rollback") {
        std::optional<int64_t> to;
        if (auto t = body.find("to"); t != body.end()) {
            if (!t->is_number_integer() || t->get<int64_t>() < 1) return bad("config.bad_version", "body.to: a version number");
            to = t->get<int64_t>();
        }
        return rollback(parts[3], to, who.subject);
    }
    if (route == "flags_list") return list_flags();
    // flags_one: PUT sets (the body), DELETE removes (no body: an empty object).
    if (body.is_null()) return remove_flag(parts[3]);
    return set_flag(parts[3], body, who.subject);
}

}  // namespace hisgate::controlplane
