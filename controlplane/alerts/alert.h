// One alert (issue 13 item 5): a rule that holds for a hospital, from when it started to
// when it stopped holding. An alert is firing while its condition holds and resolved once it
// does not; a condition that holds again later is a new alert (a new id).
//
// An alert's key (rule, hospital, subject) names the condition: at most one alert per key
// fires at a time. An operator may resolve a firing alert by hand (who, a note): it is then
// resolved, and its key is held (no new alert for it) until its condition stops holding
// once, so "I have dealt with it" is not answered by the same alert at the next round. The subject is what within the hospital the rule is about ("" for the
// hospital itself, a business path for path.failed).
#pragma once

#include <cstdint>
#include <string>

namespace hisgate::controlplane::alerts {

enum class AlertState { Firing, Resolved };

inline const char* to_string(AlertState s) { return s == AlertState::Firing ? "firing" : "resolved"; }

// The rules (docs/alerts.md).
namespace rule {
inline constexpr const char* kOffline = "agent.offline";          // offline longer than alerts.offline_ms
inline constexpr const char* kIncompatible = "agent.incompatible";  // protocol range outside the window
inline constexpr const char* kCertExpiring = "cert.expiring";     // client certificate expires within alerts.cert_days
inline constexpr const char* kDwell = "queue.dwell";              // oldest task or dwell p99 above alerts.dwell_seconds
inline constexpr const char* kPathFailed = "path.failed";         // a business path's last probe failed or changed
inline constexpr const char* kSeqGap = "event.seq_gap";           // change sets missing for longer than alerts.gap_ms
}  // namespace rule

// What a rule found to hold now, before it is an alert.
struct Condition {
    std::string rule;
    std::string hospital_id;
    std::string subject;  // "" or a business path
    std::string detail;   // for an operator: what holds, with figures; never PHI
    std::string key() const { return rule + "|" + hospital_id + "|" + subject; }
};

struct Alert {
    std::string id;  // random_id.h
    std::string rule;
    std::string hospital_id;
    std::string subject;
    AlertState state = AlertState::Firing;
    int64_t started_ms = 0;
    int64_t resolved_ms = 0;  // 0 while firing
    std::string owner;
    std::string detail;  // the condition's detail when it fired (updated while it fires)
    std::string resolved_by;  // "" when its condition stopped holding; the operator who resolved it by hand
    std::string note;         // the operator's note (hand-resolved only)
    std::string key() const { return rule + "|" + hospital_id + "|" + subject; }
};

}  // namespace hisgate::controlplane::alerts
