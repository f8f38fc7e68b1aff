// Feeds the health board from the agents' probe.result events (issue 13 item 5), given by
// the event intake (controlplane/events/event_intake.h: bounded, checked, never a repeat).
// A probe.result without a readable path or outcome is logged and counted
// (hisgate_health_probe_results_total{outcome="rejected"}), never stored.
#pragma once

#include "controlplane/health/path_health_store.h"
#include "controlplane/events/agent_event.h"

namespace hisgate::controlplane::health {

void take_probe_event(PathHealthStore& store, const events::AgentEvent& e);

}  // namespace hisgate::controlplane::health
