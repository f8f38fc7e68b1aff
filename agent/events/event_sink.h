// Where the agent's parts hand what must reach the control plane: probe results,
// reference-data change sets, queue alerts. The agent's implementation writes each event
// to the outbox in the same SQLite file as the queue, so events survive a broker outage
// or a crash and are forwarded in the order they were emitted.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace hisgate::agent {

class EventSink {
public:
    virtual ~EventSink() = default;
    // `type` names the event ("probe.result", "reference.changeset", ...); `body` is its
    // payload. Returns once the event is durably stored, or with the reason it was not
    // (then nothing was stored and the caller still owns the event: it keeps its own copy
    // and hands it over again later, or tells its source to send again). Never blocks on
    // the broker.
    virtual Result<void> emit(const std::string& type, const nlohmann::json& body) = 0;
};

}  // namespace hisgate::agent
