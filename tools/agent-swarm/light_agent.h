// What one light simulated agent says on MQTT, without the HIS or the durable queue behind
// a real one: the presence protocol of agent/agent.cpp and the request/reply contract of
// transport/envelope.h, so the control plane's registry and router take it for an online
// hospital.
//
//  - Every connection is a presence session of its own, larger than any before (the
//    session counter of agent/presence_session.h, kept in memory here, starting from a
//    base the swarm picks: its start time in ms, so a restarted swarm still counts up).
//    The will (offline) and the birth (online, retained) carry the session and a sequence
//    number that only grows, as the real agent's do.
//  - A heartbeat is the birth's body with the queue figures and heartbeatAt, retained on
//    the state topic, as Agent::presence_loop publishes it.
//  - A request is answered as the real agent answers it, minus the work: refused when
//    unreadable, misaddressed or of a type the agent does not serve (the real table,
//    agent/request_types.h), nothing for control.refused or a bad response topic, a
//    "<type>.stored" first when the sender asked for it, then a canned result.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "transport/mqtt_link.h"

namespace hisgate::swarm {

class LightAgent {
public:
    // `description`: the birth body's fields common to every simulated agent (version,
    // protocol, adapter, capabilities, caps); the agent adds its own id and name.
    LightAgent(std::string hospital_id, const nlohmann::json& description, int64_t session_base);

    const std::string& hospital_id() const { return hospital_id_; }
    int64_t session() const { return session_; }

    struct Presence {
        OutgoingMessage will;   // offline, retained: the broker publishes it if the connection dies
        OutgoingMessage birth;  // online, retained: published once the connection is up
    };
    // A new connection: the next session, and its will and birth.
    Presence next_session();
    // The heartbeat of the current session.
    OutgoingMessage heartbeat();

    // The messages that answer `request` (a message on the agent's request topic), in order.
    std::vector<OutgoingMessage> answer(const IncomingMessage& request);

private:
    OutgoingMessage state(bool online, bool heartbeat);

    std::string hospital_id_;
    nlohmann::json description_;
    int64_t session_;
    int64_t seq_ = 0;
};

// The birth body's common part for simulated agents: this build's version, protocol range
// [1,1], the real agent's capabilities table and caps.
nlohmann::json simulated_description();

}  // namespace hisgate::swarm
