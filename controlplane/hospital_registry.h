// Which hospitals exist and whether their agents are online, as their retained state
// messages on hisgate/v1/hospitals/<hid>/state say: the fleet registry (issue 13 item 1;
// docs/architecture.md, "Fleet registry").
//
// Liveness follows the birth/will pair with a session counter carried in both, as
// Sparkplug's bdSeq: each MQTT connection of an agent has a new, larger session (kept in
// its state file), and its birth, heartbeats and last will all carry it, with a sequence
// number within the session. The registry holds the newest session per hospital and
//  - ignores any state of an older session (a will that arrives after a newer birth never
//    marks a live agent offline), and within the session any message not newer than the
//    last one applied (repeated or out of order), and any online state of a session a will
//    already ended;
//  - rejects a live heartbeat of a session it holds no birth for (the retained state the
//    broker hands over at subscription is the agent's current state and is taken as one);
//  - rejects forged (envelope hospital != topic hospital) and unreadable state.
// Each refusal is logged and counted (hisgate_rejected_messages_total{kind}: "state"
// unreadable or forged, "state_stale" older or repeated, "heartbeat_unknown" no birth),
// and changes nothing. A `lastInstall` (how the updater's last install ended;
// release/install_report.h) out of bounds or unreadable is dropped from the state, logged
// and counted (kind "last_install"), and the rest of the state applies. Times
// (online/offline since, last heartbeat) are the registry's clock at arrival, not the
// agent's.
//
// Every change is written through to the FleetStore, and a registry made on a store
// starts with every hospital it holds, so a restarted control plane knows the whole fleet.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/fleet_store.h"
#include "transport/mqtt_link.h"

namespace hisgate::controlplane {

struct HospitalState {
    std::string hospital_id;
    bool online = false;
    bool compatible = true;   // its protocol range meets the control plane's window
    int protocol_min = 0, protocol_max = 0;
    nlohmann::json birth;     // the agent's own description: version, protocol, adapter, ...
    std::string updated_at;
};

class HospitalRegistry {
public:
    // A registry that keeps nothing across restarts (an in-memory store, the system clock).
    HospitalRegistry();
    // Loads every hospital `store` holds. `store` and `clock` must outlive the registry.
    static Result<std::unique_ptr<HospitalRegistry>> open(FleetStore& store, Clock& clock, ProtocolWindow window);

    // Applies a state message (see above). An error says why it changed nothing.
    Result<void> apply_state(const IncomingMessage& msg);

    // Called (outside the registry's lock) when an agent whose protocol range is outside the
    // window comes online: the control plane tells it so (main.cpp). Set before messages flow.
    void on_incompatible(std::function<void(const FleetRecord&)> handler) { on_incompatible_ = std::move(handler); }
    // Called (outside the registry's lock, after the new state is stored) when a compatible
    // agent is back: its birth in a newer session, or online again after being offline. The
    // ledger's held attempts for that hospital go then (main.cpp). Set before messages flow.
    void on_back(std::function<void(const std::string& hospital_id)> handler) { on_back_ = std::move(handler); }

    std::optional<HospitalState> find(const std::string& hospital_id) const;
    std::vector<HospitalState> online() const;
    std::optional<FleetRecord> record(const std::string& hospital_id) const;
    Result<std::vector<FleetRecord>> list(FleetQuery q) const;
    const ProtocolWindow& window() const { return window_; }

private:
    HospitalRegistry(FleetStore& store, Clock& clock, ProtocolWindow window);
    HospitalState to_state(const FleetRecord& r) const;

    std::unique_ptr<FleetStore> own_store_;  // the default constructor's
    FleetStore* store_;
    Clock& clock_;
    ProtocolWindow window_;
    std::function<void(const FleetRecord&)> on_incompatible_;
    std::function<void(const std::string&)> on_back_;
    mutable std::mutex mu_;
    std::map<std::string, FleetRecord> hospitals_;
};

}  // namespace hisgate::controlplane
