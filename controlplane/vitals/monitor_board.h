// Each hospital's bedside monitors as the ward screen shows them (issue 18 item 4: "a
// monitor that goes silent shows as offline within 5 s").
//
// Two sources, because either alone can be wrong: the agent's own report of each monitor
// (vitals.monitors every 2 s: connected, stale, lost...) and the time the control plane
// last received a sample from the monitor. A monitor is online only while its agent says
// connected, that report is fresh, and a sample arrived within `silent_after` (default
// 5 s, at 1 Hz five missed results); otherwise offline, with the reason. A silent agent
// (the link to the hospital is down) therefore shows all its monitors offline after
// `silent_after` without any message saying so. Times are the control plane's clock.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "controlplane/vitals/vitals_batch.h"

namespace hisgate::controlplane::vitals {

struct MonitorView {
    MonitorReport report;    // as the agent last reported it (device alone if never)
    bool online = false;
    std::string reason;      // offline: "silent", "agent says <state>", "no report"
    int64_t last_sample_ms = 0;  // when the control plane last received one (0: never)
    int64_t last_report_ms = 0;
};

class MonitorBoard {
public:
    MonitorBoard(Clock& clock, std::chrono::milliseconds silent_after = std::chrono::seconds(5))
        : clock_(clock), silent_after_(silent_after) {}

    void take_report(const std::string& hospital_id, const std::vector<MonitorReport>& monitors);
    void take_samples(const std::string& hospital_id, const std::vector<VitalSample>& samples);
    // The hospital's monitors as of now, by bed then device.
    std::vector<MonitorView> monitors(const std::string& hospital_id) const;
    // The ward of a bed, from the monitors' reports ("" when none names the bed).
    std::string ward_of(const std::string& hospital_id, const std::string& bed) const;
    // Monitors whose online/offline changed since the previous call, with their hospital:
    // what the ward feed announces.
    std::vector<std::pair<std::string, MonitorView>> changes();

private:
    MonitorView view(const MonitorView& stored, int64_t now) const;

    Clock& clock_;
    std::chrono::milliseconds silent_after_;
    mutable std::mutex mu_;
    std::map<std::string, std::map<std::string, MonitorView>> hospitals_;   // hospital → device → stored
    std::map<std::string, std::map<std::string, bool>> shown_;              // what changes() last reported
};

}  // namespace hisgate::controlplane::vitals
