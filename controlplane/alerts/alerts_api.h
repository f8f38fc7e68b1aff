// The alerts over HTTP (issue 13 item 5), for staff (viewer and up) and service tokens;
// the Api checks the role before calling this.
//
//   GET /api/v1/alerts[?state=firing|resolved&hospital=H&limit=N]
//       {"alerts": [{"id", "rule", "hospitalId", "subject", "state", "startedAt",
//                    "resolvedAt" (null while firing), "owner", "detail"}, ...]}
//       newest start first, limit 1..1000 (default 500)
//
// Every query parameter is bounded and checked: an unknown or repeated one, or a value out
// of its shape, is 400 alerts.bad_query naming the parameter, what it expects and what came.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "controlplane/alerts/alert_store.h"

namespace hisgate::controlplane::alerts {

nlohmann::json alert_json(const Alert& a);

// GET /api/v1/alerts with the URI's raw query ("" when none): the list, or a BadInput error.
Result<nlohmann::json> alerts_page(AlertStore& store, const std::string& raw_query);

}  // namespace hisgate::controlplane::alerts
