// AlertStore on SQLite: one row per alert. At most one firing alert per key (a partial
// unique index), so two instances evaluating at once open it once: the second insert is
// ignored. A hand resolution is a row of alert_resolutions (who, note, when) and a hold on
// the key in alert_holds, both written with the alert's resolution in one transaction.
#include <mutex>

#include "common/check.h"
#include "common/sqlite.h"
#include "controlplane/alerts/alert_store.h"

namespace hisgate::controlplane::alerts {

namespace {
constexpr const char* kColumns = "id, rule, hospital_id, subject, state, started_ms, resolved_ms, owner, detail";
// An alert as read: its row and, when resolved by hand, who and the note.
constexpr const char* kSelectAlerts =
    "SELECT a.id, a.rule, a.hospital_id, a.subject, a.state, a.started_ms, a.resolved_ms, a.owner, a.detail, "
    "coalesce(r.who, ''), coalesce(r.note, '') FROM alerts a LEFT JOIN alert_resolutions r ON r.alert_id = a.id ";

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
    a.resolved_by = s.text(9);
    a.note = s.text(10);
    return a;
}

class SqliteAlertStore final : public AlertStore {
public:
    SqliteAlertStore(sql::Db db, Clock& clock, AlertRetention retention)
        : db_(std::move(db)), clock_(clock), retention_(retention) {}

    Result<std::vector<Alert>> firing() override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string(kSelectAlerts) + "WHERE a.state = 'firing'");
        if (!s) return s.error();
        std::vector<Alert> out;
        while (s->step()) out.push_back(read_row(*s));
        if (s->error()) return *s->error();
        return out;
    }

    Result<void> apply(const std::vector<Alert>& opened, const std::vector<Alert>& changed,
                       const std::vector<Alert>& resolved, const std::vector<std::string>& released) override {
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
            for (const auto& key : released) {
                auto s = db_.prepare("DELETE FROM alert_holds WHERE key = ?1");
                if (!s) return s.error();
                s->bind(1, key);
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
            if (auto r = beyond->run(); !r) return r.error();
            return db_.exec("DELETE FROM alert_resolutions WHERE alert_id NOT IN (SELECT id FROM alerts)");
        });
    }

    Result<Alert> resolve(const std::string& id, const std::string& who, const std::string& note, int64_t now_ms) override {
        std::lock_guard lock(mu_);
        return db_.transaction([&]() -> Result<Alert> {
            auto found = read_one(id);
            if (!found) return found.error();
            if (found->state != AlertState::Firing)
                return make_error(ErrorClass::Rejected, "alert.not_firing",
                                  "alert " + id + " is resolved already" +
                                      (found->resolved_by.empty() ? std::string(" (its condition stopped holding)")
                                                                  : " (by " + found->resolved_by + ")"));
            auto done = db_.prepare("UPDATE alerts SET state = 'resolved', resolved_ms = ?2 WHERE id = ?1 AND state = 'firing'");
            if (!done) return done.error();
            done->bind(1, id).bind(2, now_ms);
            if (auto r = done->run(); !r) return r.error();
            auto why = db_.prepare("INSERT INTO alert_resolutions(alert_id, who, note, at_ms) VALUES(?1, ?2, ?3, ?4)");
            if (!why) return why.error();
            why->bind(1, id).bind(2, who).bind(3, note).bind(4, now_ms);
            if (auto r = why->run(); !r) return r.error();
            auto hold = db_.prepare("INSERT OR REPLACE INTO alert_holds(key, alert_id) VALUES(?1, ?2)");
            if (!hold) return hold.error();
            hold->bind(1, found->key()).bind(2, id);
            if (auto r = hold->run(); !r) return r.error();
            return read_one(id);
        });
    }

    Result<std::vector<std::string>> held_keys() override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare("SELECT key FROM alert_holds ORDER BY key");
        if (!s) return s.error();
        std::vector<std::string> out;
        while (s->step()) out.push_back(s->text(0));
        if (s->error()) return *s->error();
        return out;
    }

    Result<std::vector<Alert>> list(const AlertQuery& q) override {
        HISGATE_CHECK(q.limit >= 1 && q.limit <= kMaxAlertPage, "limit", q.limit);
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string(kSelectAlerts) +
                             "WHERE (?1 IS NULL OR a.state = ?1) AND (?2 IS NULL OR a.hospital_id = ?2) "
                             "ORDER BY a.started_ms DESC, a.id LIMIT ?3");
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
    // Under mu_.
    Result<Alert> read_one(const std::string& id) {
        auto s = db_.prepare(std::string(kSelectAlerts) + "WHERE a.id = ?1");
        if (!s) return s.error();
        s->bind(1, id);
        if (s->step()) return read_row(*s);
        if (s->error()) return *s->error();
        return make_error(ErrorClass::NotFound, "alert.not_found", "no alert " + id);
    }

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
         "CREATE INDEX IF NOT EXISTS alerts_resolved ON alerts(state, resolved_ms)",
         "CREATE TABLE IF NOT EXISTS alert_resolutions(alert_id TEXT PRIMARY KEY, who TEXT NOT NULL, note TEXT NOT NULL, "
         "at_ms INTEGER NOT NULL)",
         "CREATE TABLE IF NOT EXISTS alert_holds(key TEXT PRIMARY KEY, alert_id TEXT NOT NULL)"});
    if (!db) return db.error();
    return std::unique_ptr<AlertStore>(new SqliteAlertStore(std::move(db.value()), clock, retention));
}

}  // namespace hisgate::controlplane::alerts
