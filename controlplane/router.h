// Routes a patient request to the hospital's agent and waits for its answer.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "controlplane/hospital_registry.h"
#include "transport/requester.h"

namespace hisgate::controlplane {

class Router {
public:
    Router(const HospitalRegistry& registry, Requester& requester, std::string instance_id,
           std::chrono::milliseconds timeout)
        : registry_(registry), requester_(requester), instance_id_(std::move(instance_id)), timeout_(timeout) {}

    // The body of the agent's answer, or an error: NotFound "hospital.unknown",
    // Unavailable "hospital.offline", Timeout "agent.timeout", or the agent's own error.
    Result<nlohmann::json> ask(const std::string& hospital_id, const std::string& type, nlohmann::json body);

private:
    const HospitalRegistry& registry_;
    Requester& requester_;
    std::string instance_id_;
    std::chrono::milliseconds timeout_;
};

}  // namespace hisgate::controlplane
