// Routes a patient request to the hospital's agent and waits for its answer.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "controlplane/hospital_registry.h"
#include "controlplane/task_results.h"
#include "transport/requester.h"

namespace hisgate::controlplane {

// A request sent, and what came of it while the caller waited.
struct Asked {
    std::string task_id;  // the request id: GET /api/v1/tasks/{task_id} finds a later answer
    Result<nlohmann::json> answer;
    // The agent advertised the type as deferred (drained in batches): an answer that did
    // not come in time is pending, not failed.
    bool deferred = false;
};

class Router {
public:
    Router(const HospitalRegistry& registry, Requester& requester, TaskResults& results, std::string instance_id,
           std::chrono::milliseconds timeout)
        : registry_(registry), requester_(requester), results_(results), instance_id_(std::move(instance_id)),
          timeout_(timeout) {}

    // The body of the agent's answer, or an error: NotFound "hospital.unknown",
    // Unavailable "hospital.offline", BadInput "request.unsupported" (a type the agent's
    // birth message does not list among its capabilities: agent/request_types.h),
    // Timeout "agent.timeout" (the task may still be answered later), or the agent's own error.
    Asked ask(const std::string& hospital_id, const std::string& type, nlohmann::json body);

private:
    const HospitalRegistry& registry_;
    Requester& requester_;
    TaskResults& results_;
    std::string instance_id_;
    std::chrono::milliseconds timeout_;
};

}  // namespace hisgate::controlplane
