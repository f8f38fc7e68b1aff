// The rollouts' HTTP routes (issue 16 item 5; docs/rollouts.md):
//
//   POST /api/v1/rollouts                        start one: {"release", "waves", "maxFailure",
//                                                "select", "waveTimeout", "canaries",
//                                                "overrideParams", "requireProbes"} -> 201 the rollout
//   GET  /api/v1/rollouts?limit=N                the newest first, summaries
//   GET  /api/v1/rollouts/{id}                   one, with every target
//   POST /api/v1/rollouts/{id}/pause|resume|abort
//
// Reading is for staff and service tokens; starting and changing a rollout needs an
// operator or admin token (403 otherwise): a release going to hospitals is a person's
// decision, named in the rollout (createdBy) and in the log.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <optional>
#include <string>
#include <vector>

#include "auth/access_token.h"
#include "controlplane/api_route.h"
#include "controlplane/rollout/rollout_engine.h"

namespace hisgate::controlplane::rollout {

class RolloutApi {
public:
    explicit RolloutApi(RolloutEngine& engine) : engine_(engine) {}

    using Route = ApiRoute;
    static std::optional<Route> route_of(const std::vector<std::string>& parts);
    // The routes route_of matches (controlplane/api_route.h).
    static const std::vector<RouteTemplate>& routes();
    void handle(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

private:
    RolloutEngine& engine_;
};

}  // namespace hisgate::controlplane::rollout
