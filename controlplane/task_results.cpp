#include "controlplane/task_results.h"

#include "common/log.h"
#include "common/metrics.h"

namespace hisgate::controlplane {

namespace {
const char* kDroppedMessage = "the answer was delivered and its contents are not kept after delivery; ask for it again";

// Why a request expired, in words for the caller.
std::string expiry_message(const std::string& code) {
    if (code == "agent.offline") return "the hospital's agent was offline until the request's deadline";
    if (code == "his.no_answer") return "the hospital's agent stored the request, but the hospital's system did not answer by its deadline";
    return "the request never reached the hospital's agent by its deadline";
}

metrics::Counter& answers(const char* outcome) {
    return metrics::global().counter("hisgate_controlplane_answers_total",
                                     "Agent answers received, new or duplicate", {{"outcome", outcome}});
}
}  // namespace

nlohmann::json TaskResult::to_json() const {
    nlohmann::json out = {{"taskId", request_id},
                          {"hospitalId", hospital_id},
                          {"type", type},
                          {"status", answered ? "answered" : expired_reason.empty() ? "pending" : "expired"}};
    if (contents_dropped) {
        out["status"] = "delivered";
        out["error"] = {{"class", to_string(ErrorClass::NotFound)}, {"code", "task.contents_dropped"}, {"message", kDroppedMessage}};
        return out;
    }
    if (!answered && !expired_reason.empty()) {
        out["error"] = {{"class", "timeout"}, {"code", expired_reason}, {"message", expiry_message(expired_reason)}};
        return out;
    }
    if (!answered) return out;
    auto reply = Envelope::parse(answer);
    if (!reply) {
        out["error"] = {{"code", reply.error().code}, {"message", reply.error().message}};
    } else if (reply->error) {
        out["error"] = {{"class", to_string(reply->error->cls)}, {"code", reply->error->code}, {"message", reply->error->message}};
    } else {
        out["result"] = reply->body;
    }
    return out;
}

Result<nlohmann::json> TaskResult::outcome() const {
    if (!answered && !expired_reason.empty())
        return make_error(ErrorClass::Timeout, expired_reason, expiry_message(expired_reason));
    if (!answered) return make_error(ErrorClass::Internal, "task.pending", "the request has no answer yet");
    if (contents_dropped) return make_error(ErrorClass::NotFound, "task.contents_dropped", kDroppedMessage);
    auto reply = Envelope::parse(answer);
    if (!reply) return reply.error();
    if (reply->error) return *reply->error;
    return std::move(reply->body);
}

Result<std::unique_ptr<TaskResults>> TaskResults::open(const std::string& path, Clock& clock, TaskRetention retention) {
    auto shared = sql::SharedDb::open(path);
    if (!shared) return shared.error();
    return open(std::move(shared.value()), clock, retention);
}

Result<std::unique_ptr<TaskResults>> TaskResults::open(std::shared_ptr<sql::SharedDb> shared, Clock& clock,
                                                       TaskRetention retention) {
    std::lock_guard lock(shared->mutex());
    auto* db = &shared->db();
    // Answers hold reports: what is deleted or dropped is overwritten, not left in free pages.
    if (auto r = db->exec("PRAGMA secure_delete=ON"); !r) return r.error();
    // One write transaction (sql::Db::open_with_schema says why): several instances may open
    // the file at once.
    auto made = db->transaction([&]() -> Result<void> {
        if (auto r = db->exec(R"(CREATE TABLE IF NOT EXISTS task_results(
                                   request_id TEXT PRIMARY KEY,
                                   hospital_id TEXT NOT NULL,
                                   type TEXT NOT NULL,
                                   sent_at TEXT NOT NULL,
                                   answer TEXT))");
            !r)
            return r.error();
        // Columns added by issue 12 item 6, also to a file made before: the deadline (wall ms),
        // why it expired, when it finished (wall ms); for re-sending until the agent stored it:
        // the request, whether it is deferred, whether the agent stored it, when it was last sent.
        const std::pair<const char*, const char*> added[] = {
            {"deadline_ms", "deadline_ms INTEGER NOT NULL DEFAULT 0"},
            {"expired_reason", "expired_reason TEXT"},
            {"finished_ms", "finished_ms INTEGER"},
            {"request", "request TEXT"},
            {"deferred", "deferred INTEGER NOT NULL DEFAULT 0"},
            {"stored", "stored INTEGER NOT NULL DEFAULT 0"},
            {"last_sent_ms", "last_sent_ms INTEGER NOT NULL DEFAULT 0"},
            // Issue 12 item 4: whose task it is, and the caller's request's digest.
            {"owner", "owner TEXT NOT NULL DEFAULT ''"},
            {"fingerprint", "fingerprint TEXT NOT NULL DEFAULT ''"},
            // Issue 12 item 6: contents kept until delivered (TaskKind), first delivery (wall
            // ms), the answer's body dropped.
            {"transient", "transient INTEGER NOT NULL DEFAULT 0"},
            {"delivered_ms", "delivered_ms INTEGER"},
            {"contents_dropped", "contents_dropped INTEGER NOT NULL DEFAULT 0"}};
        for (const auto& [name, ddl] : added) {
            auto has = db->prepare("SELECT count(*) FROM pragma_table_info('task_results') WHERE name = ?1");
            if (!has) return has.error();
            has->bind(1, name);
            if (!has->step()) return has->error() ? *has->error() : make_error(ErrorClass::Internal, "results.schema", "no pragma row");
            if (has->integer(0) == 0)
                if (auto r = db->exec(std::string("ALTER TABLE task_results ADD COLUMN ") + ddl); !r) return r.error();
        }
        for (const char* index : {"CREATE INDEX IF NOT EXISTS task_results_open ON task_results(deadline_ms) "
                                  "WHERE answer IS NULL AND expired_reason IS NULL",
                                  "CREATE INDEX IF NOT EXISTS task_results_finished ON task_results(finished_ms) "
                                  "WHERE finished_ms IS NOT NULL"})
            if (auto r = db->exec(index); !r) return r.error();
        return {};
    });
    if (!made) return made.error();
    return std::unique_ptr<TaskResults>(new TaskResults(std::move(shared), clock, retention));
}

Result<bool> TaskResults::expect(const Envelope& request, TaskKind kind, const RequestOrigin& origin) {
    if (expects_) return expects_->submit_sync(Expected{&request, kind, &origin});
    return expect_one(request, kind, origin);
}

void TaskResults::group_expects(GroupCommitOptions options) {
    expects_ = std::make_unique<GroupCommit<Expected, Result<bool>>>(
        [this](std::vector<Expected>& batch) -> Result<std::vector<Result<bool>>> {
            std::lock_guard lock(mu_);
            std::vector<Result<bool>> out;
            out.reserve(batch.size());
            auto committed = db_.transaction([&]() -> Result<void> {
                for (const auto& e : batch) {
                    out.push_back(expect_one(*e.request, e.kind, *e.origin));
                    // A failure that ended the transaction (SQLITE_FULL, IOERR) fails the batch.
                    if (!db_.in_transaction())
                        return out.back() ? make_error(ErrorClass::Internal, "results.transaction_ended",
                                                       "the store ended the requests' transaction")
                                          : out.back().error();
                }
                return {};
            });
            if (!committed) return committed.error();
            return out;
        },
        options);
}

Result<bool> TaskResults::expect_one(const Envelope& request, TaskKind kind, const RequestOrigin& origin) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare_cached(
        "INSERT OR IGNORE INTO task_results(request_id, hospital_id, type, sent_at, deadline_ms, request, deferred, "
        "last_sent_ms, owner, fingerprint, transient) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!st) return st.error();
    const int64_t now = clock_.wall_ms();
    st->bind(1, request.id).bind(2, request.hospital_id).bind(3, request.type).bind(4, request.sent_at);
    st->bind(5, now + static_cast<int64_t>(retention_.deadline.count()));
    st->bind(6, request.to_json()).bind(7, int64_t{kind.deferred ? 1 : 0}).bind(8, now);
    st->bind(9, origin.owner).bind(10, origin.fingerprint).bind(11, int64_t{kind.contents_until_delivered ? 1 : 0});
    if (auto r = st->run(); !r) return r.error();
    return sqlite3_changes(db_.handle()) == 1;
}

Result<void> TaskResults::forget(const std::string& request_id) {
    {
        std::lock_guard lock(mu_);
        auto st = db_.prepare("DELETE FROM task_results WHERE request_id = ?1 AND answer IS NULL AND expired_reason IS NULL");
        if (!st) return st.error();
        st->bind(1, request_id);
        if (auto r = st->run(); !r) return r.error();
    }
    wake_waiters();  // whoever waits for it stops waiting: it is gone
    return {};
}

void TaskResults::wake_waiters() {
    { std::lock_guard lock(wait_mu_); }
    finished_cv_.notify_all();
}

std::optional<TaskResult> TaskResults::wait_finished(const std::string& request_id, std::chrono::milliseconds patience) {
    std::unique_lock lock(wait_mu_);
    std::optional<TaskResult> found;
    clock_.wait_for(lock, finished_cv_, patience, [&] {
        found = find(request_id);
        return !found || found->finished();
    });
    return found;
}

Result<void> TaskResults::mark_stored(const std::string& hospital_id, const std::string& request_id) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("UPDATE task_results SET stored = 1 WHERE request_id = ?1 AND hospital_id = ?2");
    if (!st) return st.error();
    st->bind(1, request_id).bind(2, hospital_id);
    return st->run();
}

Result<std::vector<std::pair<std::string, std::string>>> TaskResults::due_resends(std::chrono::milliseconds interval) {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.wall_ms();
    using Due = std::vector<std::pair<std::string, std::string>>;
    return db_.transaction([&]() -> Result<Due> {
        auto due = db_.prepare(
            "SELECT request_id, hospital_id, request FROM task_results WHERE deferred = 1 AND stored = 0 AND "
            "answer IS NULL AND expired_reason IS NULL AND request IS NOT NULL AND last_sent_ms <= ?1");
        if (!due) return due.error();
        due->bind(1, now - static_cast<int64_t>(interval.count()));
        Due out;
        std::vector<std::string> ids;
        while (due->step()) {
            ids.push_back(due->text(0));
            out.emplace_back(due->text(1), due->text(2));
        }
        if (due->error()) return *due->error();
        auto sent = db_.prepare("UPDATE task_results SET last_sent_ms = ?2 WHERE request_id = ?1");
        if (!sent) return sent.error();
        for (const auto& id : ids) {
            sent->reset();
            sent->bind(1, id).bind(2, now);
            if (auto r = sent->run(); !r) return r.error();
        }
        return out;
    });
}

Result<TaskResults::Recorded> TaskResults::record(const std::string& hospital_id, const Envelope& reply,
                                                  const std::string& payload, TaskResult* task) {
    std::unique_lock lock(mu_);
    // One statement, in SQLite's own transaction (autocommit): the answer is kept, and durable,
    // once it has run to its end, and it hands back the request's row besides. No BEGIN/COMMIT
    // around it: nothing else is written with it. If it changed nothing, the row's state can
    // only have moved on (answered or expired stay so), so reading it after is not a race.
    auto outcome = [&]() -> Result<Recorded> {
        auto update = db_.prepare_cached(
            "UPDATE task_results SET answer = ?3, finished_ms = ?4 "
            "WHERE request_id = ?1 AND hospital_id = ?2 AND answer IS NULL AND expired_reason IS NULL "
            "RETURNING type, request, owner, fingerprint");
        if (!update) return update.error();
        update->bind(1, reply.in_reply_to).bind(2, hospital_id).bind(3, payload).bind(4, clock_.wall_ms());
        if (update->step()) {
            if (task)
                *task = TaskResult{reply.in_reply_to, hospital_id, update->text(0), true, payload, "",
                                   update->is_null(1) ? "" : update->text(1), update->text(2), update->text(3), false};
            if (update->step() || update->error())  // its end, where the change is committed
                return update->error() ? *update->error()
                                       : make_error(ErrorClass::Internal, "results.two_rows", "one request id, two rows");
            return Recorded::kept;
        }
        if (update->error()) return *update->error();
        auto known = db_.prepare_cached("SELECT expired_reason IS NOT NULL AND answer IS NULL FROM task_results "
                                        "WHERE request_id = ?1 AND hospital_id = ?2");
        if (!known) return known.error();
        known->bind(1, reply.in_reply_to).bind(2, hospital_id);
        if (!known->step()) return known->error() ? Result<Recorded>(*known->error()) : Recorded::refused;
        return known->integer(0) ? Recorded::late : Recorded::duplicate;
    }();
    // Inside a group commit's transaction: its committer wakes the waiters after the COMMIT.
    const bool grouped = db_.in_transaction();
    lock.unlock();  // before the notify: a waiter holds wait_mu_ while it reads under mu_
    if (outcome) {
        static const char* names[] = {"new", "duplicate", "refused", "late"};
        answers(names[static_cast<int>(*outcome)]).inc();
    }
    if (outcome && *outcome == Recorded::kept && !grouped) wake_waiters();
    return outcome;
}

std::optional<TaskResult> TaskResults::find(const std::string& request_id) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare_cached(
        "SELECT hospital_id, type, answer, expired_reason, request, owner, fingerprint, contents_dropped "
        "FROM task_results WHERE request_id = ?1");
    if (!st) return std::nullopt;
    st->bind(1, request_id);
    if (!st->step()) return std::nullopt;
    return TaskResult{request_id,       st->text(0), st->text(1), !st->is_null(2), st->text(2),
                      st->is_null(3) ? "" : st->text(3), st->is_null(4) ? "" : st->text(4), st->text(5), st->text(6),
                      st->integer(7) != 0};
}

Result<void> TaskResults::mark_delivered(const std::string& request_id) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare_cached("UPDATE task_results SET delivered_ms = ?2 "
                          "WHERE request_id = ?1 AND answer IS NOT NULL AND transient = 1 AND delivered_ms IS NULL");
    if (!st) return st.error();
    st->bind(1, request_id).bind(2, clock_.wall_ms());
    return st->run();
}

Result<int> TaskResults::expire_due(const std::function<bool(const std::string&)>& online) {
    std::unique_lock lock(mu_);
    const int64_t now = clock_.wall_ms();
    auto expired = db_.transaction([&]() -> Result<int> {
        auto due = db_.prepare("SELECT request_id, hospital_id, stored FROM task_results "
                               "WHERE answer IS NULL AND expired_reason IS NULL AND deadline_ms <= ?1");
        if (!due) return due.error();
        due->bind(1, now);
        struct Due {
            std::string id, hospital;
            bool stored;
        };
        std::vector<Due> ids;
        while (due->step()) ids.push_back({due->text(0), due->text(1), due->integer(2) != 0});
        if (due->error()) return *due->error();
        auto end = db_.prepare("UPDATE task_results SET expired_reason = ?2, finished_ms = ?3 WHERE request_id = ?1");
        if (!end) return end.error();
        for (const auto& [id, hospital, stored] : ids) {
            const char* reason = stored ? "his.no_answer" : online(hospital) ? "agent.unreached" : "agent.offline";
            end->reset();
            end->bind(1, id).bind(2, reason).bind(3, now);
            if (auto r = end->run(); !r) return r.error();
            metrics::global()
                .counter("hisgate_controlplane_tasks_expired_total", "Requests that reached their deadline unanswered",
                         {{"reason", reason}})
                .inc();
            log::warn("controlplane.task_expired", {{"request_id", id}, {"hospital_id", hospital}, {"reason", reason}});
        }
        return static_cast<int>(ids.size());
    });
    lock.unlock();
    if (expired && *expired > 0) wake_waiters();
    return expired;
}

Result<int> TaskResults::purge() {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.wall_ms();
    const int64_t oldest_kept = now - static_cast<int64_t>(retention_.keep.count());
    return db_.transaction([&]() -> Result<int> {
        auto old = db_.prepare("DELETE FROM task_results WHERE finished_ms IS NOT NULL AND finished_ms < ?1");
        if (!old) return old.error();
        old->bind(1, oldest_kept);
        if (auto r = old->run(); !r) return r.error();
        int removed = sqlite3_changes(db_.handle());
        auto beyond = db_.prepare(
            "DELETE FROM task_results WHERE request_id IN (SELECT request_id FROM task_results "
            "WHERE finished_ms IS NOT NULL ORDER BY finished_ms DESC LIMIT -1 OFFSET ?1)");
        if (!beyond) return beyond.error();
        beyond->bind(1, retention_.max_kept);
        if (auto r = beyond->run(); !r) return r.error();
        removed += sqlite3_changes(db_.handle());
        // The envelope stays (its id, error or not); its body, the contents, goes.
        auto contents = db_.prepare(
            "UPDATE task_results SET answer = json_set(answer, '$.body', json_object()), contents_dropped = 1 "
            "WHERE transient = 1 AND contents_dropped = 0 AND delivered_ms IS NOT NULL AND delivered_ms < ?1");
        if (!contents) return contents.error();
        contents->bind(1, now - static_cast<int64_t>(retention_.after_delivery.count()));
        if (auto r = contents->run(); !r) return r.error();
        int dropped = sqlite3_changes(db_.handle());
        if (dropped > 0)
            metrics::global()
                .counter("hisgate_controlplane_contents_dropped_total",
                         "Delivered answers whose contents were dropped (issue 12 item 6)")
                .inc(dropped);
        return removed + dropped;
    });
}

}  // namespace hisgate::controlplane
