// ConfigStore on SQLite: one row per pushed set (hospital, version), one per flag.
#include <mutex>

#include "common/sqlite.h"
#include "common/utc_time.h"
#include "controlplane/config_store.h"

namespace hisgate::controlplane {

nlohmann::json ConfigRecord::to_json(bool with_params) const {
    nlohmann::json j = {{"hospitalId", hospital_id},
                        {"version", version},
                        {"hash", hash},
                        {"pushedBy", pushed_by},
                        {"pushedAt", iso_utc_ms(pushed_ms)},
                        {"mode", mode},
                        {"status", status},
                        {"detail", detail},
                        {"updatedAt", iso_utc_ms(updated_ms)}};
    if (rollback_of) j["rollbackOf"] = rollback_of;
    if (with_params) j["params"] = params;
    return j;
}

namespace {

constexpr const char* kColumns =
    "hospital_id, version, hash, params, pushed_by, pushed_ms, mode, status, detail, updated_ms, rollback_of";

nlohmann::json json_or(const std::string& text, nlohmann::json fallback) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    return j.is_discarded() ? fallback : j;
}

ConfigRecord read_row(const sql::Statement& s) {
    ConfigRecord r;
    r.hospital_id = s.text(0);
    r.version = s.integer(1);
    r.hash = s.text(2);
    r.params = json_or(s.text(3), nlohmann::json::object());
    r.pushed_by = s.text(4);
    r.pushed_ms = s.integer(5);
    r.mode = s.text(6);
    r.status = s.text(7);
    r.detail = json_or(s.text(8), nlohmann::json::object());
    r.updated_ms = s.integer(9);
    r.rollback_of = s.integer(10);
    return r;
}

class SqliteConfigStore final : public ConfigStore {
public:
    explicit SqliteConfigStore(sql::Db db) : db_(std::move(db)) {}

    Result<ConfigRecord> add(ConfigRecord r) override {
        std::lock_guard lock(mu_);
        auto added = db_.transaction([&]() -> Result<int64_t> {
            auto next = db_.prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM config_sets WHERE hospital_id = ?1");
            if (!next) return next.error();
            next->bind(1, r.hospital_id);
            if (!next->step()) return next->error() ? *next->error() : make_error(ErrorClass::Internal, "config.store", "no version");
            int64_t version = next->integer(0);
            auto s = db_.prepare(std::string("INSERT INTO config_sets(") + kColumns +
                                 ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
            if (!s) return s.error();
            s->bind(1, r.hospital_id).bind(2, version).bind(3, r.hash).bind(4, r.params.dump()).bind(5, r.pushed_by);
            s->bind(6, r.pushed_ms).bind(7, r.mode).bind(8, r.status).bind(9, r.detail.dump()).bind(10, r.pushed_ms);
            s->bind(11, r.rollback_of);
            if (auto ran = s->run(); !ran) return ran.error();
            return version;
        });
        if (!added) return added.error();
        r.version = added.value();
        r.updated_ms = r.pushed_ms;
        return r;
    }

    Result<void> set_status(const std::string& hospital_id, int64_t version, const std::string& status,
                            const nlohmann::json& detail, int64_t at_ms) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare("UPDATE config_sets SET status = ?3, detail = ?4, updated_ms = ?5 "
                             "WHERE hospital_id = ?1 AND version = ?2");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, version).bind(3, status).bind(4, detail.dump()).bind(5, at_ms);
        if (auto ran = s->run(); !ran) return ran.error();
        if (sqlite3_changes(db_.handle()) == 0)
            return make_error(ErrorClass::NotFound, "config.unknown_version",
                              "hospital " + hospital_id + " has no configuration version " + std::to_string(version));
        return {};
    }

    Result<std::optional<ConfigRecord>> get(const std::string& hospital_id, int64_t version) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string("SELECT ") + kColumns + " FROM config_sets WHERE hospital_id = ?1 AND version = ?2");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, version);
        if (s->step()) return std::optional<ConfigRecord>(read_row(*s));
        if (s->error()) return *s->error();
        return std::optional<ConfigRecord>();
    }

    Result<std::vector<ConfigRecord>> history(const std::string& hospital_id, int limit) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(std::string("SELECT ") + kColumns +
                             " FROM config_sets WHERE hospital_id = ?1 ORDER BY version DESC LIMIT ?2");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, int64_t{limit});
        std::vector<ConfigRecord> out;
        while (s->step()) out.push_back(read_row(*s));
        if (s->error()) return *s->error();
        return out;
    }

    Result<void> put_flag(const params::FeatureFlag& flag) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare("INSERT INTO feature_flags(name, flag) VALUES(?1, ?2) "
                             "ON CONFLICT(name) DO UPDATE SET flag = excluded.flag");
        if (!s) return s.error();
        return s->bind(1, flag.name).bind(2, flag.to_json().dump()).run();
    }

    Result<bool> remove_flag(const std::string& name) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare("DELETE FROM feature_flags WHERE name = ?1");
        if (!s) return s.error();
        if (auto ran = s->bind(1, name).run(); !ran) return ran.error();
        return sqlite3_changes(db_.handle()) > 0;
    }

    Result<params::FlagSet> flags() override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare("SELECT flag FROM feature_flags ORDER BY name");
        if (!s) return s.error();
        params::FlagSet set;
        while (s->step()) {
            // Written by put_flag from a checked flag; a row that does not read back is skipped.
            auto flag = params::FeatureFlag::from_json(json_or(s->text(0), nullptr));
            if (flag) set.put(std::move(flag.value()));
        }
        if (s->error()) return *s->error();
        return set;
    }

private:
    std::mutex mu_;
    sql::Db db_;
};

}  // namespace

Result<std::unique_ptr<ConfigStore>> open_sqlite_config_store(const std::string& path) {
    auto db = sql::Db::open_with_schema(
        path, {"CREATE TABLE IF NOT EXISTS config_sets(hospital_id TEXT NOT NULL, version INTEGER NOT NULL, "
               "hash TEXT NOT NULL, params TEXT NOT NULL, pushed_by TEXT NOT NULL, pushed_ms INTEGER NOT NULL, "
               "mode TEXT NOT NULL, status TEXT NOT NULL, detail TEXT NOT NULL, updated_ms INTEGER NOT NULL, "
               "rollback_of INTEGER NOT NULL, PRIMARY KEY(hospital_id, version))",
               "CREATE TABLE IF NOT EXISTS feature_flags(name TEXT PRIMARY KEY, flag TEXT NOT NULL)"});
    if (!db) return db.error();
    return std::unique_ptr<ConfigStore>(new SqliteConfigStore(std::move(db.value())));
}

}  // namespace hisgate::controlplane
