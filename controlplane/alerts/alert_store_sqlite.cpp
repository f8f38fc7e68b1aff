// AlertStore on SQLite: one row per alert. At most one firing alert per key (a partial
// unique index), so two instances evaluating at once open it once: the second insert is
// ignored.
#include <mutex>

#include "common/check.h"
#include "common/sqlite.h"
#include "controlplane/alerts/alert_store.h"

namespace hisgate::controlplane::alerts {

namespace {
constexpr const char* kColumns = "id, rule, hospital_id, subject, state, started_ms, resolved_ms, owner, detail";

Alert read_row(const sql::Statement& s) {
    Alert a;
    a.id = s.text(0);
    a.rule = s.text(1);
    a.hospital_id = s.text(2);
    a.subject = s.text(3);
    a.state = s.text(4) == "firing" ? AlertState::Firing : AlertState::Resolved;
    a.started_ms = s.integer(5);
    a.resolved_ms = s.integer(6);
    a.owner = s.text(7);
    a.detail = s.text(8);
    return a;
}

class SqliteAlertStore final : public AlertStore {
public:
    SqliteAlertStore(sql::Db db, Clock& clock, AlertRetention retention)
        : db_(std::move(db)), clock_(clock), retention_(retention) {}

    Result<std::vector<Alert>> firing() override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string("SELECT ") + kColumns + " FROM alerts WHERE state = 'firing'");
        if (!s) return s.error();
        std::vector<Alert> out;
        while (s->step()) out.push_back(read_row(*s));
        if (s->error()) return *s->error();
        return out;
    }

    Result<void> apply(const std::vector<Alert>& opened, const std::vector<Alert>& changed,
                       const std::vector<Alert>& resolved) override {
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        return db_.transaction([&]() -> Result<void> {
            for (const auto& a : opened) {
                auto s = db_.prepare(std::string("INSERT OR IGNORE INTO alerts(") + kColumns +
                                     ", key) VALUES(?1, ?2, ?3, ?4, 'firing', ?5, 0, ?6, ?7, ?8)");
                if (!s) return s.error();
                s->bind(1, a.id).bind(2, a.rule).bind(3, a.hospital_id).bind(4, a.subject).bind(5, a.started_ms);
                s->bind(6, a.owner).bind(7, a.detail).bind(8, a.key());
                if (auto r = s->run(); !r) return r.error();
            }
            for (const auto& a : changed) {
                auto s = db_.prepare("UPDATE alerts SET detail = ?2 WHERE id = ?1 AND state = 'firing'");
                if (!s) return s.error();
                s->bind(1, a.id).bind(2, a.detail);
                if (auto r = s->run(); !r) return r.error();
            }
            for (const auto& a : resolved) {
                auto s = db_.prepare(
                    "UPDATE alerts SET state = 'resolved', resolved_ms = ?2 WHERE id = ?1 AND state = 'firing'");
                if (!s) return s.error();
                s->bind(1, a.id).bind(2, a.resolved_ms);
                if (auto r = s->run(); !r) return r.error();
            }
            auto old = db_.prepare("DELETE FROM alerts WHERE state = 'resolved' AND resolved_ms < ?1");
            if (!old) return old.error();
            old->bind(1, now - static_cast<int64_t>(retention_.keep.count()));
            if (auto r = old->run(); !r) return r.error();
            auto beyond = db_.prepare(
                "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE state = 'resolved' "
                "ORDER BY resolved_ms DESC LIMIT -1 OFFSET ?1)");
            if (!beyond) return beyond.error();
            beyond->bind(1, retention_.max_resolved);
            return beyond->run();
        });
    }

    Result<std::vector<Alert>> list(const AlertQuery& q) override {
        HISGATE_CHECK(q.limit >= 1 && q.limit <= kMaxAlertPage, "limit", q.limit);
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string("SELECT ") + kColumns +
                             " FROM alerts WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR hospital_id = ?2) "
                             "ORDER BY started_ms DESC, id LIMIT ?3");
        if (!s) return s.error();
        if (q.state) s->bind(1, std::string(to_string(*q.state)));
        else s->bind_null(1);
        if (q.hospital_id) s->bind(2, *q.hospital_id);
        else s->bind_null(2);
        s->bind(3, int64_t{q.limit});
        std::vector<Alert> out;
        while (s->step()) out.push_back(read_row(*s));
        if (s->error()) return *s->error();
        return out;
    }

private:
    std::mutex mu_;
    sql::Db db_;
    Clock& clock_;
    AlertRetention retention_;
};
}  // namespace

Result<std::unique_ptr<AlertStore>> open_sqlite_alert_store(const std::string& path, Clock& clock,
                                                           AlertRetention retention) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS alerts(id TEXT PRIMARY KEY, key TEXT NOT NULL, rule TEXT NOT NULL, "
         "hospital_id TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL, started_ms INTEGER NOT NULL, "
         "resolved_ms INTEGER NOT NULL, owner TEXT NOT NULL, detail TEXT NOT NULL)",
         "CREATE UNIQUE INDEX IF NOT EXISTS alerts_firing_key ON alerts(key) WHERE state = 'firing'",
         "CREATE INDEX IF NOT EXISTS alerts_hospital ON alerts(hospital_id, started_ms)",
         "CREATE INDEX IF NOT EXISTS alerts_resolved ON alerts(state, resolved_ms)"});
    if (!db) return db.error();
    return std::unique_ptr<AlertStore>(new SqliteAlertStore(std::move(db.value()), clock, retention));
}

}  // namespace hisgate::controlplane::alerts
