// The gateway's samples and alarms in the agent's state file, in tables of their own
// (vitals_records, vitals_counters) beside the queue and outbox, on a connection of its own.
//
// Group commit: ingest() only queues; one writer thread commits whatever has accumulated
// as one transaction (synchronous=FULL: one fsync for the whole batch), so a thousand beds
// at 1 Hz cost a few commits a second, not thousands. The same thread applies the
// forwarder's acknowledgements and the retention purge, so the file has one writer here.
//
// Forwarding: a watermark, forwarded_through in vitals_counters, splits the rows: those at
// or below it have reached the broker, those above it are "waiting". The forwarder reads
// the oldest waiting rows by seq range and acknowledges a batch by moving the watermark
// (one counter, in one transaction), and the waiting rows are counted in a counter kept in
// the transactions that change them, so no commit counts, scans or rewrites what waits:
// its cost follows its batch, not the backlog (bench/vitals_store_bench.cpp).
//
// The offline buffer: when more than buffer_max rows are waiting, the oldest waiting
// routine samples are deleted (thinned) in the same transaction that added the excess;
// alarms are never thinned, and neither are rows the forwarder has read into flight (above
// the watermark, at or below read_into_flight's highest seq): they are on their way up,
// and counting them thinned would overstate what the cloud misses. What was thinned is counted in vitals_counters (thinned_total,
// and thinned_unreported until the forwarder has told upstream), so the count survives a
// restart. Forwarded rows stay `retention` long, then are purged by seq range.
//
// Invariants:
//  - rows get increasing seq in ingest order (one writer, AUTOINCREMENT), so forwarding in
//    seq order keeps every bed's records in the order they arrived;
//  - the watermark only moves forward, and only to a seq the broker acknowledged: a row
//    above it is never lost to forwarding, and no waiting row is ever put below it (the
//    migration of a file from before it included, see vitals_store.cpp);
//  - the waiting counter equals the rows above the watermark: every insert, thinning and
//    acknowledgement changes both in one transaction (recomputed once at open);
//  - waiting() and read_into_flight() show only committed rows: nothing is forwarded that
//    a crash could take back;
//  - a row read into flight is never thinned: a read and a thinning commit exclude each
//    other (flight_mu_), so a row is in a batch or counted thinned, never both;
//  - a transaction is all or nothing: a batch that fails leaves the file as it was, and
//    its records are counted as dropped (reason "store_failed"), never half stored.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/vitals/drop_log.h"
#include "agent/vitals/vital_record.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/sqlite.h"

namespace hisgate::vitals {

struct VitalsStoreOptions {
    int64_t buffer_max = 200000;                        // vitals.buffer_max_samples
    std::chrono::milliseconds retention{24 * 3600 * 1000};  // forwarded rows kept this long
    std::size_t max_queued = 200000;  // records queued for the writer; past it routine samples are dropped
};

struct StoredRecord {
    int64_t seq = 0;
    VitalRecord record;
};

struct VitalsStoreFigures {
    int64_t waiting = 0;             // rows not yet forwarded
    int64_t thinned_total = 0;       // ever thinned
    int64_t thinned_unreported = 0;  // thinned and not yet reported upstream
    uint64_t commits = 0;            // transactions committed
    uint64_t stored = 0;             // records stored since open
    int64_t forwarded_through = 0;   // the watermark: every row up to this seq has reached the broker
};

class VitalsStore {
public:
    static Result<std::unique_ptr<VitalsStore>> open(const std::string& path, VitalsStoreOptions options, Clock& clock,
                                                     DropLog& drops);
    ~VitalsStore();
    VitalsStore(const VitalsStore&) = delete;
    VitalsStore& operator=(const VitalsStore&) = delete;

    // Queues records for the next commit; never waits for the disk. `on_committed` (may be
    // empty) runs on the writer thread once they are durable.
    void ingest(std::vector<VitalRecord> records, std::function<void()> on_committed = {});
    // Waits until everything submitted before it is committed (or failed).
    Result<void> flush();
    // Moves the watermark to `seq` (never back) and takes `thinned_reported` off the
    // unreported count, in one transaction; waits for it.
    Result<void> forwarded_through(int64_t seq, int64_t thinned_reported);
    // The same without waiting: queued for the writer's next commit (in the order of the
    // calls); `done` runs on the writer thread once it committed or failed, after figures()
    // show it.
    void acknowledge(int64_t seq, int64_t thinned_reported, std::function<void(const Result<void>&)> done);

    // The oldest waiting rows, at most `limit`, in seq order.
    Result<std::vector<StoredRecord>> waiting(int limit);
    // The forwarder's read: the oldest waiting rows above `after` (and above the watermark),
    // at most `limit`, in seq order, and from now on none of them is thinned until the
    // watermark passes them or release_flight() says they are no longer on their way.
    Result<std::vector<StoredRecord>> read_into_flight(int64_t after, int limit);
    // Nothing is in flight any more (a failed publish: the rows will be read again).
    void release_flight();
    VitalsStoreFigures figures() const;

private:
    struct Statements;
    struct Change {
        std::function<Result<void>(Statements&)> apply;
        std::function<void(const Result<void>&)> done;
        std::size_t records = 0;  // records it inserts: the queue bound and the waiting counter
    };
    VitalsStore(VitalsStoreOptions options, Clock& clock, DropLog& drops);
    void write_loop();
    Result<void> thin(Statements& s);
    Result<void> purge(Statements& s);
    Result<void> publish_counters(sql::Db& db);
    Result<void> submit_and_wait(std::function<Result<void>(Statements&)> apply);
    Result<std::vector<StoredRecord>> read_waiting(int64_t after, int limit);

    VitalsStoreOptions options_;
    Clock& clock_;
    DropLog& drops_;
    std::unique_ptr<Statements> writer_;
    std::unique_ptr<sql::Db> reader_;
    mutable std::mutex reader_mu_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Change> pending_;
    std::size_t queued_records_ = 0;
    bool stopping_ = false;
    std::thread writer_thread_;

    // The writer's view, published for figures().
    std::atomic<int64_t> waiting_{0}, thinned_total_{0}, thinned_unreported_{0}, forwarded_through_{0};
    std::atomic<uint64_t> commits_{0}, stored_{0};
    Clock::SteadyTime last_purge_{};

    // The highest seq read into flight (0: none). Held by a read into flight, and by the
    // writer from a thinning until its commit: a row is either in a batch or thinned.
    std::mutex flight_mu_;
    int64_t in_flight_through_ = 0;           // guarded by flight_mu_
    std::unique_lock<std::mutex> thin_hold_;  // the writer's, across a thinning commit
};

}  // namespace hisgate::vitals
