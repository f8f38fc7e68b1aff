// A fleet of light simulated agents against the real control plane, as real processes:
// Mosquitto (plain TCP, the production ACL, one broker user per hospital), one
// hisgate-controlplane and one agent-swarm process holding every agent
// (tools/agent-swarm). Used by the fleet-scale benchmark (bench/fleet_scale_bench.cpp) and
// its bounded slice in the tests (tests/system/fleet/swarm_fleet_test.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/broker.h"
#include "tests/support/process.h"
#include "tests/support/system.h"

namespace hisgate::test {

struct SwarmFleetOptions {
    int agents = 200;
    std::string prefix = "S";            // hospital ids: S00000, S00001, ...
    int heartbeat_interval_ms = 30000;
    int status_interval_ms = 200;        // the swarm's status lines
    int start_spread_ms = 0;
    // Merged into the control plane's and the swarm's config files (rollouts: the release
    // repository; the agents' version and how they take release.install).
    nlohmann::json controlplane_config = nlohmann::json::object();
    nlohmann::json swarm_config = nlohmann::json::object();
};

// What the control plane's API says of one hospital.
struct FleetEntry {
    bool online = false;
    int64_t session = 0;
    bool has_heartbeat = false;
};

class SwarmFleet {
public:
    explicit SwarmFleet(SwarmFleetOptions options);
    ~SwarmFleet();

    bool start_broker() { return broker_->start(); }
    bool start_controlplane();
    bool start_swarm();

    Broker& broker() { return *broker_; }
    Process& controlplane() { return controlplane_; }
    Process& swarm() { return swarm_; }
    const std::vector<std::string>& hospital_ids() const { return ids_; }
    const std::string& dir() const { return dir_; }
    uint16_t api_port() const { return api_port_; }

    // GET on the API as an operator.
    HttpReply get(const std::string& path);
    // POST a JSON body on the API as an operator.
    HttpReply post(const std::string& path, const nlohmann::json& body);
    // The operator token's file (for the hisgate CLI's --token-file).
    std::string token_file() const { return dir_ + "/operator.token"; }
    // Every hospital the fleet API lists (all pages), by id; nullopt when a page failed.
    std::optional<std::map<std::string, FleetEntry>> fleet();
    // The swarm's last status line as numbers ("online" -> 200, ...); empty before the first.
    std::map<std::string, long long> swarm_status() const;

private:
    SwarmFleetOptions options_;
    std::string dir_;
    std::vector<std::string> ids_;
    std::unique_ptr<Broker> broker_;
    uint16_t api_port_;
    std::string token_;
    Process controlplane_, swarm_;
};

// Builds, signs and publishes one release per version, in order, with the real `hisgate
// release` commands (keys under DIR/release-keys, builds under DIR/releases, each version's
// install tree a small file naming it) into the repository `repo`, which a control plane's
// releases.repo_dir serves and rolls out. False, with the failing command's output on
// stderr, when a step failed.
bool publish_sim_releases(const std::string& dir, const std::string& repo, const std::vector<std::string>& versions);

}  // namespace hisgate::test
