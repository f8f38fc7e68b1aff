#include "controlplane/rollout/rollout_api.h"

#include <Poco/URI.h>

#include "common/http_server.h"
#include "common/query_params.h"
#include "controlplane/api_error.h"
#include "controlplane/json_body.h"

namespace hisgate::controlplane::rollout {

namespace {
bool may_roll_out(auth::Role r) { return r == auth::Role::Operator || r == auth::Role::Admin; }
}  // namespace

const std::vector<RouteTemplate>& RolloutApi::routes() {
    static const std::vector<RouteTemplate> table = {
        {"rollouts", "/api/v1/rollouts", "GET, HEAD, POST"},
        {"rollout", "/api/v1/rollouts/{rolloutId}", "GET, HEAD"},
        {"rollout_action", "/api/v1/rollouts/{rolloutId}/pause", "POST"},
        {"rollout_action", "/api/v1/rollouts/{rolloutId}/resume", "POST"},
        {"rollout_action", "/api/v1/rollouts/{rolloutId}/abort", "POST"},
    };
    return table;
}

std::optional<RolloutApi::Route> RolloutApi::route_of(const std::vector<std::string>& parts) {
    return match_route(routes(), parts);
}

void RolloutApi::handle(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                        Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    const bool writing = req.getMethod() == "POST";
    if (who.role == auth::Role::Patient || (writing && !may_roll_out(who.role)))
        return send_error_json(res, 403, make_error(ErrorClass::Rejected, "auth.forbidden",
                                                    writing ? "rollouts are started and changed by operators and admins"
                                                            : "rollouts are for operators and services"));
    const std::string by = std::string(auth::to_string(who.role)) + ":" + who.subject;
    if (route == "rollouts" && writing) {
        auto body = read_json_object(req, "the rollout");
        if (!body) return send_api_error(res, body.error());
        auto spec = spec_from_json(*body);
        if (!spec) return send_api_error(res, spec.error());
        auto started = engine_.start(*spec, by);
        if (!started) return send_api_error(res, started.error());
        return send_json(res, 201, started->to_json(false));
    }
    if (route == "rollouts") {
        auto given = read_query(Poco::URI(req.getURI()).getRawQuery(), "rollout.bad_query", 256, {"limit"});
        if (!given) return send_api_error(res, given.error());
        auto limit = query_int(*given, "rollout.bad_query", "limit", 1, kMaxRolloutPage, 20);
        if (!limit) return send_api_error(res, limit.error());
        auto list = engine_.list(*limit);
        if (!list) return send_api_error(res, list.error());
        nlohmann::json out = {{"rollouts", nlohmann::json::array()}};
        for (const auto& r : *list) out["rollouts"].push_back(r.to_json(false));
        return send_json(res, 200, out);
    }
    if (parts[3].size() > 64) return send_api_error(res, make_error(ErrorClass::NotFound, "rollout.not_found", "no such rollout"));
    Result<Rollout> r = route == "rollout"       ? engine_.get(parts[3])
                        : parts[4] == "pause"    ? engine_.pause(parts[3], by)
                        : parts[4] == "resume"   ? engine_.resume(parts[3], by)
                                                 : engine_.abort(parts[3], by);
    if (!r) return send_api_error(res, r.error());
    send_json(res, 200, r->to_json(route == "rollout"));
}

}  // namespace hisgate::controlplane::rollout
