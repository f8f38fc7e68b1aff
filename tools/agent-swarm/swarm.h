// Thousands of light simulated agents (light_agent.h) in one process: one MQTT 5 connection
// each, all driven by one epoll loop on one thread (mqtt_packets.h), for the fleet-scale
// benchmark (bench/fleet_scale_bench.cpp) and its test slice.
//
// Each connection behaves as transport/mqtt_link.cpp does for a real agent:
//  - CONNECT (session kept 1 h, as Agent sets it, keep-alive, the will of a new presence
//    session), then SUBSCRIBE to the agent's request topic at QoS 1, then the birth
//    (retained, QoS 1); online once the broker has acknowledged the birth. CONNECT to
//    CONNACK is bounded by 5 s, SUBACK and the birth's PUBACK by 10 s each.
//  - A lost connection is tried again at once; a failed attempt waits a jittered
//    exponential backoff (transport/backoff.h, the same function and bounds MqttLink uses),
//    so a fleet that lost its broker comes back spread out, not in lockstep.
//  - PINGREQ when nothing was sent for the keep-alive; no PINGRESP within another
//    keep-alive ends the connection.
//  - A heartbeat every interval while online, each agent at its own phase (the real
//    agent's presence loop runs from its start, not from the connection).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent-swarm/light_agent.h"
#include "common/error.h"

namespace hisgate::swarm {

struct SwarmOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 1883;
    std::vector<std::string> hospital_ids;
    std::vector<std::string> passwords;  // one per hospital id; the broker user is the hospital id
    std::chrono::milliseconds heartbeat_interval{30000};
    std::chrono::seconds keepalive{10};
    std::chrono::milliseconds backoff_min{200};  // MqttOptions' defaults
    std::chrono::milliseconds backoff_max{5000};
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds step_timeout{10000};
    std::chrono::seconds session_expiry{3600};
    // Each agent's first connection attempt is at a uniform random time within this much of
    // the start (0: all at once, a cold-start storm).
    std::chrono::milliseconds start_spread{0};
    int64_t session_base = 0;  // the first session of each agent is session_base + 1
    std::string version;       // the agents' version at start ("": this build's)
    ReleaseBehaviour release;  // how they take release.install and params.get
};

// Counts since the start, readable from any thread while the swarm runs.
struct SwarmFigures {
    int64_t agents = 0;
    int64_t online = 0;            // connections with their birth acknowledged, now
    int64_t sessions = 0;          // connections that came online (births acknowledged)
    int64_t failed_attempts = 0;   // connection attempts that did not come online
    int64_t refused = 0;           // of those, refused by the broker (CONNACK, SUBACK or birth reason >= 0x80)
    int64_t losses = 0;            // online connections that ended
    int64_t heartbeats = 0;        // heartbeats published
    int64_t requests = 0;          // requests received
    int64_t answers = 0;           // answer messages published (".stored" acknowledgements included)
    int64_t protocol_errors = 0;   // packets from the broker this client could not read
};

class Swarm {
public:
    explicit Swarm(SwarmOptions options);
    ~Swarm();
    Swarm(const Swarm&) = delete;
    Swarm& operator=(const Swarm&) = delete;

    // Runs the loop until `stop` is set, then ends every connection with DISCONNECT
    // "with will" (reason 0x04), so the control plane sees each agent go offline.
    Result<void> run(const std::atomic<bool>& stop);
    SwarmFigures figures() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hisgate::swarm
