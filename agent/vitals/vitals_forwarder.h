// Forwards the stored vitals upstream whenever the broker is reachable: the oldest waiting
// rows, at most vitals.batch_max per message (up to limits::kVitalsBatchRecords while more
// than a window of batches waits), as one "vitals.batch" envelope on hisgate/v1/hospitals/<hid>/vitals
// (QoS 1), in seq order, so each bed's records arrive in the order the agent took them.
// No message is larger than limits::kVitalsMessageBytes (what the control plane takes).
// docs/vitals.md has the body.
//
// A window of batches: after the broker's PUBACK for a batch the forwarder hands the
// watermark's move to the store's writer and reads and sends the next batch at once,
// instead of waiting for that commit (which is what the writer's group commit costs: 130
// ms apart at 2,000 beds on a loaded machine). At most kUnmarkedBatches batches are
// acknowledged by the broker and not yet past the watermark; then it waits for the oldest.
// A batch less than full goes only when the window is empty, so below the window's rate
// there is one batch per commit, as before (each batch costs the control plane a
// transaction); a full one goes at once.
//
// Invariants:
//  - batches are published one at a time, each after the previous one's PUBACK, in seq
//    order, each starting just after the previous one's last seq: every row up to the
//    last acknowledged batch has reached the broker, so the watermark, moved to a batch's
//    last seq in the writer's order of the acknowledgements, moves only past rows the
//    broker acknowledged contiguously; never skips any;
//  - a failure (a publish, a read, or a watermark's commit) waits for the acknowledgements
//    already queued, releases what was in flight and reads again from the watermark: the
//    same rows are sent again (receivers dedupe by seq), and so are those of a crash
//    before the watermark's commit;
//  - the count of thinned samples not yet reported rides in the next batch
//    ("thinnedSinceLast") and is taken off in the same transaction that moves the
//    watermark past that batch; the batches in the window carry only what the batches
//    before them did not (the unreported count less what the window already carries), so
//    it is reported once (at least once, across a crash or a failed commit);
//  - rows read into flight are not thinned (VitalsStore::read_into_flight), so a row is
//    either delivered or counted thinned, never both;
//  - alarms are never dropped: they are rows like the others, never thinned.
//
// Beside the batches, every kMonitorsInterval while the link is up, a "vitals.monitors"
// message on the same topic gives each monitor's state and last sample time. It is not
// stored: it is live state, and the next one supersedes a lost one.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "agent/vitals/vitals_store.h"
#include "common/clock.h"
#include "transport/mqtt_link.h"

namespace hisgate::vitals {

inline constexpr std::chrono::seconds kMonitorsInterval{2};
// Batches acknowledged by the broker whose watermark is not yet committed. A crash sends
// them again (at most this many batches, deduped upstream).
inline constexpr std::size_t kUnmarkedBatches = 4;

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
    // A batch the broker acknowledged, its watermark move queued in the store.
    struct Unmarked {
        int64_t last_seq = 0;
        int64_t thinned_reported = 0;
        std::size_t records = 0;
        std::shared_future<Result<void>> marked;
    };

    void loop();
    bool forward_waiting();  // false if the link or the store failed on the way
    bool settle_marks(bool wait_oldest);  // pops committed marks; false if one failed
    void restart_from_watermark();       // after a failure: the window drained, nothing in flight
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

    // The forwarder thread's own.
    std::deque<Unmarked> unmarked_;  // oldest first
    int64_t sent_through_ = 0;       // the last seq of the last batch sent (0: read from the watermark)
};

}  // namespace hisgate::vitals
