// The REST/JSON adapter. Resources, below his.endpoint + his.rest.base_path:
//   report            GET  /reports/{reportId}
//   patient's reports GET  /patients/{patientId}/reports          -> {patientId, reports: [...]}
//   reference data    GET  /reference?from=YYYY-MM-DD&to=YYYY-MM-DD -> {from, to, departments, doctors, slots}
//   book              POST /appointments {orderId, slotId, patientId, patientSex?} (idempotent by orderId)
//   cancel            POST /appointments/{orderId}/cancel
//   booking status    GET  /appointments/{orderId}                (404 NOT_FOUND: none held)
//   pay               POST /payments {orderId, amountCents, method}
//   refund            POST /payments/{orderId}/refund {amountCents}
//   payment status    GET  /payments/{orderId}                    (404 NOT_FOUND: none held)
//   daily statement   GET  /statements/{date}                     -> {date, lines: [{orderId, kind, amountCents}]}
// A refusal is a 4xx/5xx with {"error": {"code": "<vendor code>", "message": "..."}}; the
// code is mapped through his.error_map. Every JSON key can be renamed by his.rest.field_map.
// A successful answer repeats what it answers (reportId; patientId and reports; orderId;
// from and to; date): one that does not is Protocol "his.mismatched_answer" (a stale or
// misrouted answer), asked again within his.max_attempts if it was a read.
#pragma once

#include <memory>

#include "adapters/his_adapter.h"
#include "adapters/registry.h"
#include "config-params/param_set.h"

namespace hisgate {

// Errors: Config naming the parameter (endpoint not http(s), field_map, token_file).
Result<std::unique_ptr<HisAdapter>> make_rest_adapter(const params::ParamSet& p);
// Registers make_rest_adapter as "rest-json".
Result<void> register_rest_json(AdapterRegistry& registry);

}  // namespace hisgate
