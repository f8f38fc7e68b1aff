// The agents' own dwell verdicts (issue 13 item 5: "the control plane consumes every agent
// event"): an agent compares its queue's oldest task and dwell p99 with its own threshold
// (hospital IT sets queue.dwell_alert per hospital) and sends queue.dwell_exceeded when
// they rise above it, queue.dwell_recovered when they fall back (agent/agent.cpp,
// watch_dwell). The queue.dwell rule fires on either the heartbeat's figures above the
// control plane's fleet-wide alerts.dwell_seconds (alert_rules.h) or the agent's own
// verdict here, so a hospital's tighter threshold counts without a per-hospital setting
// in the cloud.
//
// One row per hospital, the latest verdict by the agent's sent_at: the events of one
// hospital are shared among the instances and may be taken out of order, so an older
// verdict never overwrites a newer one. Kept where every instance sees it; this is the
// interface, SQLite implements it (open_sqlite_dwell_reports on results_db).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "controlplane/alerts/alert.h"
#include "controlplane/events/agent_event.h"

namespace hisgate::controlplane::alerts {

struct DwellVerdict {
    std::string hospital_id;
    bool exceeded = false;
    std::string sent_at;  // the agent's, ISO 8601 UTC: orders one hospital's verdicts
    std::string detail;   // the figures and the agent's threshold, for the alert
};

class DwellReports {
public:
    virtual ~DwellReports() = default;
    // Keeps `v` unless a verdict of the same hospital sent later is kept already.
    virtual Result<void> report(const DwellVerdict& v) = 0;
    // The hospitals whose latest verdict is "exceeded".
    virtual Result<std::vector<DwellVerdict>> exceeding() = 0;
};

Result<std::unique_ptr<DwellReports>> open_sqlite_dwell_reports(const std::string& path);

// Feeds the reports from a queue.dwell_exceeded or queue.dwell_recovered event given by the
// event intake; one without readable figures is logged and counted
// (hisgate_alerts_dwell_events_total{outcome="rejected"}).
void take_dwell_event(DwellReports& reports, const events::AgentEvent& e);

}  // namespace hisgate::controlplane::alerts
