// The alert rules over the fleet registry's records (issue 13 item 5): which conditions
// hold for one hospital now. Pure: the record, the protocol window, the time and the
// thresholds in, the conditions out (alert_engine.h turns them into alerts).
//
//   agent.offline       offline for longer than `offline`
//   agent.incompatible  online, with a protocol range outside the window
//   cert.expiring       its client certificate's notAfter (certNotAfter) is less than
//                       `cert_within` away (or past)
//   queue.dwell         the last heartbeat's oldest task or dwell p99 above `dwell_seconds`
//                       (or the agent's own verdict: dwell_conditions)
//   path.failed         a business path's last probe (the heartbeat's probe summary) failed
//                       or changed: one condition per path
// An offline hospital is only agent.offline: figures it sent before it went away are stale.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "controlplane/alerts/alert.h"
#include "controlplane/alerts/dwell_reports.h"
#include "controlplane/alerts/sequence_book.h"
#include "controlplane/fleet_store.h"

namespace hisgate::controlplane::alerts {

struct AlertThresholds {
    std::chrono::milliseconds offline{std::chrono::minutes(5)};
    double dwell_seconds = 600;
    std::chrono::milliseconds cert_within{std::chrono::hours(24 * 30)};
    std::chrono::milliseconds gap{std::chrono::minutes(1)};  // a sequence gap open this long
    // The owning team per rule (config alerts.owner.<rule>); `default_owner` for the others.
    std::map<std::string, std::string> owners;
    std::string default_owner = "operations";
    const std::string& owner(const std::string& rule) const {
        auto it = owners.find(rule);
        return it == owners.end() ? default_owner : it->second;
    }
};

std::vector<Condition> conditions_of(const FleetRecord& r, const ProtocolWindow& window, int64_t now_ms,
                                     const AlertThresholds& t);

// event.seq_gap: a hospital's change-set gap (sequence_book.h) open for longer than `gap`
// (events may arrive out of order: a gap that closes sooner is not an alert).
std::vector<Condition> gap_conditions(const std::vector<SequenceGap>& gaps, int64_t now_ms, const AlertThresholds& t);

// queue.dwell from the agents' own verdicts (dwell_reports.h), for the hospitals `online`
// says are online: an offline hospital's figures are stale.
std::vector<Condition> dwell_conditions(const std::vector<DwellVerdict>& verdicts,
                                        const std::function<bool(const std::string&)>& online);

// "12.5 s": a figure of seconds in an alert's detail.
std::string seconds_text(double seconds);

// "2027-01-31T00:00:00Z" (seconds, optional fraction, Z) as ms since the epoch; -1 when it is
// not that shape.
int64_t parse_iso_utc_ms(const std::string& text);

}  // namespace hisgate::controlplane::alerts
