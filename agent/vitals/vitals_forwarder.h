// Forwards the stored vitals upstream whenever the broker is reachable: the oldest waiting
// rows, at most vitals.batch_max per message, as one "vitals.batch" envelope on
// hisgate/v1/hospitals/<hid>/vitals (QoS 1), in seq order, so each bed's records arrive in
// the order the agent took them. docs/vitals.md has the body.
//
// Invariants:
//  - the store's forwarded-through watermark moves past a batch only after the broker
//    acknowledged the message holding it, and the next batch starts after the last one
//    acknowledged: a failure sends the same rows again (receivers dedupe by seq), never
//    skips any;
//  - the count of thinned samples not yet reported rides in the next batch
//    ("thinnedSinceLast") and is taken off in the same transaction that moves the
//    watermark past that batch, so it is reported once (at least once, across a crash).
//
// Beside the batches, every kMonitorsInterval while the link is up, a "vitals.monitors"
// message on the same topic gives each monitor's state and last sample time. It is not
// stored: it is live state, and the next one supersedes a lost one.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "agent/vitals/vitals_store.h"
#include "common/clock.h"
#include "transport/mqtt_link.h"

namespace hisgate::vitals {

inline constexpr std::chrono::seconds kMonitorsInterval{2};

class VitalsForwarder {
public:
    // `monitors`: the monitors' states as the body of a "vitals.monitors" message.
    VitalsForwarder(VitalsStore& store, MqttLink& link, std::string hospital_id, int batch_max, Clock& clock,
                    std::function<nlohmann::json()> monitors)
        : store_(store), link_(link), hospital_id_(std::move(hospital_id)), batch_max_(batch_max), clock_(clock),
          monitors_(std::move(monitors)) {}
    ~VitalsForwarder() { stop(); }

    void start();
    void stop();
    void wake();  // something was stored

    uint64_t batches_sent() const;

private:
    void loop();
    bool forward_waiting();  // false if the link failed on the way
    void publish_monitors();

    VitalsStore& store_;
    MqttLink& link_;
    std::string hospital_id_;
    int batch_max_;
    Clock& clock_;
    std::function<nlohmann::json()> monitors_;
    Clock::SteadyTime last_monitors_{};
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false, woken_ = false;
    uint64_t batches_ = 0;
    std::thread thread_;
};

}  // namespace hisgate::vitals
