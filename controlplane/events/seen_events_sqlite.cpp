// SeenEvents on SQLite: seen_events (hospital, event id, when first claimed), WITHOUT
// ROWID so the key is the table; claims older than the window are deleted every
// kPruneEvery claims through the seen_ms index (a prune reads only what it deletes).
#include <mutex>

#include "common/sqlite.h"
#include "controlplane/events/seen_events.h"

namespace hisgate::controlplane::events {

namespace {
constexpr int kPruneEvery = 1000;

class SqliteSeenEvents final : public SeenEvents {
public:
    SqliteSeenEvents(sql::Db db, Clock& clock, SeenEventsWindow window)
        : db_(std::move(db)), clock_(clock), window_(window) {}

    Result<bool> claim(const std::string& hospital_id, const std::string& event_id) override {
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        if (++since_prune_ >= kPruneEvery) {
            since_prune_ = 0;
            auto old = db_.prepare("DELETE FROM seen_events WHERE seen_ms < ?1");
            if (!old) return old.error();
            old->bind(1, now - window_.keep.count());
            if (auto r = old->run(); !r) return r.error();
        }
        // A row older than the window that pruning has not reached yet is a new claim.
        auto insert = db_.prepare(
            "INSERT INTO seen_events(hospital_id, event_id, seen_ms) VALUES(?1, ?2, ?3) "
            "ON CONFLICT(hospital_id, event_id) DO UPDATE SET seen_ms = excluded.seen_ms "
            "WHERE seen_events.seen_ms < ?4");
        if (!insert) return insert.error();
        insert->bind(1, hospital_id).bind(2, event_id).bind(3, now).bind(4, now - window_.keep.count());
        if (auto r = insert->run(); !r) return r.error();
        return sqlite3_changes(db_.handle()) == 1;
    }

private:
    std::mutex mu_;
    sql::Db db_;
    Clock& clock_;
    SeenEventsWindow window_;
    int since_prune_ = 0;
};
}  // namespace

Result<std::unique_ptr<SeenEvents>> open_sqlite_seen_events(const std::string& path, Clock& clock,
                                                            SeenEventsWindow window) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS seen_events(hospital_id TEXT NOT NULL, event_id TEXT NOT NULL, "
         "seen_ms INTEGER NOT NULL, PRIMARY KEY(hospital_id, event_id)) WITHOUT ROWID",
         "CREATE INDEX IF NOT EXISTS seen_events_by_time ON seen_events(seen_ms)"});
    if (!db) return db.error();
    return std::unique_ptr<SeenEvents>(new SqliteSeenEvents(std::move(db.value()), clock, window));
}

}  // namespace hisgate::controlplane::events
