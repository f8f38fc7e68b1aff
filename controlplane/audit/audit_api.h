// The audit log over HTTP, and what the API's dispatch writes into it
// (controlplane/audit/audit_log.h; docs/console.md "Audit log").
//
//   GET /api/v1/audit[?who=&route=&since_ms=&until_ms=&limit=&cursor=]
//       {"entries": [{"seq", "atMs", "who", "role", "method", "route", "path", "targets",
//        "status", "code", "from"}, ...], "nextCursor": "..." (when another page follows)}:
//       newest first, limit 1..1000 (default 100); the cursor is the fleet API's opaque
//       one (fleet_cursor) over the last row's seq. Operator and admin tokens; the Api
//       checks the role before calling audit_page.
//
// Every query parameter is bounded and checked: an unknown or repeated one, or a value out
// of its shape, is 400 audit.bad_query naming it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/ip_range.h"
#include "controlplane/api_route.h"
#include "controlplane/audit/audit_log.h"

namespace hisgate::controlplane::audit {

nlohmann::json audit_json(const AuditEntry& e);

// GET /api/v1/audit with the URI's raw query ("" when none): the page, or a BadInput error.
Result<nlohmann::json> audit_page(AuditLog& log, const std::string& raw_query);

// Where a request came from: the peer's address; when the peer is one of `trusted_proxies`
// (none by default), the client its X-Forwarded-For names instead, read from the right
// (the nearest hop first) past each trusted proxy, since only the hops our proxies added
// are believed: whatever the client wrote on the left is its own claim. An entry that is
// not an IP address ends the walk at the hop before it.
std::string caller_address(const std::string& peer, const std::string& forwarded_for,
                           const std::vector<IpRange>& trusted_proxies);

// The ids a path names: its segments where the route's template (in `table`, by name and
// segment count) has a "{...}".
std::vector<std::string> path_targets(const std::vector<RouteTemplate>& table, std::string_view route,
                                      const std::vector<std::string>& parts);

// Appends `e`. A failure is logged and counted (hisgate_audit_append_failures_total) and
// goes no further: the action it records has already been answered (see api.cpp).
void record(AuditLog& log, const AuditEntry& e);

}  // namespace hisgate::controlplane::audit
