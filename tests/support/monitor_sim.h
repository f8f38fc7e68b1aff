// A hisgate-monitor-sim process for tests: its config written from the options given
// (tools/monitor-sim/main.cpp lists them), a free control port, and its control API.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/process.h"

namespace hisgate::test {

class MonitorSim {
public:
    // `config`: the simulator's config without control and log (added here); `dir`: where
    // its config and log go; `name` tells several apart.
    MonitorSim(const std::string& dir, const std::string& name, nlohmann::json config);
    bool start();  // starts it and waits for its control API
    void stop() { process_.stop(); }

    // POST /monitors/{device}/faults; true on 200.
    bool fault(const std::string& device, const nlohmann::json& fault);
    // GET /monitors: {"monitors": [...], "announcements"}; null on failure.
    nlohmann::json status();
    // One monitor's entry of status() (null if absent).
    nlohmann::json monitor(const std::string& device);
    std::string log_file() const { return log_; }
    pid_t pid() const { return process_.pid(); }

private:
    uint16_t control_port_;
    std::string log_;
    Process process_;
};

}  // namespace hisgate::test
