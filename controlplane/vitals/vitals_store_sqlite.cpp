// VitalsStore on SQLite. Tables:
//   samples(hospital_id, seq PK, bed, device, name, unit, value, observed_ms)  raw, raw_keep
//   rollups(resolution 'm'|'h', hospital_id, bed, name, bucket_ms PK, count, sum, min, max)
//   latest(hospital_id, bed, name PK, unit, device, value, observed_ms)
//   alarms(id, hospital_id, seq UNIQUE, ...)           alarms are never purged while open
//   alarm_audit(id, alarm_id, hospital_id, action, who, from_addr, at_ms, detail)  append-only
#include <sqlite3.h>

#include <mutex>

#include "common/sqlite.h"
#include "controlplane/vitals/vitals_store.h"

namespace hisgate::controlplane::vitals {

namespace {
constexpr int64_t kMinuteMs = 60000;
constexpr int64_t kHourMs = 3600000;


Priority priority_from(int64_t v) { return v >= 2 ? Priority::High : v == 1 ? Priority::Medium : Priority::Low; }

constexpr const char* kAlarmColumns =
    "id, hospital_id, device, bed, code, text, priority, technical, observed_ms, raised_ms, state, escalation, "
    "last_escalated_ms, silenced_until_ms, acknowledged_by, acknowledged_ms";

AlarmRecord alarm_row(const sql::Statement& s) {
    AlarmRecord a;
    a.id = s.integer(0);
    a.hospital_id = s.text(1);
    a.device = s.text(2);
    a.bed = s.text(3);
    a.code = s.text(4);
    a.text = s.text(5);
    a.priority = priority_from(s.integer(6));
    a.technical = s.integer(7) != 0;
    a.observed_ms = s.integer(8);
    a.raised_ms = s.integer(9);
    a.state = s.text(10);
    a.escalation = static_cast<int>(s.integer(11));
    a.last_escalated_ms = s.integer(12);
    a.silenced_until_ms = s.integer(13);
    a.acknowledged_by = s.text(14);
    a.acknowledged_ms = s.integer(15);
    return a;
}

class SqliteVitalsStore final : public VitalsStore {
public:
    SqliteVitalsStore(sql::Db db, VitalsRetention retention) : db_(std::move(db)), retention_(retention) {}

    Result<IngestOutcome> ingest(const std::string& hospital_id, const VitalsBatch& batch, int64_t now_ms) override {
        std::lock_guard lock(mu_);
        return db_.transaction([&]() -> Result<IngestOutcome> {
            IngestOutcome out;
            for (const auto& s : batch.samples) {
                auto add = db_.prepare_cached(
                    "INSERT OR IGNORE INTO samples(hospital_id, seq, bed, device, name, unit, value, observed_ms) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
                if (!add) return add.error();
                add->bind(1, hospital_id).bind(2, s.seq).bind(3, s.bed).bind(4, s.device).bind(5, s.name).bind(6, s.unit);
                add->bind_real(7, s.value).bind(8, s.observed_ms);
                if (auto r = add->run(); !r) return r.error();
                if (sqlite3_changes(db_.handle()) == 0) {
                    ++out.duplicates;
                    out.samples_before.push_back(s);
                    continue;
                }
                for (auto [resolution, width] : {std::pair{"m", kMinuteMs}, std::pair{"h", kHourMs}}) {
                    auto roll = db_.prepare_cached(
                        "INSERT INTO rollups(resolution, hospital_id, bed, name, bucket_ms, count, sum, min, max) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?6) ON CONFLICT(resolution, hospital_id, bed, name, bucket_ms) "
                        "DO UPDATE SET count = count + 1, sum = sum + ?6, min = MIN(min, ?6), max = MAX(max, ?6)");
                    if (!roll) return roll.error();
                    roll->bind(1, resolution).bind(2, hospital_id).bind(3, s.bed).bind(4, s.name);
                    roll->bind(5, s.observed_ms - s.observed_ms % width).bind_real(6, s.value);
                    if (auto r = roll->run(); !r) return r.error();
                }
                // The latest value moves only forward in the device's time: a late or
                // reordered sample goes to history, not over a newer one.
                auto latest = db_.prepare_cached(
                    "INSERT INTO latest(hospital_id, bed, name, unit, device, value, observed_ms) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(hospital_id, bed, name) DO UPDATE SET "
                    "unit = excluded.unit, device = excluded.device, value = excluded.value, "
                    "observed_ms = excluded.observed_ms WHERE excluded.observed_ms >= latest.observed_ms");
                if (!latest) return latest.error();
                latest->bind(1, hospital_id).bind(2, s.bed).bind(3, s.name).bind(4, s.unit).bind(5, s.device);
                latest->bind_real(6, s.value).bind(7, s.observed_ms);
                if (auto r = latest->run(); !r) return r.error();
                out.samples.push_back(s);
            }
            for (const auto& a : batch.alarms) {
                auto add = db_.prepare_cached(
                    "INSERT OR IGNORE INTO alarms(hospital_id, seq, device, bed, code, text, priority, technical, "
                    "observed_ms, raised_ms, state, escalation, last_escalated_ms, silenced_until_ms, acknowledged_by, "
                    "acknowledged_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'active', 0, ?10, 0, '', 0)");
                if (!add) return add.error();
                add->bind(1, hospital_id).bind(2, a.seq).bind(3, a.device).bind(4, a.bed).bind(5, a.code).bind(6, a.text);
                add->bind(7, static_cast<int64_t>(a.priority)).bind(8, int64_t{a.technical ? 1 : 0});
                add->bind(9, a.observed_ms).bind(10, now_ms);
                if (auto r = add->run(); !r) return r.error();
                if (sqlite3_changes(db_.handle()) == 0) {
                    ++out.duplicates;
                    auto before = db_.prepare_cached("SELECT id FROM alarms WHERE hospital_id = ?1 AND seq = ?2");
                    if (!before) return before.error();
                    before->bind(1, hospital_id).bind(2, a.seq);
                    if (before->step()) out.alarm_ids_before.push_back(before->integer(0));
                    else if (before->error()) return *before->error();
                    continue;
                }
                out.alarm_ids.push_back(db_.last_insert_rowid());
            }
            return out;
        });
    }

    Result<std::vector<BedLatest>> latest(const std::string& hospital_id) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare_cached(
            "SELECT bed, name, unit, device, value, observed_ms FROM latest WHERE hospital_id = ?1 "
            "ORDER BY bed, name LIMIT 200000");
        if (!s) return s.error();
        s->bind(1, hospital_id);
        std::vector<BedLatest> out;
        while (s->step()) {
            if (out.empty() || out.back().bed != s->text(0)) out.push_back({s->text(0), {}});
            out.back().values.push_back({s->text(1), s->text(2), s->text(3), s->real(4), s->integer(5)});
        }
        if (s->error()) return *s->error();
        return out;
    }

    Result<std::vector<HistoryPoint>> history(const std::string& hospital_id, const std::string& bed,
                                              const std::string& name, Resolution resolution, int64_t from_ms,
                                              int64_t to_ms, int limit) override {
        std::lock_guard lock(mu_);
        auto s = resolution == Resolution::Raw
                     ? db_.prepare_cached(
                           "SELECT observed_ms, value, value, value, 1 FROM samples WHERE hospital_id = ?1 AND bed = ?2 "
                           "AND name = ?3 AND observed_ms >= ?4 AND observed_ms < ?5 ORDER BY observed_ms, seq LIMIT ?6")
                     : db_.prepare_cached(
                           "SELECT bucket_ms, sum / count, min, max, count FROM rollups WHERE resolution = ?7 AND "
                           "hospital_id = ?1 AND bed = ?2 AND name = ?3 AND bucket_ms >= ?4 AND bucket_ms < ?5 "
                           "ORDER BY bucket_ms LIMIT ?6");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, bed).bind(3, name).bind(4, from_ms).bind(5, to_ms).bind(6, int64_t{limit});
        if (resolution != Resolution::Raw) s->bind(7, resolution == Resolution::Minute ? "m" : "h");
        std::vector<HistoryPoint> out;
        while (s->step()) out.push_back({s->integer(0), s->real(1), s->real(2), s->real(3), s->integer(4)});
        if (s->error()) return *s->error();
        return out;
    }

    Result<std::vector<VitalSample>> samples(const std::string& hospital_id, const std::string& bed, int64_t from_ms,
                                             int64_t to_ms, int limit) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare_cached(
            "SELECT seq, device, name, unit, value, observed_ms FROM samples WHERE hospital_id = ?1 AND bed = ?2 "
            "AND observed_ms >= ?3 AND observed_ms < ?4 ORDER BY observed_ms, seq LIMIT ?5");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, bed).bind(3, from_ms).bind(4, to_ms).bind(5, int64_t{limit});
        std::vector<VitalSample> out;
        while (s->step())
            out.push_back({s->integer(0), s->text(1), bed, s->text(2), s->text(3), s->real(4), s->integer(5), 0});
        if (s->error()) return *s->error();
        return out;
    }

    Result<std::vector<AlarmRecord>> alarms(const std::string& hospital_id, bool open_only, int limit) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare_cached(std::string("SELECT ") + kAlarmColumns +
                                    " FROM alarms WHERE hospital_id = ?1 AND (?2 = 0 OR state != 'acknowledged') "
                                    "ORDER BY id DESC LIMIT ?3");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, int64_t{open_only ? 1 : 0}).bind(3, int64_t{limit});
        std::vector<AlarmRecord> out;
        while (s->step()) out.push_back(alarm_row(*s));
        if (s->error()) return *s->error();
        return out;
    }

    Result<AlarmRecord> alarm(int64_t id) override {
        std::lock_guard lock(mu_);
        return read_alarm(id);
    }

    Result<AlarmRecord> act(int64_t id, AlarmAction action, const std::string& who, const std::string& from,
                            int64_t silence_ms, int64_t now_ms) override {
        std::lock_guard lock(mu_);
        return db_.transaction([&]() -> Result<AlarmRecord> {
            auto current = read_alarm(id);
            if (!current) return current.error();
            if (current->state == "acknowledged")
                return make_error(ErrorClass::Rejected, "vitals.alarm_acknowledged",
                                  "alarm " + std::to_string(id) + " was acknowledged by " + current->acknowledged_by +
                                      "; nothing more to do");
            auto u = action == AlarmAction::Acknowledge
                         ? db_.prepare("UPDATE alarms SET state = 'acknowledged', acknowledged_by = ?2, acknowledged_ms = ?3 "
                                       "WHERE id = ?1")
                         : db_.prepare("UPDATE alarms SET state = 'silenced', silenced_until_ms = ?3 + ?4 WHERE id = ?1");
            if (!u) return u.error();
            u->bind(1, id);
            if (action == AlarmAction::Acknowledge) u->bind(2, who).bind(3, now_ms);
            else u->bind(3, now_ms).bind(4, silence_ms);
            if (auto r = u->run(); !r) return r.error();
            std::string detail = action == AlarmAction::Silence ? "for " + std::to_string(silence_ms / 1000) + " s" : "";
            if (auto r = write_audit(id, current->hospital_id, action == AlarmAction::Acknowledge ? "acknowledge" : "silence",
                                     who, from, now_ms, detail);
                !r)
                return r.error();
            return read_alarm(id);
        });
    }

    Result<std::vector<AlarmRecord>> escalate_due(int64_t now_ms, int64_t after_ms) override {
        std::lock_guard lock(mu_);
        return db_.transaction([&]() -> Result<std::vector<AlarmRecord>> {
            std::vector<int64_t> due;
            {
                auto s = db_.prepare(
                    "SELECT id FROM alarms WHERE (state = 'active' OR (state = 'silenced' AND silenced_until_ms <= ?1)) "
                    "AND last_escalated_ms <= ?1 - ?2 ORDER BY id LIMIT 10000");
                if (!s) return s.error();
                s->bind(1, now_ms).bind(2, after_ms);
                while (s->step()) due.push_back(s->integer(0));
                if (s->error()) return *s->error();
            }
            std::vector<AlarmRecord> out;
            for (int64_t id : due) {
                auto u = db_.prepare(
                    "UPDATE alarms SET state = 'active', escalation = escalation + 1, last_escalated_ms = ?2 WHERE id = ?1");
                if (!u) return u.error();
                u->bind(1, id).bind(2, now_ms);
                if (auto r = u->run(); !r) return r.error();
                auto a = read_alarm(id);
                if (!a) return a.error();
                if (auto r = write_audit(id, a->hospital_id, "escalate", "controlplane", "", now_ms,
                                         "level " + std::to_string(a->escalation) + ", not acknowledged");
                    !r)
                    return r.error();
                out.push_back(std::move(a.value()));
            }
            return out;
        });
    }

    Result<std::vector<AuditEntry>> audit(const std::string& hospital_id, int limit) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string(kSelectAudit) + "WHERE hospital_id = ?1 ORDER BY id DESC LIMIT ?2");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, int64_t{limit});
        return audit_rows(*s);
    }

    Result<std::vector<AuditEntry>> audit_after(int64_t after_id, int limit) override {
        std::lock_guard lock(mu_);
        // Every instance asks this every second (VitalsIntake::tick): a cached statement.
        auto s = db_.prepare_cached(std::string(kSelectAudit) + "WHERE id > ?1 ORDER BY id LIMIT ?2");
        if (!s) return s.error();
        s->bind(1, after_id).bind(2, int64_t{limit});
        return audit_rows(*s);
    }

    Result<int64_t> audit_head() override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare("SELECT coalesce(max(id), 0) FROM alarm_audit");
        if (!s) return s.error();
        int64_t head = s->step() ? s->integer(0) : 0;
        if (s->error()) return *s->error();
        return head;
    }

    Result<int64_t> purge(int64_t now_ms) override {
        std::lock_guard lock(mu_);
        return db_.transaction([&]() -> Result<int64_t> {
            int64_t gone = 0;
            auto drop = [&](const char* sql, int64_t before, const char* resolution) -> Result<void> {
                auto s = db_.prepare(sql);
                if (!s) return s.error();
                s->bind(1, before);
                if (resolution) s->bind(2, resolution);
                if (auto r = s->run(); !r) return r.error();
                gone += sqlite3_changes(db_.handle());
                return {};
            };
            // By the device's time, the one a row keeps (the agent refuses times from the future).
            if (auto r = drop("DELETE FROM samples WHERE observed_ms < ?1", now_ms - retention_.raw_keep.count(), nullptr); !r)
                return r.error();
            if (auto r = drop("DELETE FROM rollups WHERE bucket_ms < ?1 AND resolution = ?2",
                              now_ms - retention_.minute_keep.count(), "m");
                !r)
                return r.error();
            if (auto r = drop("DELETE FROM rollups WHERE bucket_ms < ?1 AND resolution = ?2",
                              now_ms - retention_.hour_keep.count(), "h");
                !r)
                return r.error();
            return gone;
        });
    }

private:
    Result<AlarmRecord> read_alarm(int64_t id) {
        auto s = db_.prepare(std::string("SELECT ") + kAlarmColumns + " FROM alarms WHERE id = ?1");
        if (!s) return s.error();
        s->bind(1, id);
        if (!s->step()) {
            if (s->error()) return *s->error();
            return make_error(ErrorClass::NotFound, "vitals.unknown_alarm", "no alarm " + std::to_string(id));
        }
        return alarm_row(*s);
    }

    // An audit entry's columns, in AuditEntry's order (audit_rows reads them).
    static constexpr const char* kSelectAudit =
        "SELECT id, alarm_id, hospital_id, action, who, from_addr, at_ms, detail FROM alarm_audit ";

    static Result<std::vector<AuditEntry>> audit_rows(sql::Statement& s) {
        std::vector<AuditEntry> out;
        while (s.step())
            out.push_back({s.integer(0), s.integer(1), s.text(2), s.text(3), s.text(4), s.text(5), s.integer(6), s.text(7)});
        if (s.error()) return *s.error();
        return out;
    }

    Result<void> write_audit(int64_t alarm_id, const std::string& hospital_id, const char* action, const std::string& who,
                             const std::string& from, int64_t now_ms, const std::string& detail) {
        auto s = db_.prepare(
            "INSERT INTO alarm_audit(alarm_id, hospital_id, action, who, from_addr, at_ms, detail) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        if (!s) return s.error();
        s->bind(1, alarm_id).bind(2, hospital_id).bind(3, action).bind(4, who).bind(5, from).bind(6, now_ms).bind(7, detail);
        return s->run();
    }

    std::mutex mu_;
    sql::Db db_;
    VitalsRetention retention_;
};
}  // namespace

Result<std::unique_ptr<VitalsStore>> open_sqlite_vitals_store(const std::string& path, VitalsRetention retention) {
    auto db = sql::Db::open_with_schema(path, {
        "CREATE TABLE IF NOT EXISTS samples(hospital_id TEXT NOT NULL, seq INTEGER NOT NULL, bed TEXT NOT NULL, "
        "device TEXT NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL, value REAL NOT NULL, observed_ms INTEGER NOT NULL, "
        "PRIMARY KEY(hospital_id, seq))",
        "CREATE INDEX IF NOT EXISTS samples_bed ON samples(hospital_id, bed, name, observed_ms)",
        "CREATE INDEX IF NOT EXISTS samples_time ON samples(observed_ms)",
        "CREATE TABLE IF NOT EXISTS rollups(resolution TEXT NOT NULL, hospital_id TEXT NOT NULL, bed TEXT NOT NULL, "
        "name TEXT NOT NULL, bucket_ms INTEGER NOT NULL, count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, "
        "max REAL NOT NULL, PRIMARY KEY(resolution, hospital_id, bed, name, bucket_ms))",
        "CREATE TABLE IF NOT EXISTS latest(hospital_id TEXT NOT NULL, bed TEXT NOT NULL, name TEXT NOT NULL, "
        "unit TEXT NOT NULL, device TEXT NOT NULL, value REAL NOT NULL, observed_ms INTEGER NOT NULL, "
        "PRIMARY KEY(hospital_id, bed, name))",
        "CREATE TABLE IF NOT EXISTS alarms(id INTEGER PRIMARY KEY AUTOINCREMENT, hospital_id TEXT NOT NULL, "
        "seq INTEGER NOT NULL, device TEXT NOT NULL, bed TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL, "
        "priority INTEGER NOT NULL, technical INTEGER NOT NULL, observed_ms INTEGER NOT NULL, raised_ms INTEGER NOT NULL, "
        "state TEXT NOT NULL, escalation INTEGER NOT NULL, last_escalated_ms INTEGER NOT NULL, "
        "silenced_until_ms INTEGER NOT NULL, acknowledged_by TEXT NOT NULL, acknowledged_ms INTEGER NOT NULL, "
        "UNIQUE(hospital_id, seq))",
        "CREATE INDEX IF NOT EXISTS alarms_open ON alarms(state, last_escalated_ms)",
        // A device's priority is kept as it came: no statement may lower it.
        "CREATE TRIGGER IF NOT EXISTS alarms_priority_kept BEFORE UPDATE OF priority ON alarms "
        "WHEN NEW.priority < OLD.priority BEGIN SELECT RAISE(ABORT, 'an alarm''s priority is never lowered'); END",
        "CREATE TABLE IF NOT EXISTS alarm_audit(id INTEGER PRIMARY KEY AUTOINCREMENT, alarm_id INTEGER NOT NULL, "
        "hospital_id TEXT NOT NULL, action TEXT NOT NULL, who TEXT NOT NULL, from_addr TEXT NOT NULL, at_ms INTEGER NOT NULL, "
        "detail TEXT NOT NULL)",
        "CREATE TRIGGER IF NOT EXISTS alarm_audit_append_only_u BEFORE UPDATE ON alarm_audit "
        "BEGIN SELECT RAISE(ABORT, 'the alarm audit is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS alarm_audit_append_only_d BEFORE DELETE ON alarm_audit "
        "BEGIN SELECT RAISE(ABORT, 'the alarm audit is append-only'); END",
    });
    if (!db) return db.error();
    return std::unique_ptr<VitalsStore>(new SqliteVitalsStore(std::move(db.value()), retention));
}

}  // namespace hisgate::controlplane::vitals
