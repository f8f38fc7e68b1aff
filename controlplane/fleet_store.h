// The fleet registry's memory (issue 13 item 1): every hospital whose agent was ever seen,
// kept across restarts, so a restarted control plane still lists each one, online or
// offline and since when.
//
// One record per hospital, the latest of what its agent said about itself (its birth and
// heartbeats on hisgate/v1/hospitals/<hid>/state, agent/agent.cpp birth_body) and what the
// registry made of it (online or offline since when, the liveness session it holds:
// controlplane/hospital_registry.h). Records are never removed by the store; the registry
// decides what to write.
//
// This is the interface; SQLite implements it (open_sqlite_fleet_store), and a shared
// database (PostgreSQL) would implement the same for several instances.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate::controlplane {

// The protocol versions (Envelope schema) a control plane speaks: an agent whose advertised
// range does not meet it is incompatible.
struct ProtocolWindow {
    int min = 1;
    int max = 1;
    bool admits(int agent_min, int agent_max) const { return agent_min <= max && agent_max >= min; }
    std::string describe() const { return "[" + std::to_string(min) + "," + std::to_string(max) + "]"; }
};

struct FleetRecord {
    std::string hospital_id;
    std::string name;    // hospital.name of its parameter file ("" when not given)
    std::string region;  // hospital.region
    bool online = false;
    int64_t since_ms = 0;           // when it became online or offline (the control plane's clock)
    int64_t last_heartbeat_ms = 0;  // the last heartbeat received (0: none since the registry knew it)
    int64_t first_seen_ms = 0;
    int64_t updated_ms = 0;         // the last state message applied
    std::string version;            // the agent's release
    int protocol_min = 0;           // the protocol range it advertises
    int protocol_max = 0;
    std::string dialect;            // its HIS adapter
    std::string params_hash;        // of its parameter file
    int64_t session = 0;            // liveness session (bdSeq) of the newest birth or will held
    int64_t seq = 0;                // sequence of the newest state message of that session
    // The latest state body as the agent sent it: capabilities, queue figures, probe
    // summary, certificate expiry, caps (bounded: limits::kStateBytes).
    nlohmann::json body = nlohmann::json::object();

    bool compatible(const ProtocolWindow& w) const { return w.admits(protocol_min, protocol_max); }
    // "online", "offline", or "incompatible" (online, but outside the window).
    std::string state(const ProtocolWindow& w) const {
        if (!online) return "offline";
        return compatible(w) ? "online" : "incompatible";
    }
};

enum class FleetStateFilter { Any, Online, Offline, Incompatible };

struct FleetQuery {
    std::optional<std::string> region, dialect, version;
    FleetStateFilter state = FleetStateFilter::Any;
    ProtocolWindow window;     // what "incompatible" means
    std::string after;         // only hospital ids after this one ("" = from the first)
    int limit = 100;           // 1 .. kMaxFleetPage + 1
};

inline constexpr int kMaxFleetPage = 1000;

class FleetStore {
public:
    virtual ~FleetStore() = default;
    // Writes `record` whole (insert or replace by hospital id).
    virtual Result<void> put(const FleetRecord& record) = 0;
    virtual Result<std::optional<FleetRecord>> get(const std::string& hospital_id) = 0;
    // Records matching `q`, by hospital id, at most q.limit of them.
    virtual Result<std::vector<FleetRecord>> list(const FleetQuery& q) = 0;
    // Every record (the registry loads them at start).
    virtual Result<std::vector<FleetRecord>> all() = 0;
};

// `path`: a SQLite file (the control plane's fleet_db, by default its results_db), or
// ":memory:" for a registry that forgets everything when the process ends.
Result<std::unique_ptr<FleetStore>> open_sqlite_fleet_store(const std::string& path);

}  // namespace hisgate::controlplane
