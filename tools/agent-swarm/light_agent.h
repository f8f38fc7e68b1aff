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
//  - release.install (issue 16's rollouts) is answered {"accepted": true}; after the
//    release's delay the agent "restarts": the swarm ends its connection and the next
//    session's birth carries the new version, as a real agent does after the updater's
//    switch. A broken version (ReleaseBehaviour) fails the way it is told to.
//  - params.get is answered with the parameter file the swarm was given, whose hash the
//    birth advertises (paramsHash).
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "transport/mqtt_link.h"

namespace hisgate::swarm {

// How simulated agents take release.install.
struct ReleaseBehaviour {
    int64_t delay_ms = 1000;                  // from the install task to the restart
    std::vector<std::string> broken_versions;  // installing one of these fails, as `mode` says
    std::vector<std::string> broken_hospitals; // so does any install at these hospitals
    // "probes": comes back at the new version with a failing probe; "rollback": that, then
    // after another delay back at the old version (the updater's self-rollback); "silent":
    // never answers and never comes back changed.
    std::string mode = "rollback";
    nlohmann::json params_file;               // params.get's answer (null: none; the agent refuses it)
};

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
    // `now_ms`: the swarm's steady clock (a restart an install asks for is timed by it).
    std::vector<OutgoingMessage> answer(const IncomingMessage& request, int64_t now_ms = 0);

    void set_release_behaviour(const ReleaseBehaviour* b) { release_ = b; }
    // A restart (after release.install) is due: the swarm ends the connection; the next
    // session's birth shows what the install made of the agent.
    // (A rollback armed by the last restart is timed from the first call after it.)
    bool restart_due(int64_t now_ms) {
        if (restart_at_ms_ < 0 && release_) restart_at_ms_ = std::max<int64_t>(now_ms + release_->delay_ms, 1);
        return restart_at_ms_ > 0 && now_ms >= restart_at_ms_;
    }

private:
    OutgoingMessage state(bool online, bool heartbeat);
    void apply_restart();

    const ReleaseBehaviour* release_ = nullptr;
    int64_t restart_at_ms_ = 0;     // 0: none pending; -1: a rollback, not yet timed
    std::string pending_version_;   // what the restart installs
    std::string rollback_version_;  // "rollback" mode: the second restart returns to it
    bool broken_ = false;

    std::string hospital_id_;
    nlohmann::json description_;
    int64_t session_;
    int64_t seq_ = 0;
};

// The birth body's common part for simulated agents: this build's version (or `version`),
// protocol range [1,1], the real agent's capabilities table with release.install and
// params.get, caps, a passing probe, and the hash of `params_file` (zeros without one).
nlohmann::json simulated_description(const std::string& version = "", const nlohmann::json& params_file = nullptr);

}  // namespace hisgate::swarm
