// A ward for the vitals gateway's system tests: the whole system as real processes
// (Mosquitto, control plane, his-sim, the agent with vitals enabled on a free discovery
// port), simulated monitors (tests/support/monitor_sim.h), the test's own subscriber to
// the hospital's vitals topic, and reads of the agent's own state file.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/monitor_sim.h"
#include "tests/support/system.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"

namespace hisgate::test {

struct StoredRow {
    int64_t seq = 0;
    int kind = 0;  // 0 sample, 1 alarm
    std::string device, bed, name, unit, priority;
    double value = 0;
    bool technical = false;
    int64_t observed_ms = 0;
    bool forwarded = false;
};

class VitalsWard {
public:
    // `vitals`: merged into the hospital's vitals parameters (over the test defaults:
    // enabled, ward network 127.0.0.1/32, PM-50 speaks realtime, short stale/lost times).
    // `controlplane`: merged into the control plane's config.
    explicit VitalsWard(const nlohmann::json& vitals = nlohmann::json::object(),
                        const nlohmann::json& controlplane = nlohmann::json::object());
    ~VitalsWard();

    bool start();  // the system, then the subscriber
    System& sys() { return *sys_; }
    uint16_t discovery_port() const { return discovery_port_; }

    // A monitor-sim announcing to this ward's discovery port (every 200 ms, results every
    // `period_ms`); `config` is merged over those defaults. Started.
    MonitorSim& add_sim(const std::string& name, const nlohmann::json& config = nlohmann::json::object());

    std::vector<StoredRow> rows(const std::string& device = "");  // in seq order
    int64_t samples(const std::string& device);
    int64_t alarms(const std::string& device);
    double metric(const std::string& series);
    std::string agent_log();

    // What the subscriber received on the vitals topic, in arrival order: the batches
    // ("vitals.batch"), and the monitors' states ("vitals.monitors").
    std::vector<Envelope> batches();
    std::vector<Envelope> monitor_reports();
    // The state of `device` in the latest monitors' report ("" if none names it).
    std::string reported_state(const std::string& device);

private:
    std::unique_ptr<System> sys_;
    uint16_t discovery_port_;
    std::unique_ptr<MqttLink> subscriber_;
    std::mutex mu_;
    std::vector<Envelope> batches_, monitor_reports_;
    std::vector<std::unique_ptr<MonitorSim>> sims_;
};

}  // namespace hisgate::test
