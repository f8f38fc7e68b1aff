// The operators' routes of the live partition split (docs/ledger.md, "Live partition
// split"; issue 15 item 7), beside the money routes (money_api.h dispatches them):
//
//   GET  /api/v1/ledger/partitions           staff: the map in use ({epoch, partitions:
//                                             {name: [provinces]}}) and the newest split
//                                             ({state, progress} or null)
//   POST /api/v1/ledger/partitions/split     admins: {source, targets: [{name, provinces: [..]}],
//                                             maxFreezeMs?} → 202 with the split's progress; it
//                                             runs on the control plane's own thread
//   POST /api/v1/ledger/partitions/rollback  admins: {source} → 200 with the progress, once
//                                             the source owns its provinces again
//
// Refusals change nothing: 400 split.bad_plan (unknown source, provinces not exactly the
// source's, a name of the map), 409 split.running, split.target_exists (a name used before),
// split.nothing_to_roll_back.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <optional>
#include <string>
#include <vector>

#include "auth/access_token.h"
#include "controlplane/api_route.h"
#include "controlplane/money/ledger_service.h"

namespace hisgate::controlplane::money {

// partitions, partition_split, partition_rollback
using PartitionRoute = ApiRoute;
std::optional<PartitionRoute> partition_route_of(const std::vector<std::string>& parts);
// The partition routes (controlplane/api_route.h).
const std::vector<RouteTemplate>& partition_routes();

void handle_partition_route(const std::string& route, const auth::AccessToken& who, LedgerService& ledgers,
                            Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

}  // namespace hisgate::controlplane::money
