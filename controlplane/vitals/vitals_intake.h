// Takes what the agents' vitals gateways send (topic hisgate/v1/hospitals/<hid>/vitals,
// docs/vitals.md) into the control plane: a `vitals.batch` is stored (VitalsStore, all or
// nothing, duplicates once) and then passed to the ward feed; a `vitals.monitors` report
// updates the monitor board. Anything unreadable is refused whole, counted and logged
// (at most once a minute per hospital, so a device or agent that floods cannot flood the
// log), and nothing else is affected.
//
// tick() (the control plane calls it every second; tests call it with a stepped clock):
// escalates alarms not acknowledged within `escalate_after`, announces monitors that went
// offline or came back, and once an hour purges what is past retention.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "controlplane/vitals/monitor_board.h"
#include "controlplane/vitals/vitals_store.h"
#include "controlplane/vitals/ward_feed.h"
#include "transport/mqtt_link.h"
#include "transport/vitals_limits.h"

namespace hisgate::controlplane::vitals {

// A vitals message is at most 1 MiB (transport/vitals_limits.h, which the agent's forwarder
// keeps to); a batch of 500 records is ~100 KiB.
inline constexpr std::size_t kVitalsMessageBytes = limits::kVitalsMessageBytes;

struct VitalsIntakeSettings {
    std::chrono::milliseconds escalate_after{std::chrono::seconds(60)};
    std::chrono::milliseconds purge_every{std::chrono::hours(1)};
};

class VitalsIntake {
public:
    VitalsIntake(VitalsStore& store, MonitorBoard& board, WardFeed& feed, Clock& clock, VitalsIntakeSettings settings = {})
        : store_(store), board_(board), feed_(feed), clock_(clock), settings_(settings) {}

    // One message on a vitals topic. Call from one thread (the order of a hospital's
    // batches is the order they are stored and fed in).
    void take(const IncomingMessage& m);
    void tick();
    // An alarm staff acted on (the API): passed to the feed.
    void announce_alarm(const AlarmRecord& a, const std::string& change);

private:
    void refuse(const std::string& hospital_id, const std::string& topic, const Error& e);

    VitalsStore& store_;
    MonitorBoard& board_;
    WardFeed& feed_;
    Clock& clock_;
    VitalsIntakeSettings settings_;
    std::mutex log_mu_;
    std::map<std::string, int64_t> last_refusal_log_;  // hospital → when its last refusal was logged
    int64_t last_purge_ms_ = 0;
    // What other instances sharing the store did to alarms reaches this one's feed through
    // the store's audit (tick follows it from audit_seen_; -1 until the first tick, which
    // starts at the newest entry: history is not news). An alarm already announced in the
    // same state is not announced again (announced_: alarm id → its state, at most
    // kMaxAnnounced, the lowest ids dropped first: a repeat is harmless to a ward screen).
    void follow_audit();
    static constexpr std::size_t kMaxAnnounced = 10000;
    int64_t audit_seen_ = -1;
    std::mutex announced_mu_;
    std::map<int64_t, std::string> announced_;
};

}  // namespace hisgate::controlplane::vitals
