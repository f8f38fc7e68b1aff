// The reconnect backoff of every MQTT client of hisgate: exponential with full jitter, so
// a fleet that lost its broker at the same moment does not come back in lockstep. Shared by
// MqttLink (agents, control plane) and the light simulated agents of tools/agent-swarm,
// which must reconnect the way real agents do for the fleet-scale benchmark to mean anything.
#pragma once

#include <chrono>
#include <random>

namespace hisgate {

// The wait before connection attempt `attempt` + 1 (0 after the first failure): uniform in
// [min, min(max, min * 2^attempt)].
std::chrono::milliseconds jittered_backoff(int attempt, std::chrono::milliseconds min, std::chrono::milliseconds max,
                                           std::mt19937& rng);

}  // namespace hisgate
