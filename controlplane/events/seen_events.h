// The agent events already taken, so that a repeat has no second effect (issue 13 item 4:
// "processes no event twice in effect").
//
// Why repeats happen: an agent forwards each event from its outbox with QoS 1 and deletes
// it only on the broker's PUBACK, so a lost PUBACK (a broker restart, a dropped link, an
// agent killed between publish and delete) sends the same event again, with the same
// envelope id, possibly hours later when the link returns; the broker also redelivers an
// unacknowledged event to another member of the shared subscription when an instance
// dies. Triage counts, health results and change-set seqs must not see either twice.
//
// An event is claimed by (hospital, envelope id) before its consumers run: the first claim
// wins, in whichever instance (the store is shared like the answers), and every later one
// within the window is a repeat. The cost, chosen on purpose: an instance killed between
// the claim and its consumers loses that one event's effect (the agent's next probe result
// or change set restates it), where consuming first would count it twice.
//
// Kept `window` long (the longest outage after which an agent may still resend a stored
// event; 6 h by default) and pruned as claims arrive. This is the interface; SQLite
// implements it (open_sqlite_seen_events, on the control plane's results_db).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::controlplane::events {

struct SeenEventsWindow {
    std::chrono::milliseconds keep{std::chrono::hours(6)};
};

class SeenEvents {
public:
    virtual ~SeenEvents() = default;
    // True for the first claim of (hospital, event id) within the window, false for a repeat.
    virtual Result<bool> claim(const std::string& hospital_id, const std::string& event_id) = 0;
};

Result<std::unique_ptr<SeenEvents>> open_sqlite_seen_events(const std::string& path, Clock& clock,
                                                            SeenEventsWindow window = {});

}  // namespace hisgate::controlplane::events
