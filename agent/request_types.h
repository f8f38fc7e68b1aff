// Every request type the agent serves, in one table: its name, whether it is real-time
// (a patient is waiting) or deferred (drained in batches), whether it changes what the HIS
// holds, and the handler that carries it out against the adapter.
//
// The table is the only place a request type is named: the agent admits what it lists
// (anything else is refused at once), its queue orders by the class, the executor
// dispatches to the handler, and the birth message advertises the rows as `capabilities`,
// which is how the control plane learns what a hospital serves and which answers may come
// late (controlplane/router.h).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string_view>

#include "adapters/his_adapter.h"
#include "agent/config_apply.h"
#include "agent/diagnostics.h"
#include "agent/extraction/reference_history.h"
#include "agent/task.h"
#include "appointment-rules/rule_set.h"
#include "common/clock.h"

namespace hisgate::agent {

// What a handler works with for one task (built by agent/task_executor.h).
struct RequestContext {
    std::string_view type;  // the request type's name, for error texts
    std::string_view task_id;  // the request id: names what a handler leaves outside the store
    HisAdapter& his;
    const appointments::RuleSet& rules;
    const Clock& clock;
    // his.idempotent_orders: the HIS recognises a repeated order id by itself.
    bool his_idempotent = false;
    // An earlier attempt was dispatched: a change may already hold at the HIS.
    bool maybe_done = false;
    // This task's refund or cancel goes out to the HIS now: an error instead when it must
    // not, this request having been revoked at this agent (fenced by its request id,
    // fence_key_of_request; agent/order_fence.h).
    std::function<std::optional<Error>()> sending_change;
    // The booking or payment of the order goes out to the HIS now (a change, as above): an
    // error instead when it must not, the order having been revoked at this agent.
    std::function<std::optional<Error>(const std::string& order_id)> sending_order;
    // The HIS holds nothing for the order: an error to retry later while an earlier
    // attempt may still be running there, nothing once the absence is settled.
    std::function<std::optional<Error>()> absence_not_yet_settled;
    // Revokes the order at this agent (durable), or the error to answer with: a change for
    // it may still be running at the HIS, or the agent keeps no fence.
    std::function<std::optional<Error>(const std::string& order_id)> revoking;
    // What the agent shows of itself (logs.get, doctor.run: agent/diagnostics.h).
    const Diagnostics& diagnostics;
    // The extraction's kept change sets and snapshot (reference.changesets,
    // reference.snapshot: agent/reference_requests.h); null in an agent without one.
    extraction::ReferenceHistory* reference = nullptr;
    // Pushed parameter sets and feature flags (config.*: agent/config_apply.h); null in an
    // agent without one.
    ConfigApplier* config = nullptr;
};

// The answer's body, or the error to answer with.
using RequestHandler = Result<nlohmann::json> (*)(const RequestContext& context, const nlohmann::json& body);

// What the revoke fence (agent/order_fence.h) holds a change back by: a booking or payment
// by its order (payment.revoke, appointment.revoke), a refund or cancel by its own request
// id (payment.refund_revoke, appointment.cancel_revoke: several rounds may undo one order,
// and only the revoked round must stop).
enum class FencedBy { Nothing, Order, Request };

struct RequestType {
    std::string_view name;  // e.g. "appointment.book"
    TaskClass cls;
    bool changes_his;       // a resend after a lost answer must not execute it twice
    RequestHandler handler;
    FencedBy fenced_by = FencedBy::Nothing;
};

// The fence's key for a refund or cancel request: apart from every order id.
std::string fence_key_of_request(std::string_view request_id);

std::span<const RequestType> request_types();
// The row for `name`; nullptr for a type the agent does not serve.
const RequestType* find_request_type(std::string_view name);
// The birth message's `capabilities`: [{"type", "class": "realtime"|"deferred", "changesHis"}].
nlohmann::json advertised_capabilities();

}  // namespace hisgate::agent
