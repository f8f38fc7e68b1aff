// A read replica follows the public partition's primary (issue 14 item 2): it applies the
// primary's change stream to its own file, entry by entry in pos order, each page in one
// transaction, and knows where it stands:
//
//   position   the last entry applied, and the checksum of its tables
//   lag        in entries (the primary's head - position) and in seconds (how old the
//              newest entry it applied is against the primary's clock while behind; 0 when
//              caught up). The primary answers an idle long poll with a heartbeat page, so an
//              idle replica reports 0, and a replica that hears nothing for longer than
//              `silence` counts its lag from the last time it heard the primary.
//
// It re-seeds from a snapshot (ReplicaStore::replace_with) when it starts empty, when the
// primary no longer keeps the entries it needs (stream.gone) or holds fewer than it has
// (stream.ahead), when it is more than `max_lag_entries` behind, and when it is divergent:
// an entry's checksum is not the one its tables reach, its tables' checksum recomputed from
// the rows (every `check_interval`) is not the one it keeps, or at the primary's head its
// checksum is not the head's. It keeps serving searches from its old file meanwhile.
//
// Time is the Clock's. One thread (start/stop), or step() from a test's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/clock.h"
#include "controlplane/replica/primary_client.h"
#include "controlplane/replica/replica_store.h"

namespace hisgate::controlplane::replica {

struct FollowSettings {
    std::chrono::milliseconds wait{2000};             // a long poll's length: the heartbeat
    std::chrono::milliseconds retry{1000};            // after a failed call to the primary
    std::chrono::milliseconds check_interval{60000};  // checksum self-check
    std::chrono::milliseconds silence{10000};         // no word from the primary this long: lag counts on
    int64_t max_lag_entries = 50000;                  // further behind than this: re-seed
};

struct ReplicaStatus {
    int64_t pos = 0;
    uint64_t checksum = 0;
    int64_t head_pos = 0;       // the primary's, as last heard
    int64_t lag_entries = 0;
    double lag_seconds = 0;
    int64_t heard_ms = 0;       // when the primary last answered (this replica's clock)
    int64_t applied_entries = 0;
    int64_t reseeds = 0;
    int64_t divergences = 0;
    int64_t checks = 0;
    std::string state = "starting";  // starting | following | seeding | unreachable

    nlohmann::json to_json() const;
};

class Follower {
public:
    Follower(ReplicaStore& store, PrimaryClient& primary, Clock& clock, FollowSettings settings = {});
    ~Follower();
    void start();
    void stop();

    // One long poll and what follows from it (apply, check, re-seed). The error is why the
    // primary could not be followed this time.
    Result<void> step();
    // Re-seeds now from a snapshot.
    Result<void> reseed(const std::string& why);
    // Recomputes the checksum from the rows; a mismatch re-seeds. True when it matched.
    Result<bool> self_check();

    ReplicaStatus status() const;
    // Waits (on this follower's clock) until the position reaches `pos`; false after `patience`.
    bool wait_for_position(int64_t pos, std::chrono::milliseconds patience);

private:
    Result<void> apply_page(const StreamPage& page);
    void publish_metrics(const ReplicaStatus& s) const;
    void run();

    ReplicaStore& store_;
    PrimaryClient& primary_;
    Clock& clock_;
    FollowSettings settings_;
    Clock::SteadyTime next_check_{};

    mutable std::mutex mu_;  // status_
    std::condition_variable moved_;
    ReplicaStatus status_;
    int64_t newest_applied_at_ms_ = 0;  // the primary's time of the last entry applied

    std::mutex run_mu_;
    std::condition_variable run_cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace hisgate::controlplane::replica
