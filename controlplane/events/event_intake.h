// Where every agent event enters the control plane (hisgate/v1/hospitals/<hid>/event, a
// shared subscription among the instances): read once within bounds, checked, claimed,
// then handed to the consumers of its type (triage, the health board, the sequence book).
//
//   unreadable  not an envelope within limits::kEventBytes, or naming another hospital
//               than its topic (a forged or misrouted event): logged, counted, dropped
//   unknown     a type the agents do not send: logged, counted, dropped
//   repeated    an event id of this hospital already taken (controlplane/events/
//               seen_events.h): counted, dropped, so no consumer sees it twice
//   <type>      taken: counted by type, given to each consumer of the type in the order
//               they were added
//
// Every outcome is a value of hisgate_controlplane_events_total{type}; the label's values
// are the known types and the three words above, so no sender can grow the series.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "controlplane/events/agent_event.h"
#include "controlplane/events/seen_events.h"
#include "transport/mqtt_link.h"

namespace hisgate::controlplane::events {

// The event types the agents send (agent/events/event_sink.h).
inline constexpr const char* kEventTypes[] = {"probe.result", "reference.changeset", "queue.dwell_exceeded",
                                              "queue.dwell_recovered", "config.applied"};

class EventIntake {
public:
    using Consumer = std::function<void(const AgentEvent&)>;

    explicit EventIntake(SeenEvents& seen) : seen_(seen) {}

    // `type` must be one of kEventTypes (a consumer of a type no agent sends is a
    // programming error, checked). Add every consumer before the first take().
    void on(const std::string& type, Consumer consumer);
    // A message on an event topic.
    void take(const IncomingMessage& m);

private:
    SeenEvents& seen_;
    std::map<std::string, std::vector<Consumer>> consumers_;
};

}  // namespace hisgate::controlplane::events
