// The agent's durable state in one SQLite file (WAL): the task queue, the outbox, and the
// orders revoked here (the revoke fence, agent/order_fence.h).
//
// Every change goes through one writer thread that commits whatever has accumulated as
// one transaction (group commit): many tasks share one fsync, and a caller's change is
// durable when its completion runs. Completions run in submission order on one
// completion thread, which first syncs the WAL for every commit since its last sync;
// the writer is meanwhile already applying the next batch, so the disk's sync and the
// writer's work overlap instead of taking turns. With group commit off, each change is its own
// transaction, which is what the benchmark compares against. A checkpoint thread copies
// the WAL into the database file on its own connection, so the writer never stops for
// a checkpoint (SQLite would otherwise run one inside every thousandth-page commit).
//
// Invariants:
//  - A change is reported done only after its transaction is on disk (with group
//    commit: committed and then the WAL fdatasync'ed; without: synchronous=FULL), so a
//    kill -9 or a power cut after that never loses it.
//  - The forwarder is never shown an outbox row before its commit is on disk.
//  - A task's answer enters the outbox in the same transaction that finishes the task,
//    so a finished task always has its answer waiting to be forwarded. Its outbox row
//    only points at the task: topic, answer, correlation and trace are read from the
//    task's row, so the answer is written once, and a task is never purged while its
//    answer still waits in the outbox.
//  - Tasks are changed by their row number (the rowid, handed out at admission), never
//    looked up by their text id after admission.
//  - Outbox rows are forwarded in seq order; a row is deleted only after the broker
//    acknowledged it (so after a crash it may be sent again: receivers dedupe).
//  - A revoked order stays revoked: its row is never deleted or purged.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/task.h"
#include "common/error.h"
#include "common/sqlite.h"

namespace hisgate::agent {

struct OutboxMessage {
    std::string topic;
    std::string payload;
    std::string correlation;
    std::string traceparent;
};

struct OutboxRow {
    int64_t seq = 0;
    OutboxMessage message;
};

// What the queue found when a request arrived.
struct Admission {
    bool fresh = false;        // a new task was stored
    TaskRow row = 0;           // the stored task's row, for every later change
    TaskState state = TaskState::Queued;  // the stored task's state
    std::string answer;        // a finished task's answer (to send again to a duplicate)
};

struct TaskStoreOptions {
    bool group_commit = true;
};

class TaskStore {
public:
    using Done = std::function<void(Result<void>)>;

    static Result<std::unique_ptr<TaskStore>> open(const std::string& path, TaskStoreOptions options = {});
    ~TaskStore();
    TaskStore(const TaskStore&) = delete;
    TaskStore& operator=(const TaskStore&) = delete;

    // Tasks not yet finished (queued or dispatched), oldest first: what a restart resumes.
    Result<std::vector<Task>> unfinished();

    // Stores `task` unless a task with its id exists. `done` runs on the completion
    // thread after the commit; keep it short, and never wait on the store from it.
    // Shared, so the caller can keep the task it admits without a copy of its strings.
    void admit(std::shared_ptr<const Task> task, std::function<void(Result<Admission>)> done);
    // Counts a dispatch before the HIS sees the task.
    void dispatched(TaskRow row, int attempts, Done done);
    // The same for many tasks as one change: (row, attempts) each.
    void dispatched_all(std::vector<std::pair<TaskRow, int>> attempts, Done done);
    // The attempt failed in a way worth retrying: try again at `next_attempt_ms`.
    void retry_later(TaskRow row, int64_t next_attempt_ms, const std::string& error, Done done);
    // Finishes the task (Done or Parked) with its answer and, with `forward_answer` (the
    // task has a reply topic), queues the answer for the control plane in the same
    // transaction.
    void finish(TaskRow row, TaskState state, const std::string& answer, const std::string& error, bool forward_answer,
                Done done);
    // An event or an answer that belongs to no new task (e.g. to a duplicate request).
    void append_outbox(const OutboxMessage& message, Done done);
    // Removes outbox rows up to and including `seq`, once the broker has them.
    void forwarded_through(int64_t seq, Done done);
    // Removes finished tasks older than `before_ms` whose answers have left the outbox
    // (their ids are then forgotten).
    void purge_finished(int64_t before_ms, Done done);
    // Records that `order_id` was revoked (durable when `done` runs; a second revoke keeps
    // the first one's time).
    void revoke_order(const std::string& order_id, int64_t now_ms, Done done);
    // Whether `order_id` was revoked (read on its own connection: sees every revoke whose
    // `done` has run).
    Result<bool> is_revoked(const std::string& order_id);
    // Changes nothing; `done` runs after every change submitted before it has completed.
    void barrier(Done done);
    // Tests only: runs `apply` on the writer's connection as one change of a batch (to
    // inject faults with a TEMP trigger, or hold the writer so that a batch forms).
    void change_for_test(std::function<Result<void>(sql::Db&)> apply, Done done);

    // Blocking forms of the above, for callers that must wait for durability.
    Result<Admission> admit_sync(const Task& task);
    Result<void> wait(const std::function<void(Done)>& change);

    // The oldest outbox rows after `after_seq`, at most `limit` of them.
    Result<std::vector<OutboxRow>> outbox_after(int64_t after_seq, int limit);
    Result<int64_t> outbox_size();

    // Transactions committed so far (a benchmark figure).
    uint64_t commits() const;

private:
    struct Statements;
    struct Change {
        std::function<Result<void>(Statements&)> apply;
        Done done;
    };
    TaskStore() = default;
    struct Completed {
        Change change;  // destroyed on the completion thread too, off the writer's path
        Result<void> outcome;
    };
    void submit(std::function<Result<void>(Statements&)> apply, Done done);
    void write_loop();
    void commit_batch(std::vector<Change>& batch);
    void complete_loop();
    void checkpoint_loop();
    static int on_wal_commit(void* store, sqlite3* db, const char* name, int wal_pages);

    TaskStoreOptions options_;
    std::unique_ptr<Statements> writer_;  // the writer thread's connection and statements
    std::unique_ptr<Statements> reader_;  // another connection, for reads from any thread
    std::mutex reader_mu_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Change> pending_;
    bool stopping_ = false;
    std::atomic<uint64_t> commits_{0};
    std::thread writer_thread_;

    std::mutex completed_mu_;
    std::condition_variable completed_cv_;
    std::vector<Completed> completed_;  // committed (or failed), in submission order
    bool writer_done_ = false;
    int64_t committed_seq_ = 0;  // the highest outbox seq committed so far
    std::thread completion_thread_;
    int wal_fd_ = -1;  // with group commit: the WAL, synced by the completion thread
    // The highest outbox seq whose commit is durable: the forwarder never sends beyond
    // it, so nothing leaves the agent that a power cut could still take back.
    std::atomic<int64_t> durable_seq_{0};

    std::unique_ptr<sql::Db> checkpointer_;  // its own connection: a checkpoint never holds up reads
    std::mutex checkpoint_mu_;
    std::condition_variable checkpoint_cv_;
    bool checkpoint_due_ = false, checkpoint_stopping_ = false;
    std::thread checkpoint_thread_;
};

}  // namespace hisgate::agent
