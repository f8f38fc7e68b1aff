// FleetStore on SQLite: one row per hospital, the filtered columns indexed by their
// own values, the agent's latest state body as JSON text.
#include <mutex>

#include "common/check.h"
#include "common/sqlite.h"
#include "controlplane/fleet_store.h"

namespace hisgate::controlplane {

namespace {
constexpr const char* kColumns =
    "hospital_id, name, region, online, since_ms, last_heartbeat_ms, first_seen_ms, updated_ms, version, "
    "protocol_min, protocol_max, dialect, params_hash, session, seq, body";

FleetRecord read_row(const sql::Statement& s) {
    FleetRecord r;
    r.hospital_id = s.text(0);
    r.name = s.text(1);
    r.region = s.text(2);
    r.online = s.integer(3) != 0;
    r.since_ms = s.integer(4);
    r.last_heartbeat_ms = s.integer(5);
    r.first_seen_ms = s.integer(6);
    r.updated_ms = s.integer(7);
    r.version = s.text(8);
    r.protocol_min = static_cast<int>(s.integer(9));
    r.protocol_max = static_cast<int>(s.integer(10));
    r.dialect = s.text(11);
    r.params_hash = s.text(12);
    r.session = s.integer(13);
    r.seq = s.integer(14);
    // Written by put() from a parsed body; a row that does not read back is shown empty.
    r.body = nlohmann::json::parse(s.text(15), nullptr, false);
    if (!r.body.is_object()) r.body = nlohmann::json::object();
    return r;
}

class SqliteFleetStore final : public FleetStore {
public:
    explicit SqliteFleetStore(sql::Db db) : db_(std::move(db)) {}

    Result<void> put(const FleetRecord& r) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string("INSERT OR REPLACE INTO fleet(") + kColumns +
                             ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
        if (!s) return s.error();
        s->bind(1, r.hospital_id).bind(2, r.name).bind(3, r.region).bind(4, int64_t{r.online ? 1 : 0});
        s->bind(5, r.since_ms).bind(6, r.last_heartbeat_ms).bind(7, r.first_seen_ms).bind(8, r.updated_ms);
        s->bind(9, r.version).bind(10, int64_t{r.protocol_min}).bind(11, int64_t{r.protocol_max});
        s->bind(12, r.dialect).bind(13, r.params_hash).bind(14, r.session).bind(15, r.seq);
        s->bind(16, r.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        return s->run();
    }

    Result<std::optional<FleetRecord>> get(const std::string& hospital_id) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string("SELECT ") + kColumns + " FROM fleet WHERE hospital_id = ?1");
        if (!s) return s.error();
        s->bind(1, hospital_id);
        if (s->step()) return std::optional<FleetRecord>(read_row(*s));
        if (s->error()) return *s->error();
        return std::optional<FleetRecord>();
    }

    Result<std::vector<FleetRecord>> list(const FleetQuery& q) override {
        // (A page of kMaxFleetPage and one more, to tell whether another page follows.)
        HISGATE_CHECK(q.limit >= 1 && q.limit <= kMaxFleetPage + 1, "limit", q.limit);
        // Each filter is a fixed clause with its own parameter; an absent one matches all.
        std::string where =
            "hospital_id > ?1 AND (?2 IS NULL OR region = ?2) AND (?3 IS NULL OR dialect = ?3) AND "
            "(?4 IS NULL OR version = ?4)";
        const std::string incompatible = "(protocol_max < ?5 OR protocol_min > ?6)";
        switch (q.state) {
            case FleetStateFilter::Any: break;
            case FleetStateFilter::Online: where += " AND online = 1 AND NOT " + incompatible; break;
            case FleetStateFilter::Offline: where += " AND online = 0"; break;
            case FleetStateFilter::Incompatible: where += " AND online = 1 AND " + incompatible; break;
        }
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string("SELECT ") + kColumns + " FROM fleet WHERE " + where +
                             " ORDER BY hospital_id LIMIT ?7");
        if (!s) return s.error();
        s->bind(1, q.after);
        auto bind_optional = [&](int i, const std::optional<std::string>& v) {
            if (v) s->bind(i, *v);
            else s->bind_null(i);
        };
        bind_optional(2, q.region);
        bind_optional(3, q.dialect);
        bind_optional(4, q.version);
        s->bind(5, int64_t{q.window.min}).bind(6, int64_t{q.window.max}).bind(7, int64_t{q.limit});
        std::vector<FleetRecord> out;
        while (s->step()) out.push_back(read_row(*s));
        if (s->error()) return *s->error();
        return out;
    }

    Result<std::vector<FleetRecord>> all() override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string("SELECT ") + kColumns + " FROM fleet ORDER BY hospital_id");
        if (!s) return s.error();
        std::vector<FleetRecord> out;
        while (s->step()) out.push_back(read_row(*s));
        if (s->error()) return *s->error();
        return out;
    }

private:
    std::mutex mu_;
    sql::Db db_;
};
}  // namespace

Result<std::unique_ptr<FleetStore>> open_sqlite_fleet_store(const std::string& path) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS fleet(hospital_id TEXT PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL, "
         "online INTEGER NOT NULL, since_ms INTEGER NOT NULL, last_heartbeat_ms INTEGER NOT NULL, "
         "first_seen_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, version TEXT NOT NULL, "
         "protocol_min INTEGER NOT NULL, protocol_max INTEGER NOT NULL, dialect TEXT NOT NULL, "
         "params_hash TEXT NOT NULL, session INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL)",
         "CREATE INDEX IF NOT EXISTS fleet_region ON fleet(region, hospital_id)",
         "CREATE INDEX IF NOT EXISTS fleet_dialect ON fleet(dialect, hospital_id)"});
    if (!db) return db.error();
    return std::unique_ptr<FleetStore>(new SqliteFleetStore(std::move(db.value())));
}

}  // namespace hisgate::controlplane
