#include "controlplane/task_results.h"

#include "common/log.h"
#include "common/metrics.h"

namespace hisgate::controlplane {

namespace {
// Why a request expired, in words for the caller.
std::string expiry_message(const std::string& code) {
    if (code == "agent.offline") return "the hospital's agent was offline until the request's deadline";
    return "no answer by the request's deadline: the request never reached the hospital's agent, or the hospital's "
           "system never answered";
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

Result<std::unique_ptr<TaskResults>> TaskResults::open(const std::string& path, Clock& clock, TaskRetention retention) {
    auto db = sql::Db::open(path);
    if (!db) return db.error();
    if (auto r = db->exec(R"(CREATE TABLE IF NOT EXISTS task_results(
                               request_id TEXT PRIMARY KEY,
                               hospital_id TEXT NOT NULL,
                               type TEXT NOT NULL,
                               sent_at TEXT NOT NULL,
                               answer TEXT))");
        !r)
        return r.error();
    // Columns added by issue 12 item 6, also to a file made before: the deadline (wall ms),
    // why it expired, and when it finished (wall ms).
    auto columns = db->prepare("SELECT count(*) FROM pragma_table_info('task_results') WHERE name = 'deadline_ms'");
    if (!columns) return columns.error();
    if (columns->step() && columns->integer(0) == 0)
        for (const char* add : {"ALTER TABLE task_results ADD COLUMN deadline_ms INTEGER NOT NULL DEFAULT 0",
                                "ALTER TABLE task_results ADD COLUMN expired_reason TEXT",
                                "ALTER TABLE task_results ADD COLUMN finished_ms INTEGER"})
            if (auto r = db->exec(add); !r) return r.error();
    if (columns->error()) return *columns->error();
    for (const char* index : {"CREATE INDEX IF NOT EXISTS task_results_open ON task_results(deadline_ms) "
                              "WHERE answer IS NULL AND expired_reason IS NULL",
                              "CREATE INDEX IF NOT EXISTS task_results_finished ON task_results(finished_ms) "
                              "WHERE finished_ms IS NOT NULL"})
        if (auto r = db->exec(index); !r) return r.error();
    return std::unique_ptr<TaskResults>(new TaskResults(std::move(db.value()), clock, retention));
}

Result<void> TaskResults::expect(const Envelope& request) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare(
        "INSERT OR IGNORE INTO task_results(request_id, hospital_id, type, sent_at, deadline_ms) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!st) return st.error();
    st->bind(1, request.id).bind(2, request.hospital_id).bind(3, request.type).bind(4, request.sent_at);
    st->bind(5, clock_.wall_ms() + static_cast<int64_t>(retention_.deadline.count()));
    return st->run();
}

Result<TaskResults::Recorded> TaskResults::record(const std::string& hospital_id, const Envelope& reply,
                                                  const std::string& payload) {
    std::lock_guard lock(mu_);
    auto outcome = db_.transaction([&]() -> Result<Recorded> {
        auto update = db_.prepare(
            "UPDATE task_results SET answer = ?3, finished_ms = ?4 "
            "WHERE request_id = ?1 AND hospital_id = ?2 AND answer IS NULL AND expired_reason IS NULL");
        if (!update) return update.error();
        update->bind(1, reply.in_reply_to).bind(2, hospital_id).bind(3, payload).bind(4, clock_.wall_ms());
        if (auto r = update->run(); !r) return r.error();
        if (sqlite3_changes(db_.handle()) == 1) return Recorded::kept;
        auto known = db_.prepare("SELECT expired_reason IS NOT NULL AND answer IS NULL FROM task_results "
                                 "WHERE request_id = ?1 AND hospital_id = ?2");
        if (!known) return known.error();
        known->bind(1, reply.in_reply_to).bind(2, hospital_id);
        if (!known->step()) return known->error() ? Result<Recorded>(*known->error()) : Recorded::refused;
        return known->integer(0) ? Recorded::late : Recorded::duplicate;
    });
    if (outcome) {
        static const char* names[] = {"new", "duplicate", "refused", "late"};
        answers(names[static_cast<int>(*outcome)]).inc();
    }
    return outcome;
}

std::optional<TaskResult> TaskResults::find(const std::string& request_id) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT hospital_id, type, answer, expired_reason FROM task_results WHERE request_id = ?1");
    if (!st) return std::nullopt;
    st->bind(1, request_id);
    if (!st->step()) return std::nullopt;
    return TaskResult{request_id, st->text(0), st->text(1), !st->is_null(2), st->text(2), st->is_null(3) ? "" : st->text(3)};
}

Result<int> TaskResults::expire_due(const std::function<bool(const std::string&)>& online) {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.wall_ms();
    return db_.transaction([&]() -> Result<int> {
        auto due = db_.prepare("SELECT request_id, hospital_id FROM task_results "
                               "WHERE answer IS NULL AND expired_reason IS NULL AND deadline_ms <= ?1");
        if (!due) return due.error();
        due->bind(1, now);
        std::vector<std::pair<std::string, std::string>> ids;
        while (due->step()) ids.emplace_back(due->text(0), due->text(1));
        if (due->error()) return *due->error();
        auto end = db_.prepare("UPDATE task_results SET expired_reason = ?2, finished_ms = ?3 WHERE request_id = ?1");
        if (!end) return end.error();
        for (const auto& [id, hospital] : ids) {
            const char* reason = online(hospital) ? "task.no_answer" : "agent.offline";
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
}

Result<int> TaskResults::purge() {
    std::lock_guard lock(mu_);
    const int64_t oldest_kept = clock_.wall_ms() - static_cast<int64_t>(retention_.keep.count());
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
        return removed + sqlite3_changes(db_.handle());
    });
}

}  // namespace hisgate::controlplane
