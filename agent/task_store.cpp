#include "agent/task_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>

#include "common/check.h"
#include "common/log.h"
#include "common/sqlite.h"
#include "common/thread_name.h"

namespace hisgate::agent {

namespace {
// Version 2: tasks are addressed by row, states are stored as their codes, and a task's
// outbox row points at the task instead of holding a copy of its answer. Version 1 keyed
// tasks by their text id and spelled states out; its files are rewritten once.
// Version 3 adds the revoke fence (revoked_orders); a version 2 file only gains the table.
constexpr int kSchemaVersion = 3;

// Rollback across a schema change (docs/updater.md, "State: nothing accepted during the
// trial is lost"). A release on trial migrates the live state file forward, accepts tasks
// into it, and may be rolled back; the older agent must then resume those tasks from that
// same file, so it has to open a file newer than it knows. `user_version` is the schema
// version that last wrote the file; store_format.min_reader is the oldest schema version
// whose agent may still read and write it. A release whose change is additive (new tables,
// new columns with defaults: this version's named-column INSERTs leave them at their
// defaults, and it never reads them) keeps min_reader; one that older code would break
// raises it, and then an older agent refuses the file (queue.schema_too_new) and the
// updater restores the backup. Version 3's min_reader is 3: an agent before the revoke
// fence would send changes for revoked orders.
constexpr int kMinReader = 3;
const char* kFormatTable = R"(
CREATE TABLE IF NOT EXISTS store_format(
  one INTEGER PRIMARY KEY CHECK(one = 1),
  min_reader INTEGER NOT NULL);
)";
const char* kHasFormatTable = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'store_format'";

// state: TaskState's code, 0 queued, 1 dispatched, 2 done, 3 parked. A code, not a word,
// so that counting a dispatch (0 -> 1, attempts 0 -> 1) leaves the row the same size and
// SQLite overwrites it in place instead of moving it.
const char* kTasksTable = R"(
CREATE TABLE IF NOT EXISTS tasks(
  row INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  class TEXT NOT NULL,
  request TEXT NOT NULL,
  reply_topic TEXT NOT NULL,
  correlation BLOB NOT NULL,
  traceparent TEXT NOT NULL,
  state INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  answer TEXT NOT NULL DEFAULT '');
)";

// A row either carries its message (an event, an answer to a duplicate) or names the
// task whose answer it is (task_row, the other columns NULL). seq is given by the writer,
// which never hands out a number twice while it runs (see Statements::next_seq).
const char* kOutboxTable = R"(
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY,
  topic TEXT,
  payload BLOB,
  correlation BLOB,
  traceparent TEXT,
  task_row INTEGER);
)";

// Orders revoked at this agent (agent/order_fence.h): a change for one of them never goes
// to the HIS again. Rows are never deleted: a fence that lapsed would let a late change in.
const char* kRevokedTable = R"(
CREATE TABLE IF NOT EXISTS revoked_orders(
  order_id TEXT PRIMARY KEY,
  revoked_ms INTEGER NOT NULL) WITHOUT ROWID;
)";

const char* kFromVersion1 = R"(
ALTER TABLE tasks RENAME TO tasks_v1;
ALTER TABLE outbox RENAME TO outbox_v1;
%TASKS%
%OUTBOX%
INSERT INTO tasks(id, type, class, request, reply_topic, correlation, traceparent, state, attempts,
                  next_attempt_ms, created_ms, finished_ms, last_error, answer)
  SELECT id, type, class, request, reply_topic, correlation, traceparent,
         CASE state WHEN 'queued' THEN 0 WHEN 'dispatched' THEN 1 WHEN 'done' THEN 2 ELSE 3 END, attempts,
         next_attempt_ms, created_ms, finished_ms, last_error, answer FROM tasks_v1 ORDER BY created_ms;
INSERT INTO outbox(seq, topic, payload, correlation, traceparent)
  SELECT seq, topic, payload, correlation, traceparent FROM outbox_v1 ORDER BY seq;
DROP TABLE tasks_v1;
DROP TABLE outbox_v1;
)";

// WAL pages after which the checkpoint thread copies the WAL into the database file
// (SQLite's own default for its inline checkpoint). The WAL file is cut back to
// kWalKeepBytes once a checkpoint has caught up, so a burst does not leave it large.
constexpr int kCheckpointPages = 1000;
constexpr const char* kWalKeepBytes = "16777216";

Error storage_error(const std::string& what) { return make_error(ErrorClass::Internal, "queue.storage", what); }

Result<void> ran(sql::Statement& s) {
    auto r = s.run();
    s.reset();
    return r;
}

// Runs a statement that must change exactly one row: a task's row, addressed by its
// number, that is not there is a broken invariant the caller must hear about, not a no-op.
Result<void> ran_on_one_row(sql::Db& db, sql::Statement& s, const char* what, int64_t row) {
    if (auto r = ran(s); !r) return r;
    if (int n = sqlite3_changes(db.handle()); n != 1)
        return storage_error(std::string(what) + ": row " + std::to_string(row) + " changed " + std::to_string(n) +
                             " rows, expected exactly 1");
    return {};
}

std::string replaced(std::string text, const std::string& mark, const std::string& with) {
    return text.replace(text.find(mark), mark.size(), with);
}

Result<int64_t> single_integer(sql::Db& db, const char* query) {
    auto q = db.prepare(query);
    if (!q) return q.error();
    int64_t n = q->step() ? q->integer(0) : 0;
    if (q->error()) return *q->error();
    return n;
}

// The newer file's store_format.min_reader; without a row, its own version (readable only
// by that version). A row that is not a positive integer (text, 0, a negative, a real) is
// damage, refused: read as a number it would be 0, and the file opened by any agent.
Result<int64_t> newer_file_min_reader(sql::Db& db, int64_t version, bool has_format) {
    if (!has_format) return version;
    auto q = db.prepare("SELECT typeof(min_reader), quote(min_reader), min_reader FROM store_format WHERE one = 1");
    if (!q) return q.error();
    if (!q->step()) {
        if (q->error()) return *q->error();
        return version;
    }
    const std::string type = q->text(0), shown = q->text(1);
    const int64_t n = q->integer(2);
    if (q->error()) return *q->error();
    if (type != "integer" || n <= 0)
        return make_error(ErrorClass::Config, "queue.bad_store_format",
                          "the state file's store_format.min_reader is " + shown.substr(0, 64) + " (" + type +
                              "); expected a positive integer, the oldest agent schema that may read the file "
                              "(the file is damaged or was not written by an agent)");
    return n;
}

// Creates the tables, or brings an older file to kSchemaVersion, in one transaction. A
// newer file is used as it is when its min_reader allows this version (see kMinReader).
Result<void> prepare_schema(sql::Db& db) {
    auto version = single_integer(db, "PRAGMA user_version");
    if (!version) return version.error();
    auto has_format = single_integer(db, kHasFormatTable);
    if (!has_format) return has_format.error();
    if (*version > kSchemaVersion) {
        auto min_reader = newer_file_min_reader(db, *version, *has_format != 0);
        if (!min_reader) return min_reader.error();
        if (*min_reader <= kSchemaVersion) return {};
        return make_error(ErrorClass::Config, "queue.schema_too_new",
                          "the state file has schema version " + std::to_string(*version) + " and needs an agent of schema " +
                              std::to_string(*min_reader) + " or newer; this agent knows up to " +
                              std::to_string(kSchemaVersion) + " (was it written by a newer release?)");
    }
    std::string format = std::string(kFormatTable) + "INSERT OR IGNORE INTO store_format(one, min_reader) VALUES(1, " +
                         std::to_string(kMinReader) + ");";
    if (*version == kSchemaVersion) {
        // A version 3 file from before store_format gains it (additive: the version stays).
        if (*has_format) return {};
        return db.transaction([&] { return db.exec(format); });
    }
    auto v1_tables = single_integer(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tasks'");
    if (!v1_tables) return v1_tables.error();
    std::string script = *version == 2 ? std::string()
                         : *v1_tables  ? replaced(replaced(kFromVersion1, "%TASKS%", kTasksTable), "%OUTBOX%", kOutboxTable)
                                       : std::string(kTasksTable) + kOutboxTable;
    script += kRevokedTable;
    script += format;
    return db.transaction([&] { return db.exec(script + "PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";"); });
}

// A code this version does not know means a hand edit or a damaged file: an error, never
// a guess (reading it as Queued would run a settled task again).
Result<TaskState> state_of_code(int64_t code) {
    switch (code) {
        case 0: return TaskState::Queued;
        case 1: return TaskState::Dispatched;
        case 2: return TaskState::Done;
        case 3: return TaskState::Parked;
        default:
            return make_error(ErrorClass::Internal, "queue.corrupt_row",
                              "tasks.state " + std::to_string(code) +
                                  ": expected 0 (queued), 1 (dispatched), 2 (done) or 3 (parked)");
    }
}

Result<TaskClass> class_of_name(const std::string& name) {
    if (name == to_string(TaskClass::RealTime)) return TaskClass::RealTime;
    if (name == to_string(TaskClass::Deferred)) return TaskClass::Deferred;
    return make_error(ErrorClass::Internal, "queue.corrupt_row",
                      "tasks.class \"" + name + "\": expected \"realtime\" or \"deferred\"");
}
}  // namespace

struct TaskStore::Statements {
    enum Query { InsertTask, FindTask, MarkDispatched, MarkRetry, MarkFinished, InsertAnswer, InsertOutbox,
                 DeleteOutbox, Purge, Unfinished, OutboxAfter, OutboxSize, RevokeOrder, IsRevoked, ParkedSince };
    sql::Db db;
    std::vector<sql::Statement> queries;  // indexed by Query
    // The writer's next outbox seq: one past the highest at open, then counting up, so
    // seq never goes back while the agent runs, even when the outbox empties (the
    // forwarder reads rows after the last seq it sent). A rolled-back batch leaves a gap.
    int64_t next_seq = 1;
    sql::Statement& operator[](Query q) { return queries[q]; }

    static Result<std::unique_ptr<Statements>> open(const std::string& path) {
        // Each connection is used by one thread at a time: the writer's by the writer
        // thread, the reader's under reader_mu_.
        auto db = sql::Db::open(path, /*serialized=*/false);
        if (!db) return db.error();
        if (auto r = db->exec("PRAGMA synchronous=FULL"); !r) return r.error();
        if (auto r = prepare_schema(db.value()); !r) return r.error();
        auto s = std::unique_ptr<Statements>(new Statements{std::move(db.value()), {}});
        static_assert(static_cast<int>(TaskState::Queued) == 0 && static_cast<int>(TaskState::Dispatched) == 1 &&
                      static_cast<int>(TaskState::Done) == 2 && static_cast<int>(TaskState::Parked) == 3);
        const char* all[] = {
            /* InsertTask */
            "INSERT OR IGNORE INTO tasks(id, type, class, request, reply_topic, correlation, traceparent, state, "
            "attempts, next_attempt_ms, created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, ?8, ?9)",
            /* FindTask */ "SELECT state, answer FROM tasks WHERE id = ?1",
            /* MarkDispatched */ "UPDATE tasks SET state = 1, attempts = ?2 WHERE row = ?1",
            /* MarkRetry */ "UPDATE tasks SET state = 0, next_attempt_ms = ?2, last_error = ?3 WHERE row = ?1",
            /* MarkFinished */
            "UPDATE tasks SET state = ?2, answer = ?3, last_error = ?4, finished_ms = ?5 WHERE row = ?1",
            /* InsertAnswer */ "INSERT INTO outbox(seq, task_row) VALUES(?1, ?2)",
            /* InsertOutbox */
            "INSERT INTO outbox(seq, topic, payload, correlation, traceparent) VALUES(?1, ?2, ?3, ?4, ?5)",
            /* DeleteOutbox */ "DELETE FROM outbox WHERE seq <= ?1",
            /* Purge */
            "DELETE FROM tasks WHERE state >= 2 AND finished_ms < ?1 "
            "AND row NOT IN (SELECT task_row FROM outbox WHERE task_row IS NOT NULL)",
            /* Unfinished: every state but the settled ones, so an unknown code surfaces as an error */
            "SELECT row, id, type, class, request, reply_topic, correlation, traceparent, state, attempts, "
            "next_attempt_ms, created_ms, last_error FROM tasks WHERE state NOT IN (2, 3) ORDER BY created_ms",
            /* OutboxAfter */
            "SELECT o.seq, coalesce(o.topic, t.reply_topic), coalesce(o.payload, t.answer), "
            "coalesce(o.correlation, t.correlation), coalesce(o.traceparent, t.traceparent) "
            "FROM outbox o LEFT JOIN tasks t ON t.row = o.task_row WHERE o.seq > ?1 AND o.seq <= ?3 "
            "ORDER BY o.seq LIMIT ?2",
            /* OutboxSize */ "SELECT count(*) FROM outbox",
            /* RevokeOrder: the first revoke's time stays */
            "INSERT OR IGNORE INTO revoked_orders(order_id, revoked_ms) VALUES(?1, ?2)",
            /* IsRevoked */ "SELECT count(*) FROM revoked_orders WHERE order_id = ?1",
            /* ParkedSince */
            "SELECT row, id, type, class, request, reply_topic, correlation, traceparent, state, attempts, "
            "next_attempt_ms, created_ms, last_error FROM tasks WHERE state = 3 AND finished_ms >= ?1 ORDER BY created_ms",
        };
        for (const char* text : all) {
            auto st = s->db.prepare(text);
            if (!st) return st.error();
            s->queries.push_back(std::move(st.value()));
        }
        return s;
    }
};

Result<std::unique_ptr<TaskStore>> TaskStore::open(const std::string& path, TaskStoreOptions options) {
    auto failed = [&](const Error& e) { return make_error(e.cls, "queue.open_failed", "task queue " + path + ": " + e.message); };
    auto store = std::unique_ptr<TaskStore>(new TaskStore());
    store->options_ = options;
    auto writer = Statements::open(path);
    if (!writer) return failed(writer.error());
    store->writer_ = std::move(writer.value());
    auto& writer_db = store->writer_->db;
    auto last_seq = single_integer(writer_db, "SELECT coalesce(max(seq), 0) FROM outbox");
    if (!last_seq) return failed(last_seq.error());
    store->writer_->next_seq = *last_seq + 1;
    store->durable_seq_ = *last_seq;
    if (options.group_commit) {
        // Durability: a change is reported only after the WAL holding its commit was
        // fdatasync'ed by the completion thread (see complete_loop), so NORMAL, which
        // leaves that sync out of COMMIT, loses nothing; the writer goes on meanwhile.
        // Without group commit each COMMIT syncs itself (FULL), as the baseline should.
        if (auto r = writer_db.exec("PRAGMA synchronous=NORMAL"); !r) return failed(r.error());
        store->wal_fd_ = ::open((path + "-wal").c_str(), O_RDWR | O_CLOEXEC);
        if (store->wal_fd_ < 0)
            return failed(make_error(ErrorClass::Internal, "", std::string("cannot open its WAL: ") + std::strerror(errno)));
        // The WAL's directory entry must be durable too before anything in it counts.
        std::string dir = std::filesystem::path(path).parent_path().string();
        int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
            auto error = make_error(ErrorClass::Internal, "queue.storage",
                                    "cannot make the WAL's directory entry durable in " + (dir.empty() ? "." : dir) +
                                        ": " + std::strerror(errno));
            if (dir_fd >= 0) ::close(dir_fd);
            return failed(error);
        }
        ::close(dir_fd);
    }
    auto reader = Statements::open(path);
    if (!reader) return failed(reader.error());
    store->reader_ = std::move(reader.value());
    auto checkpointer = sql::Db::open(path, /*serialized=*/false);
    if (!checkpointer) return failed(checkpointer.error());
    store->checkpointer_ = std::make_unique<sql::Db>(std::move(checkpointer.value()));
    if (auto r = writer_db.exec(std::string("PRAGMA journal_size_limit=") + kWalKeepBytes); !r) return failed(r.error());
    // Replaces SQLite's inline autocheckpoint: commits only count WAL pages.
    sqlite3_wal_hook(writer_db.handle(), &TaskStore::on_wal_commit, store.get());
    store->checkpoint_thread_ = std::thread([s = store.get()] { s->checkpoint_loop(); });
    store->writer_thread_ = std::thread([s = store.get()] { s->write_loop(); });
    store->completion_thread_ = std::thread([s = store.get()] { s->complete_loop(); });
    return store;
}

TaskStore::~TaskStore() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (writer_thread_.joinable()) writer_thread_.join();
    {
        std::lock_guard lock(completed_mu_);
        writer_done_ = true;
    }
    completed_cv_.notify_all();
    if (completion_thread_.joinable()) completion_thread_.join();
    {
        std::lock_guard lock(checkpoint_mu_);
        checkpoint_stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
    if (wal_fd_ >= 0) ::close(wal_fd_);
}

// On the writer thread, after each commit: never checkpoints itself, only asks for one.
int TaskStore::on_wal_commit(void* store, sqlite3*, const char*, int wal_pages) {
    if (wal_pages < kCheckpointPages) return SQLITE_OK;
    auto* self = static_cast<TaskStore*>(store);
    {
        std::lock_guard lock(self->checkpoint_mu_);
        self->checkpoint_due_ = true;
    }
    self->checkpoint_cv_.notify_one();
    return SQLITE_OK;
}

// PASSIVE: copies what no reader still needs and never blocks the writer or readers.
// Under a steady load the WAL may grow past kCheckpointPages until a checkpoint catches
// up; the writer then starts it over from the beginning.
void TaskStore::checkpoint_loop() {
    name_this_thread("store-checkpoint");
    for (;;) {
        {
            std::unique_lock lock(checkpoint_mu_);
            checkpoint_cv_.wait(lock, [this] { return checkpoint_stopping_ || checkpoint_due_; });
            if (checkpoint_stopping_) return;
            checkpoint_due_ = false;
        }
        int wal_pages = 0, copied = 0;
        int rc = sqlite3_wal_checkpoint_v2(checkpointer_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log::warn("queue.checkpoint_failed", {{"error", sqlite3_errmsg(checkpointer_->handle())}});
    }
}

void TaskStore::submit(std::function<Result<void>(Statements&)> apply, Done done) {
    {
        std::lock_guard lock(mu_);
        pending_.push_back({std::move(apply), std::move(done)});
    }
    cv_.notify_one();
}

// Drains everything submitted so far; what arrives while a batch commits forms the next
// batch, so the batch grows with the load and one fsync serves all of it.
void TaskStore::write_loop() {
    name_this_thread("store-writer");
    std::vector<Change> batch;
    for (;;) {
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (pending_.empty() && stopping_) return;
            batch.swap(pending_);
        }
        if (options_.group_commit) {
            commit_batch(batch);
        } else {
            for (auto& change : batch) {
                std::vector<Change> one;
                one.push_back(std::move(change));
                commit_batch(one);
            }
        }
        batch.clear();
    }
}

// One transaction per batch, one savepoint per change inside it: a change that fails
// leaves no trace (a task is never Done without its answer) and the others still commit.
// A failure after which SQLite rolled the whole transaction back (SQLITE_FULL, IOERR,
// NOMEM inside a statement) takes the batch with it: nothing after it may run, or it
// would commit change by change in autocommit, and every change is reported failed.
void TaskStore::commit_batch(std::vector<Change>& batch) {
    auto& db = writer_->db;
    std::vector<Completed> completed;
    completed.reserve(batch.size());
    auto began = db.exec("BEGIN IMMEDIATE");
    std::optional<Error> failed;
    if (!began) failed = storage_error("cannot begin a transaction: " + began.error().message);
    for (auto& c : batch) {
        Result<void> outcome = failed ? Result<void>(*failed) : db.savepoint([&] { return c.apply(*writer_); });
        if (!failed && !outcome && !db.in_transaction())
            failed = storage_error("the batch was rolled back: " + outcome.error().message);
        completed.push_back({std::move(c), std::move(outcome)});
    }
    if (!failed) {
        if (auto committed = db.exec("COMMIT"); !committed) {
            failed = db.abandon_transaction(storage_error("commit failed: " + committed.error().message));
        } else {
            ++commits_;
        }
    }
    if (failed)
        for (auto& c : completed) c.outcome = *failed;
    HISGATE_CHECK(!db.in_transaction(), "queue.transaction_left_open", "the writer left a batch's transaction open");
    {
        std::lock_guard lock(completed_mu_);
        if (completed_.empty())
            completed_.swap(completed);
        else
            for (auto& c : completed) completed_.push_back(std::move(c));
        committed_seq_ = writer_->next_seq - 1;
    }
    completed_cv_.notify_one();
}

// Tells callers their changes are durable (or failed), in the order they were submitted.
// With group commit, first makes every commit so far durable with one fdatasync of the
// WAL (frames are appended in commit order, so one sync covers all of them), while the
// writer is already applying the next batch: the sync and the next batch's work overlap.
void TaskStore::complete_loop() {
    name_this_thread("store-done");
    std::vector<Completed> batch;
    for (;;) {
        int64_t committed_seq = 0;
        {
            std::unique_lock lock(completed_mu_);
            completed_cv_.wait(lock, [this] { return writer_done_ || !completed_.empty(); });
            if (completed_.empty()) return;  // the writer has stopped and nothing is left
            batch.swap(completed_);
            committed_seq = committed_seq_;
        }
        if (wal_fd_ >= 0 && ::fdatasync(wal_fd_) != 0) {
            // Whether these commits reached the disk is unknown: report them failed, as a
            // failed COMMIT would be (callers keep their tasks and try again).
            auto failed = storage_error(std::string("cannot sync the WAL: ") + std::strerror(errno));
            log::error("queue.sync_failed", {{"error", failed.message}});
            for (auto& c : batch)
                if (c.outcome) c.outcome = failed;
        } else {
            durable_seq_.store(committed_seq);
        }
        for (auto& c : batch) c.change.done(std::move(c.outcome));
        batch.clear();
    }
}

void TaskStore::admit(std::shared_ptr<const Task> shared, std::function<void(Result<Admission>)> done) {
    auto admission = std::make_shared<Admission>();
    submit(
        [shared = std::move(shared), admission](Statements& s) -> Result<void> {
            const Task& task = *shared;
            auto& insert = s[Statements::InsertTask];
            insert.bind(1, task.id).bind(2, task.type).bind(3, to_string(task.cls)).bind(4, task.request);
            insert.bind(5, task.reply_topic).bind(6, task.correlation).bind(7, task.traceparent);
            insert.bind(8, task.next_attempt_ms).bind(9, task.created_ms);
            if (auto r = ran(insert); !r) return r;
            if (sqlite3_changes(s.db.handle()) == 1) {
                admission->fresh = true;
                admission->row = s.db.last_insert_rowid();
                return {};
            }
            auto& find = s[Statements::FindTask];
            find.bind(1, task.id);
            if (find.step()) {
                auto state = state_of_code(find.integer(0));
                if (!state) {
                    find.reset();
                    return state.error();
                }
                admission->state = *state;
                admission->answer = find.text(1);
            }
            find.reset();
            return {};
        },
        [admission, done = std::move(done)](Result<void> r) {
            if (!r) return done(r.error());
            done(*admission);
        });
}

void TaskStore::dispatched(TaskRow row, int attempts, Done done) { dispatched_all({{row, attempts}}, std::move(done)); }

void TaskStore::dispatched_all(std::vector<std::pair<TaskRow, int>> attempts, Done done) {
    submit(
        [attempts = std::move(attempts)](Statements& s) -> Result<void> {
            for (const auto& [row, n] : attempts) {
                s[Statements::MarkDispatched].bind(1, row).bind(2, n);
                if (auto r = ran_on_one_row(s.db, s[Statements::MarkDispatched], "marking a task dispatched", row); !r)
                    return r;
            }
            return {};
        },
        std::move(done));
}

void TaskStore::barrier(Done done) {
    submit([](Statements&) -> Result<void> { return {}; }, std::move(done));
}

void TaskStore::change_for_test(std::function<Result<void>(sql::Db&)> apply, Done done) {
    submit([apply = std::move(apply)](Statements& s) { return apply(s.db); }, std::move(done));
}

void TaskStore::retry_later(TaskRow row, int64_t next_attempt_ms, const std::string& error, Done done) {
    submit(
        [row, next_attempt_ms, error](Statements& s) {
            s[Statements::MarkRetry].bind(1, row).bind(2, next_attempt_ms).bind(3, error);
            return ran_on_one_row(s.db, s[Statements::MarkRetry], "putting a task back for a retry", row);
        },
        std::move(done));
}

void TaskStore::finish(TaskRow row, TaskState state, const std::string& answer, const std::string& error,
                       bool forward_answer, Done done) {
    submit(
        [row, forward = forward_answer, state, answer, error, at = unix_ms_now()](Statements& s) -> Result<void> {
            auto& mark = s[Statements::MarkFinished];
            mark.bind(1, row).bind(2, static_cast<int64_t>(state)).bind(3, answer).bind(4, error).bind(5, at);
            if (auto r = ran_on_one_row(s.db, mark, "finishing a task", row); !r) return r;
            if (!forward) return {};
            // The answer enters the outbox in the same change: both or neither (savepoint).
            s[Statements::InsertAnswer].bind(1, s.next_seq++).bind(2, row);
            return ran_on_one_row(s.db, s[Statements::InsertAnswer], "queueing a task's answer", row);
        },
        std::move(done));
}

void TaskStore::append_outbox(const OutboxMessage& message, Done done) {
    submit(
        [message](Statements& s) {
            s[Statements::InsertOutbox].bind(1, s.next_seq++).bind(2, message.topic).bind(3, message.payload);
            s[Statements::InsertOutbox].bind(4, message.correlation).bind(5, message.traceparent);
            return ran(s[Statements::InsertOutbox]);
        },
        std::move(done));
}

void TaskStore::forwarded_through(int64_t seq, Done done) {
    submit(
        [seq](Statements& s) {
            s[Statements::DeleteOutbox].bind(1, seq);
            return ran(s[Statements::DeleteOutbox]);
        },
        std::move(done));
}

void TaskStore::purge_finished(int64_t before_ms, Done done) {
    submit(
        [before_ms](Statements& s) {
            s[Statements::Purge].bind(1, before_ms);
            return ran(s[Statements::Purge]);
        },
        std::move(done));
}

Result<Admission> TaskStore::admit_sync(const Task& task) {
    std::promise<Result<Admission>> p;
    admit(std::make_shared<const Task>(task), [&p](Result<Admission> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
}

Result<void> TaskStore::wait(const std::function<void(Done)>& change) {
    std::promise<Result<void>> p;
    change([&p](Result<void> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
}

Result<std::vector<Task>> TaskStore::unfinished() {
    std::lock_guard lock(reader_mu_);
    return read_tasks((*reader_)[Statements::Unfinished]);
}

Result<std::vector<Task>> TaskStore::parked_since(int64_t since_ms) {
    std::lock_guard lock(reader_mu_);
    auto& q = (*reader_)[Statements::ParkedSince];
    q.bind(1, since_ms);
    return read_tasks(q);
}

// The rows of a query over tasks' columns (the Unfinished statement's), reset after.
Result<std::vector<Task>> TaskStore::read_tasks(sql::Statement& q) {
    std::vector<Task> tasks;
    while (q.step()) {
        Task t;
        t.row = q.integer(0);
        t.id = q.text(1);
        t.type = q.text(2);
        auto cls = class_of_name(q.text(3));
        auto state = state_of_code(q.integer(8));
        if (!cls || !state) {
            q.reset();
            return cls ? state.error() : cls.error();
        }
        t.cls = *cls;
        t.request = q.text(4);
        t.reply_topic = q.text(5);
        t.correlation = q.text(6);
        t.traceparent = q.text(7);
        t.state = *state;
        t.attempts = static_cast<int>(q.integer(9));
        t.next_attempt_ms = q.integer(10);
        t.created_ms = q.integer(11);
        t.last_error = q.text(12);
        tasks.push_back(std::move(t));
    }
    auto error = q.error();
    q.reset();
    if (error) return *error;
    return tasks;
}

Result<std::vector<OutboxRow>> TaskStore::outbox_after(int64_t after_seq, int limit) {
    std::lock_guard lock(reader_mu_);
    auto& q = (*reader_)[Statements::OutboxAfter];
    q.bind(1, after_seq).bind(2, limit).bind(3, durable_seq_.load());
    std::vector<OutboxRow> rows;
    while (q.step()) rows.push_back({q.integer(0), {q.text(1), q.text(2), q.text(3), q.text(4)}});
    auto error = q.error();
    q.reset();
    if (error) return *error;
    return rows;
}

Result<int64_t> TaskStore::outbox_size() {
    std::lock_guard lock(reader_mu_);
    auto& q = (*reader_)[Statements::OutboxSize];
    int64_t n = q.step() ? q.integer(0) : 0;
    q.reset();
    return n;
}

void TaskStore::revoke_order(const std::string& order_id, int64_t now_ms, Done done) {
    submit(
        [order_id, now_ms](Statements& s) {
            s[Statements::RevokeOrder].bind(1, order_id).bind(2, now_ms);
            return ran(s[Statements::RevokeOrder]);
        },
        std::move(done));
}

Result<bool> TaskStore::is_revoked(const std::string& order_id) {
    std::lock_guard lock(reader_mu_);
    auto& q = (*reader_)[Statements::IsRevoked];
    q.bind(1, order_id);
    bool revoked = q.step() && q.integer(0) > 0;
    auto error = q.error();
    q.reset();
    if (error) return *error;
    return revoked;
}

uint64_t TaskStore::commits() const { return commits_.load(); }

}  // namespace hisgate::agent
