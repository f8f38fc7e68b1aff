#include "controlplane/task_results.h"

#include "common/metrics.h"

namespace hisgate::controlplane {

namespace {
metrics::Counter& answers(const char* outcome) {
    return metrics::global().counter("hisgate_controlplane_answers_total",
                                     "Agent answers received, new or duplicate", {{"outcome", outcome}});
}
}  // namespace

nlohmann::json TaskResult::to_json() const {
    nlohmann::json out = {{"taskId", request_id},
                          {"hospitalId", hospital_id},
                          {"type", type},
                          {"status", answered ? "answered" : "pending"}};
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

Result<std::unique_ptr<TaskResults>> TaskResults::open(const std::string& path) {
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
    return std::unique_ptr<TaskResults>(new TaskResults(std::move(db.value())));
}

Result<void> TaskResults::expect(const Envelope& request) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("INSERT OR IGNORE INTO task_results(request_id, hospital_id, type, sent_at) VALUES(?1, ?2, ?3, ?4)");
    if (!st) return st.error();
    st->bind(1, request.id).bind(2, request.hospital_id).bind(3, request.type).bind(4, request.sent_at);
    return st->run();
}

Result<TaskResults::Recorded> TaskResults::record(const std::string& hospital_id, const Envelope& reply,
                                                  const std::string& payload) {
    std::lock_guard lock(mu_);
    auto outcome = db_.transaction([&]() -> Result<Recorded> {
        auto update = db_.prepare(
            "UPDATE task_results SET answer = ?3 WHERE request_id = ?1 AND hospital_id = ?2 AND answer IS NULL");
        if (!update) return update.error();
        update->bind(1, reply.in_reply_to).bind(2, hospital_id).bind(3, payload);
        if (auto r = update->run(); !r) return r.error();
        if (sqlite3_changes(db_.handle()) == 1) return Recorded::kept;
        auto known = db_.prepare("SELECT 1 FROM task_results WHERE request_id = ?1 AND hospital_id = ?2");
        if (!known) return known.error();
        known->bind(1, reply.in_reply_to).bind(2, hospital_id);
        return known->step() ? Recorded::duplicate : Recorded::refused;
    });
    if (outcome) {
        static const char* names[] = {"new", "duplicate", "refused"};
        answers(names[static_cast<int>(*outcome)]).inc();
    }
    return outcome;
}

std::optional<TaskResult> TaskResults::find(const std::string& request_id) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT hospital_id, type, answer FROM task_results WHERE request_id = ?1");
    if (!st) return std::nullopt;
    st->bind(1, request_id);
    if (!st->step()) return std::nullopt;
    return TaskResult{request_id, st->text(0), st->text(1), !st->is_null(2), st->text(2)};
}

}  // namespace hisgate::controlplane
