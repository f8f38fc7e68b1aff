// RolloutStore on SQLite: a row per rollout (its spec and state as JSON), a row per target
// (its state as JSON, the state also as a column), and the agents' parameter files.
#include <algorithm>
#include <mutex>

#include "common/check.h"
#include "common/sqlite.h"
#include "controlplane/rollout/rollout_store.h"

namespace hisgate::controlplane::rollout {

namespace {
using nlohmann::json;

std::string rollout_json_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

class SqliteRolloutStore final : public RolloutStore {
public:
    explicit SqliteRolloutStore(sql::Db db) : db_(std::move(db)) {}

    Result<void> save(const Rollout& r) override { return save_all({&r}); }

    Result<void> save_all(const std::vector<const Rollout*>& rs) override {
        std::lock_guard lock(mu_);
        return db_.transaction([&]() -> Result<void> {
            for (const Rollout* r : rs)
                if (auto one = write(*r); !one) return one.error();
            return {};
        });
    }

    Result<std::optional<Rollout>> get(const std::string& id) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare("SELECT doc FROM rollouts WHERE id = ?1");
        if (!s) return s.error();
        s->bind(1, id);
        if (!s->step()) {
            if (s->error()) return *s->error();
            return std::optional<Rollout>();
        }
        auto r = read(s->text(0));
        if (!r) return r.error();
        if (auto t = read_targets(*r); !t) return t.error();
        return std::optional<Rollout>(std::move(r.value()));
    }

    Result<std::vector<Rollout>> list(int limit) override {
        HISGATE_CHECK(limit >= 1 && limit <= kMaxRolloutPage, "limit", limit);
        std::lock_guard lock(mu_);
        auto s = db_.prepare("SELECT doc FROM rollouts ORDER BY seq DESC LIMIT ?1");
        if (!s) return s.error();
        s->bind(1, int64_t{limit});
        // With their targets: the summary's counts come from them.
        return read_all(*s);
    }

    Result<std::vector<Rollout>> active() override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare("SELECT doc FROM rollouts WHERE state IN ('running', 'paused') ORDER BY seq");
        if (!s) return s.error();
        return read_all(*s);
    }

    Result<void> put_params_file(const std::string& hospital_id, const std::string& params_hash, const json& file,
                                 int64_t now_ms) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(
            "INSERT OR REPLACE INTO rollout_params_files(hospital_id, params_hash, file, fetched_ms) VALUES(?1, ?2, ?3, ?4)");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, params_hash).bind(3, rollout_json_text(file)).bind(4, now_ms);
        return s->run();
    }

    Result<std::optional<json>> params_file(const std::string& hospital_id, const std::string& params_hash) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare("SELECT file FROM rollout_params_files WHERE hospital_id = ?1 AND params_hash = ?2");
        if (!s) return s.error();
        s->bind(1, hospital_id).bind(2, params_hash);
        if (!s->step()) {
            if (s->error()) return *s->error();
            return std::optional<json>();
        }
        auto file = json::parse(s->text(0), nullptr, false);
        if (file.is_discarded()) return std::optional<json>();
        return std::optional<json>(std::move(file));
    }

private:
    Result<void> write(const Rollout& r) {
        json doc = r.to_json(false);
        auto s = db_.prepare(
            "INSERT INTO rollouts(id, state, created_ms, doc) VALUES(?1, ?2, ?3, ?4) "
            "ON CONFLICT(id) DO UPDATE SET state = excluded.state, doc = excluded.doc");
        if (!s) return s.error();
        s->bind(1, r.id).bind(2, std::string(to_string(r.state))).bind(3, r.created_ms).bind(4, rollout_json_text(doc));
        if (auto ran = s->run(); !ran) return ran;
        for (size_t i = 0; i < r.targets.size(); ++i) {
            const auto& t = r.targets[i];
            auto ts = db_.prepare_cached(
                "INSERT OR REPLACE INTO rollout_targets(rollout_id, position, hospital_id, state, doc) "
                "VALUES(?1, ?2, ?3, ?4, ?5)");
            if (!ts) return ts.error();
            ts->bind(1, r.id).bind(2, static_cast<int64_t>(i)).bind(3, t.hospital_id);
            ts->bind(4, std::string(to_string(t.state))).bind(5, rollout_json_text(t.to_json()));
            if (auto ran = ts->run(); !ran) return ran;
        }
        return {};
    }

    // Every rollout `s` selects (its column 0 the doc), with its targets.
    Result<std::vector<Rollout>> read_all(sql::Statement& s) {
        std::vector<Rollout> out;
        while (s.step()) {
            auto r = read(s.text(0));
            if (!r) return r.error();
            if (auto t = read_targets(*r); !t) return t.error();
            out.push_back(std::move(r.value()));
        }
        if (s.error()) return *s.error();
        return out;
    }

    static Result<Rollout> read(const std::string& text) {
        auto doc = json::parse(text, nullptr, false);
        if (doc.is_discarded()) return make_error(ErrorClass::Internal, "rollout.corrupt", "a stored rollout is not JSON");
        return Rollout::from_json(doc);
    }

    Result<void> read_targets(Rollout& r) {
        auto s = db_.prepare("SELECT doc FROM rollout_targets WHERE rollout_id = ?1 ORDER BY position");
        if (!s) return s.error();
        s->bind(1, r.id);
        while (s->step()) {
            auto doc = json::parse(s->text(0), nullptr, false);
            auto t = Target::from_json(doc);
            if (!t) return t.error();
            r.targets.push_back(std::move(t.value()));
        }
        if (s->error()) return *s->error();
        return {};
    }

    std::mutex mu_;
    sql::Db db_;
};
}  // namespace

Result<std::unique_ptr<RolloutStore>> open_sqlite_rollout_store(const std::string& path) {
    auto db = sql::Db::open_with_schema(
        path, {"CREATE TABLE IF NOT EXISTS rollouts(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, "
               "state TEXT NOT NULL, created_ms INTEGER NOT NULL, doc TEXT NOT NULL)",
               "CREATE INDEX IF NOT EXISTS rollouts_state ON rollouts(state, seq)",
               "CREATE TABLE IF NOT EXISTS rollout_targets(rollout_id TEXT NOT NULL, position INTEGER NOT NULL, "
               "hospital_id TEXT NOT NULL, state TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY(rollout_id, position))",
               "CREATE TABLE IF NOT EXISTS rollout_params_files(hospital_id TEXT PRIMARY KEY, params_hash TEXT NOT NULL, "
               "file TEXT NOT NULL, fetched_ms INTEGER NOT NULL)"});
    if (!db) return db.error();
    return std::unique_ptr<RolloutStore>(new SqliteRolloutStore(std::move(db.value())));
}

}  // namespace hisgate::controlplane::rollout
