// The health board over HTTP (issue 13 item 5), for staff and service tokens (the Api
// checks the role):
//
//   GET /api/v1/health/paths[?hospital=H]
//       {"paths": [{"hospitalId", "path", "lastOutcome", "lastAt", "lastChange",
//                   "availability": {"1h": share|null, "24h": share|null},
//                   "probes": {"1h": n, "24h": n},
//                   "lastFailure": {"at", "reason"} | null}, ...]}
//       by hospital and path, from the agents' probe.result events (path_health_store.h)
//
// An unknown or repeated parameter, or a hospital id out of shape, is 400
// health.bad_query naming the parameter, what it expects and what came.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "controlplane/health/path_health_store.h"

namespace hisgate::controlplane::health {

Result<nlohmann::json> health_paths(PathHealthStore& store, const std::string& raw_query);

}  // namespace hisgate::controlplane::health
