// The agent core: takes requests from the control plane over MQTT, serves them through
// the HIS adapter, and answers on the response topic the request named. It never knows
// which HIS dialect is behind the adapter.
//
// Invariants:
//  - It publishes only under its own hospital's topics.
//  - A request is executed at most once per request id while that id is remembered;
//    a QoS 1 duplicate gets the same answer again, never a second HIS call.
//  - Every bad input (unreadable JSON, unknown schema, another hospital's id, unknown
//    request type) is logged and answered with an error; nothing crashes.
#pragma once

#include <condition_variable>
#include <deque>
#include <set>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/agent_config.h"
#include "transport/dedupe.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"

namespace hisgate::agent {

class Agent {
public:
    explicit Agent(AgentConfig config);
    ~Agent();

    void start();
    void stop();  // publishes the offline state, then disconnects

    // The birth message body: who this agent is and what it can do.
    nlohmann::json birth_body(bool online) const;

private:
    void on_message(const IncomingMessage& msg);
    void work();
    void serve(const IncomingMessage& msg, const Envelope& request);
    Envelope execute(const Envelope& request);
    Envelope book(const Envelope& request);
    void answer(const IncomingMessage& msg, const Envelope& reply);

    AgentConfig config_;
    MqttLink link_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<IncomingMessage> pending_;
    Dedupe answered_;                 // answers by request id, for duplicates
    std::set<std::string> running_ids_;  // requests being served now
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace hisgate::agent
