#include "controlplane/agent_refusals.h"

#include "common/log.h"
#include "common/metrics.h"
#include "transport/envelope.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

nlohmann::json refusal_body(const FleetRecord& agent, const ProtocolWindow& window) {
    std::string agent_range = "[" + std::to_string(agent.protocol_min) + "," + std::to_string(agent.protocol_max) + "]";
    return {{"reason", "protocol.incompatible"},
            {"agentProtocol", {{"min", agent.protocol_min}, {"max", agent.protocol_max}}},
            {"controlplaneProtocol", {{"min", window.min}, {"max", window.max}}},
            {"message", "the control plane speaks protocol versions " + window.describe() + " and this agent " +
                            agent_range + ": no request will be sent to it; upgrade the agent to a release inside the window"}};
}

void AgentRefusals::start() {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    thread_ = std::thread([this] { loop(); });
}

void AgentRefusals::stop() {
    {
        std::lock_guard lock(mu_);
        if (!running_) return;
        running_ = false;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void AgentRefusals::refuse(const FleetRecord& agent) {
    {
        std::lock_guard lock(mu_);
        if (queue_.size() >= kMaxQueued) {
            log::error("controlplane.refusal_dropped", {{"hospital_id", agent.hospital_id}});
            return;
        }
        queue_.push_back(agent);
    }
    cv_.notify_all();
}

void AgentRefusals::loop() {
    std::unique_lock lock(mu_);
    while (true) {
        cv_.wait(lock, [this] { return !running_ || !queue_.empty(); });
        if (!running_) return;
        FleetRecord agent = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        auto refusal = Envelope::make("control.refused", agent.hospital_id, refusal_body(agent, window_));
        auto out = OutgoingMessage::to(topics::request(agent.hospital_id), refusal.to_json());
        out.expiry_seconds = 3600;  // a refusal for an agent that went away is moot an hour later
        auto sent = link_.publish(out);
        metrics::global()
            .counter("hisgate_controlplane_agent_refusals_total", "control.refused messages sent to incompatible agents",
                     {{"outcome", sent ? "sent" : "failed"}})
            .inc();
        if (sent) log::error("controlplane.agent_refused", {{"hospital_id", agent.hospital_id},
                                                             {"agent_protocol", refusal.body["agentProtocol"]},
                                                             {"controlplane_protocol", refusal.body["controlplaneProtocol"]}});
        else log::error("controlplane.refusal_unsent", {{"hospital_id", agent.hospital_id}, {"error", sent.error().describe()}});
        lock.lock();
    }
}

}  // namespace hisgate::controlplane
