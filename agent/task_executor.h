// Carries out one task against the HIS: reads the request, runs the handler its type's row
// names (agent/request_types.h), and turns the answer into the reply envelope.
//
// A task that changes the HIS and may already have reached it (an earlier attempt was
// dispatched and its answer lost) is sent again only if the HIS honours the order id as
// an idempotency key; otherwise the HIS is first asked what it holds for the order, and
// the task is answered from that when the earlier attempt did take effect.
//
// "Not found" is evidence only once no earlier attempt can still be running at the HIS:
// a change whose answer was lost may still be in the HIS's hands (a slow HIS, a timeout
// shorter than its processing). So an earlier attempt is settled as absent only after
// the processing horizon has passed since it was sent; until then the task is retried
// later (a Timeout error, "his.in_doubt"). The send times are kept in memory; after a
// restart the earlier attempt was sent before this executor existed, so the horizon is
// counted from its creation, which is never earlier than the real send.
//
// With an OrderFence (the agent always has one), every change is checked against the
// revoke fence as it goes to the HIS, and payment.revoke / appointment.revoke fence the
// order (agent/order_fence.h). Without one (tests of the executor alone) a revoke is
// refused (Internal "agent.no_fence") and changes are not checked.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "adapters/his_adapter.h"
#include "agent/config_apply.h"
#include "agent/diagnostics.h"
#include "agent/extraction/reference_history.h"
#include "agent/order_fence.h"
#include "agent/task_queue.h"
#include "appointment-rules/rule_set.h"
#include "common/clock.h"

namespace hisgate::agent {

struct InDoubtPolicy {
    bool his_idempotent = true;  // his.idempotent_orders: a repeat is answered from the HIS's records
    std::chrono::milliseconds processing_horizon{30000};  // his.processing_horizon
};

// Test builds only (hisgate-agent-test-hooks, agent/main.cpp): runs as each attempt starts,
// after it was counted and before anything else is done for it. Nothing else sets it.
using AttemptHook = void (*)(const Task&);
void set_attempt_hook_for_test(AttemptHook hook);

class TaskExecutor {
public:
    TaskExecutor(HisAdapter& his, const appointments::RuleSet& rules, std::string hospital_id, InDoubtPolicy policy,
                 const Clock& clock = SystemClock::instance(), Diagnostics diagnostics = {},
                 extraction::ReferenceHistory* reference = nullptr, OrderFence* fence = nullptr,
                 ConfigApplier* config = nullptr)
        : his_(his), rules_(rules), hospital_id_(std::move(hospital_id)), policy_(policy), clock_(clock),
          created_(clock.steady_now()), diagnostics_(std::move(diagnostics)), reference_(reference), fence_(fence),
          config_(config) {}

    Outcome run(const Task& task);

private:
    // Marks the moment a change of `task` goes out to the HIS.
    void sending_change(const Task& task);
    // The same for the booking or payment of `order`; the fence's refusal instead when the
    // order was revoked (then nothing is sent).
    std::optional<Error> sending_order(const Task& task, const std::string& order);
    std::optional<Error> revoking(const std::string& order);
    // The HIS holds nothing for the task's order: an error to retry later if an earlier
    // attempt may still be running there, nothing if the absence is settled.
    std::optional<Error> absence_not_yet_settled(const Task& task);

    HisAdapter& his_;
    const appointments::RuleSet& rules_;
    std::string hospital_id_;
    InDoubtPolicy policy_;
    const Clock& clock_;
    const Clock::SteadyTime created_;
    const Diagnostics diagnostics_;
    extraction::ReferenceHistory* const reference_;  // what reference.* requests read; may be null
    OrderFence* const fence_;  // the revoke fence; may be null
    // Pushed parameter sets: the rules in force (else rules_) and the config.* requests; may be null.
    ConfigApplier* const config_;
    std::mutex mu_;
    std::map<std::string, Clock::SteadyTime> last_change_sent_;  // task id -> when; erased when the task ends
};

}  // namespace hisgate::agent
