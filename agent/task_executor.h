// Carries out one task against the HIS: reads the request, checks the appointment rules
// before a booking, calls the adapter, and turns the answer into the reply envelope.
//
// A task that changes the HIS and may already have reached it (an earlier attempt was
// dispatched and its answer lost) is sent again only if the HIS honours the order id as
// an idempotency key; otherwise the HIS is first asked what it holds for the order, and
// the task is answered from that when the earlier attempt did take effect.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "adapters/his_adapter.h"
#include "agent/task_queue.h"
#include "appointment-rules/rule_set.h"

namespace hisgate::agent {

class TaskExecutor {
public:
    TaskExecutor(HisAdapter& his, const appointments::RuleSet& rules, std::string hospital_id, bool his_idempotent)
        : his_(his), rules_(rules), hospital_id_(std::move(hospital_id)), his_idempotent_(his_idempotent) {}

    Outcome run(const Task& task);

private:
    Result<nlohmann::json> perform(const Task& task, const nlohmann::json& body);
    Result<nlohmann::json> book(const nlohmann::json& body, bool maybe_done);
    Result<nlohmann::json> pay(const nlohmann::json& body, bool refund, bool maybe_done);

    HisAdapter& his_;
    const appointments::RuleSet& rules_;
    std::string hospital_id_;
    bool his_idempotent_;
};

}  // namespace hisgate::agent
