// Routes a patient request to the hospital's agent and waits for its answer.
#pragma once

#include <chrono>
#include <functional>
#include <map>
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

// The fingerprint of a request body as its caller made it (RequestOrigin::fingerprint).
std::string fingerprint_of(const nlohmann::json& body);

// Counts what came of a retry (hisgate_controlplane_retries_total{kind}): an
// Idempotency-Key new, replayed or reused with another body (key_new, key_replayed,
// key_reused); a request id sent before, joined or reused with another body (id_rejoined,
// id_reused).
void count_retry(const char* kind);

// How long a caller waits for an agent's answer, per request type (configuration:
// request_timeouts_ms), else `fallback`.
struct RouteTimeouts {
    std::chrono::milliseconds fallback{5000};
    std::map<std::string, std::chrono::milliseconds, std::less<>> by_type;
    std::chrono::milliseconds of(const std::string& type) const {
        auto it = by_type.find(type);
        return it == by_type.end() ? fallback : it->second;
    }
};

class Router {
public:
    Router(const HospitalRegistry& registry, Requester& requester, TaskResults& results, std::string instance_id,
           RouteTimeouts timeouts)
        : registry_(registry), requester_(requester), results_(results), instance_id_(std::move(instance_id)),
          timeouts_(std::move(timeouts)) {}

    // The body of the agent's answer, or an error: NotFound "hospital.unknown",
    // Unavailable "hospital.offline", Unavailable "hospital.incompatible" (its protocol
    // range is outside the registry's window), BadInput "request.unsupported" (a type the agent's
    // birth message does not list among its capabilities: agent/request_types.h),
    // Timeout "agent.timeout" (the task may still be answered later), or the agent's own error.
    //
    // Through an outage: while the hospital's agent is offline, a real-time request (a
    // patient waits: book, pay, cancel) fails at once with "hospital.offline", never
    // waiting for a timeout; a deferred one (a report) is accepted, answered Timeout
    // "agent.offline" with its task id and `deferred` set (202 for the API), and re-sent
    // until the agent, back, says it stored it (TaskResults::due_resends), within its
    // deadline. The types and their classes are those of the agent's last birth message,
    // which its last will repeats.
    //
    // `request_id`: the id to send it with (an order's, an Idempotency-Key's:
    // controlplane/idempotency_store.h); empty for a fresh random one. An id sent before
    // is the same task: its answer when it has one, without asking the agent again; while
    // it has none, the request goes again with the same id (the agent stores an id once)
    // and the answer is awaited, whichever copy brings it. The same id with another
    // hospital, type or request (origin.fingerprint; without one, the body) is Rejected
    // "order.id_reused". `origin` is kept with the task (TaskResults).
    Asked ask(const std::string& hospital_id, const std::string& type, nlohmann::json body,
              const std::string& request_id = "", RequestOrigin origin = {});

    // Told of each failure of the router's own, never of an agent's answer (answer_intake
    // sees those): the hospital, the request type, the error. Triage books them
    // (controlplane/triage/error_intake.h). Set before the first ask.
    using FailureHook = std::function<void(const std::string&, const std::string&, const Error&)>;
    void on_failure(FailureHook hook) { on_failure_ = std::move(hook); }

private:
    // `e`, told to the failure hook first.
    Error failed(const std::string& hospital_id, const std::string& type, Error e) const {
        if (on_failure_) on_failure_(hospital_id, type, e);
        return e;
    }
    // A request whose id was sent before.
    Asked rejoin(const Envelope& request, bool deferred, const RequestOrigin& origin);

    const HospitalRegistry& registry_;
    Requester& requester_;
    TaskResults& results_;
    std::string instance_id_;
    RouteTimeouts timeouts_;
    FailureHook on_failure_;
};

}  // namespace hisgate::controlplane
