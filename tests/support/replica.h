// Read replicas (hisgate-replica) as real processes beside a test System: each with its own
// SQLite file, HTTP port and JSON-lines log in the System's directory, following cp1.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/process.h"
#include "tests/support/system.h"

namespace hisgate::test {

struct Replica {
    std::string name;
    std::string db;
    uint16_t port = 0;
    Process process;

    // Writes its config (cp1 as primary, a service token) and starts it. `more` is JSON
    // merged into its config.
    bool start(System& system, const std::string& replica_name, const std::string& more = "{}") {
        name = replica_name;
        db = system.dir() + "/data/replica-" + name + ".db";
        if (port == 0) port = free_port();
        const std::string token_file = system.dir() + "/etc/replica-" + name + ".token";
        write_file(token_file, system.token("service", "replica-" + name) + "\n");
        nlohmann::json config = {{"replica_id", name},
                                 {"db", db},
                                 {"primary", {{"port", system.api_port()}, {"token_file", token_file}}},
                                 {"http", {{"port", port}}},
                                 {"follow", {{"wait_ms", 500}}},
                                 {"log", {{"file", system.log_dir() + "/replica-" + name + ".log"}}}};
        config.merge_patch(nlohmann::json::parse(more));
        const std::string config_file = system.dir() + "/etc/replica-" + name + ".json";
        write_file(config_file, config.dump(2));
        process = Process({binary("controlplane/replica/hisgate-replica"), "--config", config_file},
                          system.log_dir() + "/replica-" + name + ".out");
        return process.start() && wait_port_open(port, std::chrono::milliseconds(10000));
    }

    nlohmann::json get_json(const std::string& path, int* status = nullptr) const {
        auto r = http_get(port, path);
        if (status) *status = r.status;
        auto j = nlohmann::json::parse(r.body, nullptr, false);
        return j.is_discarded() ? nlohmann::json() : j;
    }
    nlohmann::json status() const { return get_json("/api/v1/replica"); }
    int64_t position() const {
        auto s = status();
        return s.is_object() && s.contains("position") ? s["position"].get<int64_t>() : -1;
    }
};

}  // namespace hisgate::test
