#include "agent/task_store.h"

#include <future>

#include "common/sqlite.h"

namespace hisgate::agent {

namespace {
const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS tasks(
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  class TEXT NOT NULL,
  request TEXT NOT NULL,
  reply_topic TEXT NOT NULL,
  correlation BLOB NOT NULL,
  traceparent TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  answer TEXT NOT NULL DEFAULT '');
DROP INDEX IF EXISTS tasks_unfinished;
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  correlation BLOB NOT NULL,
  traceparent TEXT NOT NULL);
)";

Error storage_error(const std::string& what) { return make_error(ErrorClass::Internal, "queue.storage", what); }

Result<void> ran(sql::Statement& s) {
    auto r = s.run();
    s.reset();
    return r;
}
}  // namespace

struct TaskStore::Statements {
    enum Query { InsertTask, FindTask, MarkDispatched, MarkRetry, MarkFinished, InsertOutbox, DeleteOutbox, Purge,
                 Unfinished, OutboxAfter, OutboxSize };
    sql::Db db;
    std::vector<sql::Statement> queries;  // indexed by Query
    sql::Statement& operator[](Query q) { return queries[q]; }

    static Result<std::unique_ptr<Statements>> open(const std::string& path) {
        // Each connection is used by one thread at a time: the writer's by the writer
        // thread, the reader's under reader_mu_.
        auto db = sql::Db::open(path, /*serialized=*/false);
        if (!db) return db.error();
        // FULL: a commit is on disk before it is reported, so an acknowledged task
        // survives a power cut too, not only a crash. Group commit pays for it.
        if (auto r = db->exec("PRAGMA synchronous=FULL"); !r) return r.error();
        if (auto r = db->exec(kSchema); !r) return r.error();
        auto s = std::unique_ptr<Statements>(new Statements{std::move(db.value()), {}});
        const char* all[] = {
            /* InsertTask */
            "INSERT OR IGNORE INTO tasks(id, type, class, request, reply_topic, correlation, traceparent, state, "
            "attempts, next_attempt_ms, created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', 0, ?8, ?9)",
            /* FindTask */ "SELECT state, answer FROM tasks WHERE id = ?1",
            /* MarkDispatched */ "UPDATE tasks SET state = 'dispatched', attempts = ?2 WHERE id = ?1",
            /* MarkRetry */
            "UPDATE tasks SET state = 'queued', next_attempt_ms = ?2, last_error = ?3 WHERE id = ?1",
            /* MarkFinished */
            "UPDATE tasks SET state = ?2, answer = ?3, last_error = ?4, finished_ms = ?5 WHERE id = ?1",
            /* InsertOutbox */ "INSERT INTO outbox(topic, payload, correlation, traceparent) VALUES(?1, ?2, ?3, ?4)",
            /* DeleteOutbox */ "DELETE FROM outbox WHERE seq <= ?1",
            /* Purge */ "DELETE FROM tasks WHERE state IN ('done', 'parked') AND finished_ms < ?1",
            /* Unfinished */
            "SELECT id, type, class, request, reply_topic, correlation, traceparent, state, attempts, "
            "next_attempt_ms, created_ms, last_error FROM tasks WHERE state IN ('queued', 'dispatched') "
            "ORDER BY created_ms",
            /* OutboxAfter */
            "SELECT seq, topic, payload, correlation, traceparent FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            /* OutboxSize */ "SELECT count(*) FROM outbox",
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
    auto store = std::unique_ptr<TaskStore>(new TaskStore());
    store->options_ = options;
    auto writer = Statements::open(path);
    if (!writer) return make_error(writer.error().cls, "queue.open_failed", "task queue " + path + ": " + writer.error().message);
    store->writer_ = std::move(writer.value());
    auto reader = Statements::open(path);
    if (!reader) return make_error(reader.error().cls, "queue.open_failed", "task queue " + path + ": " + reader.error().message);
    store->reader_ = std::move(reader.value());
    store->writer_thread_ = std::thread([s = store.get()] { s->write_loop(); });
    return store;
}

TaskStore::~TaskStore() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (writer_thread_.joinable()) writer_thread_.join();
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

void TaskStore::commit_batch(std::vector<Change>& batch) {
    auto& db = writer_->db;
    std::vector<Result<void>> outcomes;
    outcomes.reserve(batch.size());
    auto began = db.exec("BEGIN IMMEDIATE");
    if (!began) {
        for (auto& c : batch) c.done(storage_error("cannot begin a transaction: " + began.error().message));
        return;
    }
    for (auto& c : batch) outcomes.push_back(c.apply(*writer_));
    if (auto committed = db.exec("COMMIT"); !committed) {
        (void)db.exec("ROLLBACK");
        for (auto& c : batch) c.done(storage_error("commit failed: " + committed.error().message));
        return;
    }
    ++commits_;
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(outcomes[i]));
}

void TaskStore::admit(Task task, std::function<void(Result<Admission>)> done) {
    auto admission = std::make_shared<Admission>();
    submit(
        [task = std::move(task), admission](Statements& s) -> Result<void> {
            s[Statements::InsertTask].bind(1, task.id).bind(2, task.type).bind(3, to_string(task.cls)).bind(4, task.request);
            s[Statements::InsertTask].bind(5, task.reply_topic).bind(6, task.correlation).bind(7, task.traceparent);
            s[Statements::InsertTask].bind(8, task.next_attempt_ms).bind(9, task.created_ms);
            if (auto r = ran(s[Statements::InsertTask]); !r) return r;
            if (sqlite3_changes(s.db.handle()) == 1) {
                admission->fresh = true;
                return {};
            }
            s[Statements::FindTask].bind(1, task.id);
            if (s[Statements::FindTask].step()) {
                admission->state = task_state_from_string(s[Statements::FindTask].text(0)).value_or(TaskState::Queued);
                admission->answer = s[Statements::FindTask].text(1);
            }
            s[Statements::FindTask].reset();
            return {};
        },
        [admission, done = std::move(done)](Result<void> r) {
            if (!r) return done(r.error());
            done(*admission);
        });
}

void TaskStore::dispatched(const std::string& id, int attempts, Done done) {
    dispatched_all({{id, attempts}}, std::move(done));
}

void TaskStore::dispatched_all(std::vector<std::pair<std::string, int>> attempts, Done done) {
    submit(
        [attempts = std::move(attempts)](Statements& s) -> Result<void> {
            for (const auto& [id, n] : attempts) {
                s[Statements::MarkDispatched].bind(1, id).bind(2, n);
                if (auto r = ran(s[Statements::MarkDispatched]); !r) return r;
            }
            return {};
        },
        std::move(done));
}

void TaskStore::barrier(Done done) {
    submit([](Statements&) -> Result<void> { return {}; }, std::move(done));
}

void TaskStore::retry_later(const std::string& id, int64_t next_attempt_ms, const std::string& error, Done done) {
    submit(
        [id, next_attempt_ms, error](Statements& s) {
            s[Statements::MarkRetry].bind(1, id).bind(2, next_attempt_ms).bind(3, error);
            return ran(s[Statements::MarkRetry]);
        },
        std::move(done));
}

namespace {
Result<void> insert_outbox(sql::Statement& insert, const OutboxMessage& m) {
    insert.bind(1, m.topic).bind(2, m.payload).bind(3, m.correlation).bind(4, m.traceparent);
    return ran(insert);
}
}  // namespace

void TaskStore::finish(const std::string& id, TaskState state, const std::string& answer, const std::string& error,
                       const std::optional<OutboxMessage>& outgoing, Done done) {
    submit(
        [id, state, answer, error, outgoing, at = unix_ms_now()](Statements& s) -> Result<void> {
            s[Statements::MarkFinished].bind(1, id).bind(2, to_string(state)).bind(3, answer).bind(4, error).bind(5, at);
            if (auto r = ran(s[Statements::MarkFinished]); !r) return r;
            if (outgoing) return insert_outbox(s[Statements::InsertOutbox], *outgoing);
            return {};
        },
        std::move(done));
}

void TaskStore::append_outbox(const OutboxMessage& message, Done done) {
    submit([message](Statements& s) { return insert_outbox(s[Statements::InsertOutbox], message); }, std::move(done));
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
    admit(task, [&p](Result<Admission> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
}

Result<void> TaskStore::wait(const std::function<void(Done)>& change) {
    std::promise<Result<void>> p;
    change([&p](Result<void> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
}

Result<std::vector<Task>> TaskStore::unfinished() {
    std::lock_guard lock(reader_mu_);
    auto& q = (*reader_)[Statements::Unfinished];
    std::vector<Task> tasks;
    while (q.step()) {
        Task t;
        t.id = q.text(0);
        t.type = q.text(1);
        t.cls = q.text(2) == "deferred" ? TaskClass::Deferred : TaskClass::RealTime;
        t.request = q.text(3);
        t.reply_topic = q.text(4);
        t.correlation = q.text(5);
        t.traceparent = q.text(6);
        t.state = task_state_from_string(q.text(7)).value_or(TaskState::Queued);
        t.attempts = static_cast<int>(q.integer(8));
        t.next_attempt_ms = q.integer(9);
        t.created_ms = q.integer(10);
        t.last_error = q.text(11);
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
    q.bind(1, after_seq).bind(2, limit);
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

uint64_t TaskStore::commits() const { return commits_.load(); }

}  // namespace hisgate::agent
