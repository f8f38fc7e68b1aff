// One agent event as its consumers see it: read once, within bounds, by the event intake
// (controlplane/events/event_intake.h), its hospital checked against its topic, its type
// one the agents send, and never a repeat of one already taken.
#pragma once

#include <string>

#include "transport/envelope.h"

namespace hisgate::controlplane::events {

struct AgentEvent {
    std::string hospital_id;  // the topic's; the envelope names the same hospital
    Envelope envelope;        // read within limits::kEventBytes
    std::string traceparent;  // the message's (an MQTT user property), or empty
};

}  // namespace hisgate::controlplane::events
