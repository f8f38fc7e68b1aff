// Bedside vitals over HTTP (issue 18 item 4), for staff tokens (viewers read; operators
// and admins acknowledge and silence):
//
//   GET  /api/v1/vitals/beds?hospital=H          every bed: ward, its monitors (online or
//                                                offline and why), the latest value of each
//                                                sign and when, and its open alarms
//   GET  /api/v1/vitals/beds/{bed}/history?hospital=H&name=heart_rate[&resolution=raw|minute|hour]
//        [&from=ms&to=ms&limit=n]                one sign of one bed, oldest first
//   GET  /api/v1/vitals/beds/{bed}/observations?hospital=H[&from=ms&to=ms&limit=n]
//                                                the bed's samples as a FHIR R4 searchset Bundle of
//                                                vital-signs Observations (fhir_observation.h)
//   GET  /api/v1/vitals/alarms?hospital=H[&open=true]   newest first
//   POST /api/v1/vitals/alarms/{id}/acknowledge  audited (who, from where, when)
//   POST /api/v1/vitals/alarms/{id}/silence      {"seconds": 1..3600} audited
//   GET  /api/v1/vitals/audit?hospital=H         what staff and escalation did, newest first
//   GET  /api/v1/vitals/feed?hospital=H[&ward=W][&bed=B]   Server-Sent Events: vitals,
//        alarm, monitor (controlplane/vitals/ward_feed.h); a comment line every 10 s keeps
//        proxies from closing it
//
// Query parameters are read within bounds (common/query_params.h): an unknown or repeated
// one, or a value out of shape, is 400 vitals.bad_query naming it.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <optional>
#include <string>
#include <vector>

#include "auth/access_token.h"
#include "controlplane/api_route.h"
#include "common/clock.h"
#include "controlplane/vitals/monitor_board.h"
#include "controlplane/vitals/vitals_intake.h"
#include "controlplane/vitals/vitals_store.h"
#include "controlplane/vitals/ward_feed.h"

namespace hisgate::controlplane::vitals {

class VitalsApi {
public:
    VitalsApi(VitalsStore& store, MonitorBoard& board, WardFeed& feed, VitalsIntake& intake, Clock& clock)
        : store_(store), board_(board), feed_(feed), intake_(intake), clock_(clock) {}

    using Route = ApiRoute;
    // The route when `parts` (the path's segments) is one of these routes.
    static std::optional<Route> route_of(const std::vector<std::string>& parts);
    // The routes route_of matches (controlplane/api_route.h).
    static const std::vector<RouteTemplate>& routes();
    void handle(const std::string& route, const auth::AccessToken& who, const std::vector<std::string>& parts,
                Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

private:
    void beds(const std::string& hospital_id, Poco::Net::HTTPServerResponse& res);
    void feed(const std::string& hospital_id, const std::string& ward, const std::string& bed,
              Poco::Net::HTTPServerResponse& res);
    void act(const auth::AccessToken& who, const std::string& id_text, AlarmAction action,
             Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

    VitalsStore& store_;
    MonitorBoard& board_;
    WardFeed& feed_;
    VitalsIntake& intake_;
    Clock& clock_;
};

}  // namespace hisgate::controlplane::vitals
