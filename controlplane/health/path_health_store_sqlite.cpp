// PathHealthStore on SQLite: probe_results (one row per result, 24 h) and path_status (one
// row per hospital and path: last outcome, last change, last failure). Availability is
// counted from probe_results at query time.
#include <mutex>

#include "common/sqlite.h"
#include "controlplane/health/path_health_store.h"

namespace hisgate::controlplane::health {

namespace {
class SqlitePathHealthStore final : public PathHealthStore {
public:
    SqlitePathHealthStore(sql::Db db, Clock& clock, PathHealthRetention retention)
        : db_(std::move(db)), clock_(clock), retention_(retention) {}

    Result<void> record(const ProbeOutcome& o) override {
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        const bool failed = o.outcome == "failed";
        return db_.transaction([&]() -> Result<void> {
            // A hospital's paths are bounded: a new one beyond kMaxPathsPerHospital is refused.
            auto known = db_.prepare(
                "SELECT EXISTS(SELECT 1 FROM path_status WHERE hospital_id = ?1 AND path = ?2), "
                "(SELECT COUNT(*) FROM path_status WHERE hospital_id = ?1)");
            if (!known) return known.error();
            known->bind(1, o.hospital_id).bind(2, o.path);
            if (!known->step()) return known->error() ? *known->error() : make_error(ErrorClass::Internal, "sqlite.no_row", "path count");
            const bool refused = known->integer(0) == 0 && known->integer(1) >= kMaxPathsPerHospital;
            known->reset();
            if (refused)
                return make_error(ErrorClass::BadInput, "health.too_many_paths",
                                  "a hospital has at most " + std::to_string(kMaxPathsPerHospital) + " probed paths");
            auto add = db_.prepare("INSERT INTO probe_results(hospital_id, path, at_ms, available) VALUES(?1, ?2, ?3, ?4)");
            if (!add) return add.error();
            add->bind(1, o.hospital_id).bind(2, o.path).bind(3, now).bind(4, int64_t{failed ? 0 : 1});
            if (auto r = add->run(); !r) return r.error();
            // The status row: the change time moves only when the outcome differs.
            auto status = db_.prepare(
                "INSERT INTO path_status(hospital_id, path, last_outcome, last_at_ms, last_change_ms, "
                "last_failure_reason, last_failure_ms) VALUES(?1, ?2, ?3, ?4, ?4, ?5, ?6) "
                "ON CONFLICT(hospital_id, path) DO UPDATE SET "
                "last_change_ms = CASE WHEN last_outcome = excluded.last_outcome THEN last_change_ms ELSE ?4 END, "
                "last_outcome = excluded.last_outcome, last_at_ms = ?4, "
                "last_failure_reason = CASE WHEN ?6 > 0 THEN ?5 ELSE last_failure_reason END, "
                "last_failure_ms = CASE WHEN ?6 > 0 THEN ?6 ELSE last_failure_ms END");
            if (!status) return status.error();
            status->bind(1, o.hospital_id).bind(2, o.path).bind(3, o.outcome).bind(4, now);
            status->bind(5, failed ? o.reason : std::string()).bind(6, failed ? now : int64_t{0});
            if (auto r = status->run(); !r) return r.error();
            auto old = db_.prepare("DELETE FROM probe_results WHERE at_ms < ?1");
            if (!old) return old.error();
            old->bind(1, now - static_cast<int64_t>(retention_.keep.count()));
            if (auto r = old->run(); !r) return r.error();
            auto beyond = db_.prepare(
                "DELETE FROM probe_results WHERE rowid IN (SELECT rowid FROM probe_results ORDER BY rowid DESC "
                "LIMIT -1 OFFSET ?1)");
            if (!beyond) return beyond.error();
            beyond->bind(1, retention_.max_results);
            return beyond->run();
        });
    }

    Result<std::vector<PathHealth>> paths(const std::string& hospital_id) override {
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        auto s = db_.prepare(
            "SELECT s.hospital_id, s.path, s.last_outcome, s.last_at_ms, s.last_change_ms, s.last_failure_reason, "
            "s.last_failure_ms, "
            "(SELECT COUNT(*) FROM probe_results r WHERE r.hospital_id = s.hospital_id AND r.path = s.path AND r.at_ms >= ?2), "
            "(SELECT COALESCE(SUM(available), 0) FROM probe_results r WHERE r.hospital_id = s.hospital_id AND r.path = s.path AND r.at_ms >= ?2), "
            "(SELECT COUNT(*) FROM probe_results r WHERE r.hospital_id = s.hospital_id AND r.path = s.path AND r.at_ms >= ?3), "
            "(SELECT COALESCE(SUM(available), 0) FROM probe_results r WHERE r.hospital_id = s.hospital_id AND r.path = s.path AND r.at_ms >= ?3) "
            "FROM path_status s WHERE (?1 = '' OR s.hospital_id = ?1) ORDER BY s.hospital_id, s.path LIMIT 100000");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, now - 3600000).bind(3, now - 86400000);
        std::vector<PathHealth> out;
        while (s->step()) {
            PathHealth h;
            h.hospital_id = s->text(0);
            h.path = s->text(1);
            h.last_outcome = s->text(2);
            h.last_at_ms = s->integer(3);
            h.last_change_ms = s->integer(4);
            h.last_failure_reason = s->text(5);
            h.last_failure_ms = s->integer(6);
            h.probes_1h = static_cast<int>(s->integer(7));
            if (h.probes_1h > 0) h.availability_1h = static_cast<double>(s->integer(8)) / h.probes_1h;
            h.probes_24h = static_cast<int>(s->integer(9));
            if (h.probes_24h > 0) h.availability_24h = static_cast<double>(s->integer(10)) / h.probes_24h;
            out.push_back(std::move(h));
        }
        if (s->error()) return *s->error();
        return out;
    }

private:
    std::mutex mu_;
    sql::Db db_;
    Clock& clock_;
    PathHealthRetention retention_;
};
}  // namespace

Result<std::unique_ptr<PathHealthStore>> open_sqlite_path_health_store(const std::string& path, Clock& clock,
                                                                      PathHealthRetention retention) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS probe_results(hospital_id TEXT NOT NULL, path TEXT NOT NULL, "
         "at_ms INTEGER NOT NULL, available INTEGER NOT NULL)",
         "CREATE INDEX IF NOT EXISTS probe_results_path ON probe_results(hospital_id, path, at_ms)",
         "CREATE INDEX IF NOT EXISTS probe_results_at ON probe_results(at_ms)",
         "CREATE TABLE IF NOT EXISTS path_status(hospital_id TEXT NOT NULL, path TEXT NOT NULL, "
         "last_outcome TEXT NOT NULL, last_at_ms INTEGER NOT NULL, last_change_ms INTEGER NOT NULL, "
         "last_failure_reason TEXT NOT NULL, last_failure_ms INTEGER NOT NULL, PRIMARY KEY(hospital_id, path))"});
    if (!db) return db.error();
    return std::unique_ptr<PathHealthStore>(new SqlitePathHealthStore(std::move(db.value()), clock, retention));
}

}  // namespace hisgate::controlplane::health
