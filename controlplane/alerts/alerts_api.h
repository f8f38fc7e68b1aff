// The alerts over HTTP (issue 13 item 5), for staff (viewer and up) and service tokens;
// the Api checks the role before calling this.
//
//   GET /api/v1/alerts[?state=firing|resolved&hospital=H&limit=N]
//       {"alerts": [{"id", "rule", "hospitalId", "subject", "state", "startedAt",
//                    "resolvedAt" (null while firing), "owner", "detail"}, ...]}
//       newest start first, limit 1..1000 (default 500); a hand-resolved one also has
//       "resolvedBy" and "note"
//   POST /api/v1/alerts/{id}/resolve  {"note": "..."} (operators and admins)
//       resolves a firing alert by hand (alert.h): 200 with the alert; 404 alert.not_found,
//       409 alert.not_firing, 400 alerts.bad_note (1 to 500 characters, required)
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

// POST /api/v1/alerts/{id}/resolve by `who` ("role:subject") with the request's JSON body.
Result<nlohmann::json> resolve_alert(AlertStore& store, const std::string& id, const std::string& who,
                                     const nlohmann::json& body, int64_t now_ms);

}  // namespace hisgate::controlplane::alerts
