// Tells an agent the control plane will not serve it (issue 13 item 3, the version window):
// a "control.refused" message on the agent's request topic naming both protocol ranges,
// which the agent logs as an error and never takes for a task (agent/agent.cpp).
//
// The registry learns of an incompatible agent on the MQTT client's thread, where nothing
// may wait for a PUBACK (transport/mqtt_link.h); refusals are queued and sent from a
// thread of their own.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "controlplane/fleet_store.h"
#include "transport/mqtt_link.h"

namespace hisgate::controlplane {

// The body of the refusal for an agent advertising `agent` to a control plane of `window`.
nlohmann::json refusal_body(const FleetRecord& agent, const ProtocolWindow& window);

class AgentRefusals {
public:
    AgentRefusals(MqttLink& link, ProtocolWindow window) : link_(link), window_(window) {}
    ~AgentRefusals() { stop(); }

    void start();
    void stop();
    // Queues a refusal for the agent (at most kMaxQueued wait; more are dropped, logged).
    void refuse(const FleetRecord& agent);

    static constexpr size_t kMaxQueued = 10000;

private:
    void loop();

    MqttLink& link_;
    ProtocolWindow window_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<FleetRecord> queue_;
    bool running_ = false;
    std::thread thread_;
};

}  // namespace hisgate::controlplane
