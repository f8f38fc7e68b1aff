// The fleet on the control plane's /metrics (issue 13 item 5): one Prometheus scrape of the
// control plane sees every hospital, whose agents sit behind firewalls no scraper reaches.
// Gauges labelled by hospital, for the hospitals of the registry only (which never forgets
// one, so the series are bounded by the fleet), set from the registry's records when
// /metrics is served:
//
//   hisgate_hospital_up{hospital}                        1 online, 0 offline (or incompatible: 0)
//   hisgate_hospital_heartbeat_age_seconds{hospital}     since the last heartbeat (absent before one)
//   hisgate_hospital_queue_depth{hospital}               the last heartbeat's queue depth
//   hisgate_hospital_oldest_task_seconds{hospital}       the last heartbeat's oldest task age
//   hisgate_hospital_probe_availability{hospital,path,window="1h"|"24h"}
//                                                        the last heartbeat's probe availability
//
// Probe paths are the agent's: at most kMaxMetricPaths per hospital, names of 1..64
// characters of A-Z a-z 0-9 _ - . (others are left out).
#pragma once

#include <cstdint>
#include <vector>

#include "controlplane/fleet_store.h"
#include "controlplane/hospital_registry.h"

namespace hisgate::controlplane {

inline constexpr size_t kMaxMetricPaths = 16;

void publish_fleet_metrics(const std::vector<FleetRecord>& fleet, const ProtocolWindow& window, int64_t now_ms);
// The same for every hospital of `registry` (read by pages).
void publish_fleet_metrics(const HospitalRegistry& registry, int64_t now_ms);

}  // namespace hisgate::controlplane
