// Turns the rules' conditions into alerts (issue 13 item 5). One round of evaluation reads
// every hospital of the fleet, asks the rules (alert_rules.h) what holds now, and compares
// with the firing alerts of the store:
//  - a condition with no firing alert opens one (a new id, started now, the rule's owner);
//  - a firing alert whose condition no longer holds is resolved (resolved now);
//  - a firing alert whose condition still holds stays the same alert (its detail follows
//    the condition): repeated rounds never fire it twice, and a hospital that stays in a
//    state never flaps;
//  - a condition whose key an operator resolved by hand (AlertStore::resolve) opens nothing
//    while it holds; the hold is released in the first round it does not.
// Rounds run on the injected clock: every `interval` on the engine's thread, and soon after
// poke() (a state change: the control plane pokes it for each state message it applies),
// but never sooner than kPokeGap (or `interval`, when shorter) after the previous round, so
// a large fleet's heartbeats cost one round per gap, not one per heartbeat.
// Every change is a log line (alert.fired, alert.resolved) and counted
// (hisgate_alerts_fired_total{rule}, hisgate_alerts_resolved_total{rule}).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/alerts/alert_rules.h"
#include "controlplane/alerts/alert_store.h"
#include "controlplane/hospital_registry.h"

namespace hisgate::controlplane::alerts {

// Every hospital of the fleet, now.
using FleetSource = std::function<Result<std::vector<FleetRecord>>()>;
// Conditions from elsewhere than the fleet's records (the sequence gaps), at a time.
using ConditionSource = std::function<Result<std::vector<Condition>>(int64_t now_ms)>;
// A FleetSource over a registry, by pages.
FleetSource registry_source(const HospitalRegistry& registry);

struct RoundResult {
    int fired = 0;
    int resolved = 0;
};

class AlertEngine {
public:
    static constexpr std::chrono::milliseconds kPokeGap{1000};

    AlertEngine(AlertStore& store, FleetSource fleet, ProtocolWindow window, AlertThresholds thresholds, Clock& clock);
    ~AlertEngine();

    // More conditions each round (set before start()).
    void add_source(ConditionSource source) { sources_.push_back(std::move(source)); }

    // One round now (the thread's, or a test's).
    Result<RoundResult> evaluate();

    void start(std::chrono::milliseconds interval);
    void stop();
    // Asks the thread for a round now (it runs at most one per poke burst).
    void poke();

private:
    void loop();

    AlertStore& store_;
    FleetSource fleet_;
    std::vector<ConditionSource> sources_;
    ProtocolWindow window_;
    AlertThresholds thresholds_;
    Clock& clock_;
    std::mutex round_mu_;  // one round at a time

    std::chrono::milliseconds interval_{10000};
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool poked_ = false;
    std::thread thread_;
};

}  // namespace hisgate::controlplane::alerts
