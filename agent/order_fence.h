// The revoke fence: after a revoke of an order has answered "revoked", no change for that
// order ever reaches the HIS from this agent (docs/ledger.md, "The agent's revoke fence").
//
// The control plane's confirmer revokes an order whose outcome it cannot learn (the HIS
// says "not found", but the change may still be on its way: a late or duplicated MQTT
// delivery, a task queued here, an attempt the HIS is still processing). Every change to
// the HIS goes through this agent, so the fence is kept here, for every HIS dialect, with
// no new HIS operation: the revoke is recorded in the agent's state file (TaskStore,
// table revoked_orders) before anything else, and a booking or payment for a revoked
// order is refused ("order.revoked") at the moment it would go to the HIS. A refund or
// cancel is fenced by its own request id instead (fence_key_of_request): it undoes an order
// the HIS committed, several rounds may undo one order, and only the round an operator found
// not done is revoked (payment.refund_revoke, appointment.cancel_revoke).
//
// Invariants:
//  - A revoke is durable before the HIS is asked about the order, and never undone.
//  - A change is checked against the fence and counted in flight in one step under one
//    lock, and a revoke looks for changes in flight only after its fence is durable: so
//    either the change sees the fence (and is refused) or the revoke sees the change.
//  - A revoke answers only once no change for the order can still be running at the HIS:
//    while one is in flight, or its attempt ended without the HIS's answer less than the
//    processing horizon ago, or it may have been at the HIS when the agent last stopped
//    (an unfinished, dispatched change task, or one parked within the horizon; counted
//    from this start), the revoke is an error to retry (Timeout "his.in_doubt"). After that the HIS's records are final for
//    the order, and the revoke reads its outcome from them.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/task.h"
#include "agent/task_store.h"
#include "common/clock.h"
#include "common/error.h"

namespace hisgate::agent {

class OrderFence {
public:
    OrderFence(TaskStore& store, const Clock& clock, std::chrono::milliseconds processing_horizon)
        : store_(store), clock_(clock), horizon_(processing_horizon) {}

    // At start: the unfinished tasks the store holds, and those parked within the horizon.
    // A dispatched one that changes the HIS may have been at the HIS when the agent
    // stopped; its order counts as sent now.
    void recall(const std::vector<Task>& unfinished);

    // A change of task `task_id` for `order` goes out to the HIS now: Rejected
    // "order.revoked" if the order is revoked (the change must not be sent), else nothing,
    // and the order counts as in flight until end_change(task_id, ...).
    std::optional<Error> begin_change(const std::string& task_id, const std::string& order);
    // The task's attempt ended. `answered`: the HIS gave its answer (nothing of this attempt
    // is still running there); otherwise the order stays unsettled for the horizon.
    void end_change(const std::string& task_id, bool answered);

    // Fences `order` (durable when it returns), then answers an error to retry later while a
    // change for it may still be running at the HIS; nothing when the HIS's records are final.
    std::optional<Error> revoke(const std::string& order);

private:
    struct Pending {
        int in_flight = 0;
        std::optional<Clock::SteadyTime> unsettled_since;  // an attempt ended without the HIS's answer
    };

    TaskStore& store_;
    const Clock& clock_;
    const std::chrono::milliseconds horizon_;
    std::mutex mu_;
    std::map<std::string, Pending> orders_;          // orders with a change in flight or unsettled
    std::map<std::string, std::string> in_flight_;   // task id -> its order, while its change runs
};

}  // namespace hisgate::agent
