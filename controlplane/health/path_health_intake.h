// Feeds the health board from the agents' probe.result events (issue 13 item 5), on the
// event path the control plane already has (its shared subscription to the agents' events,
// beside triage's intake: controlplane/main.cpp). Other event types are ignored here;
// a probe.result without a readable path or outcome is logged and counted
// (hisgate_health_probe_results_total{outcome="rejected"}), never stored.
#pragma once

#include "controlplane/health/path_health_store.h"
#include "transport/mqtt_link.h"

namespace hisgate::controlplane::health {

void take_probe_event(PathHealthStore& store, const IncomingMessage& m);

}  // namespace hisgate::controlplane::health
