// KeyedAnswers on SQLite: one row per claimed key (by a digest of its scope), with the
// digests of the request's fields and, once finished, the answer.
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/log.h"
#include "common/sqlite.h"
#include "controlplane/money/keyed_answers.h"

namespace hisgate::controlplane::money {

namespace {
constexpr std::chrono::minutes kPurgeEvery{1};

// Each part length-prefixed, so no two different scopes make the same text.
std::string scope_digest(const KeyedRequest& r) {
    std::string text;
    for (const std::string* part : {&r.caller, &r.route, &r.key}) text += std::to_string(part->size()) + ":" + *part + ";";
    return sha256_hex(text);
}

// [[name, digest of its value], ...] in the route's order.
std::string field_digests(const KeyedRequest& r) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, value] : r.fields) out.push_back({name, sha256_hex(value)});
    return out.dump();
}

// The first field of `now` whose digest is not the stored one's; "" if none.
std::string first_difference(const std::string& stored_json, const std::string& now_json) {
    auto stored = nlohmann::json::parse(stored_json, nullptr, false);
    auto now = nlohmann::json::parse(now_json, nullptr, false);
    if (!stored.is_array() || !now.is_array()) return "the request";
    for (size_t i = 0; i < now.size(); ++i) {
        if (i >= stored.size() || stored[i] != now[i]) return now[i].at(0).get<std::string>();
    }
    return stored.size() == now.size() ? "" : "the request";
}

class SqliteKeyedAnswers final : public KeyedAnswers {
public:
    SqliteKeyedAnswers(sql::Db db, Clock& clock, KeyedAnswerRetention retention)
        : db_(std::move(db)), clock_(clock), retention_(retention), last_purge_ms_(clock.wall_ms()) {}

    Result<KeyClaim> begin(const KeyedRequest& request, const std::string& resource_id) override {
        if (clock_.wall_ms() - last_purge_ms_ >= std::chrono::milliseconds(kPurgeEvery).count()) {
            if (auto purged = purge(); !purged) log::error("keyed_answers.purge_failed", {{"error", purged.error().describe()}});
        }
        std::lock_guard lock(mu_);
        const std::string scope = scope_digest(request);
        const std::string fields = field_digests(request);
        const int64_t now = clock_.wall_ms();
        return db_.transaction([&]() -> Result<KeyClaim> {
            // A key past the retention is new again.
            auto stale = db_.prepare("DELETE FROM money_keys WHERE scope = ?1 AND created_ms < ?2");
            if (!stale) return stale.error();
            stale->bind(1, scope).bind(2, now - static_cast<int64_t>(retention_.keep.count()));
            if (auto r = stale->run(); !r) return r.error();
            auto insert = db_.prepare(
                "INSERT OR IGNORE INTO money_keys(scope, fields, resource_id, created_ms, claimed_ms) "
                "VALUES(?1, ?2, ?3, ?4, ?4)");
            if (!insert) return insert.error();
            insert->bind(1, scope).bind(2, fields).bind(3, resource_id).bind(4, now);
            if (auto r = insert->run(); !r) return r.error();
            if (sqlite3_changes(db_.handle()) == 1) return KeyClaim{false, resource_id, 0, ""};

            auto known = db_.prepare("SELECT fields, resource_id, status, body, claimed_ms FROM money_keys WHERE scope = ?1");
            if (!known) return known.error();
            known->bind(1, scope);
            if (!known->step())
                return known->error() ? *known->error()
                                      : make_error(ErrorClass::Internal, "idempotency.lost", "a claimed key vanished");
            if (auto differs = first_difference(known->text(0), fields); !differs.empty())
                return make_error(ErrorClass::Rejected, "idempotency.mismatch",
                                  "this Idempotency-Key was first used with another " + differs +
                                      "; a new request needs a new key");
            KeyClaim claim{false, known->text(1), 0, ""};
            if (!known->is_null(2)) {
                claim.replay = true;
                claim.status = static_cast<int>(known->integer(2));
                claim.body = known->text(3);
                return claim;
            }
            if (now - known->integer(4) < static_cast<int64_t>(retention_.lease.count()))
                return make_error(ErrorClass::Rejected, "idempotency.in_progress",
                                  "the first request with this Idempotency-Key is still running; ask again shortly");
            // Its first request never finished (its instance stopped): this one takes it over,
            // with the same transaction id.
            auto take = db_.prepare("UPDATE money_keys SET claimed_ms = ?2 WHERE scope = ?1");
            if (!take) return take.error();
            take->bind(1, scope).bind(2, now);
            if (auto r = take->run(); !r) return r.error();
            return claim;
        });
    }

    Result<void> finish(const KeyedRequest& request, int status, const std::string& body) override {
        std::lock_guard lock(mu_);
        auto done = db_.prepare("UPDATE money_keys SET status = ?2, body = ?3 WHERE scope = ?1 AND status IS NULL");
        if (!done) return done.error();
        done->bind(1, scope_digest(request)).bind(2, static_cast<int64_t>(status)).bind(3, body);
        return done->run();
    }

    Result<void> release(const KeyedRequest& request) override {
        std::lock_guard lock(mu_);
        auto drop = db_.prepare("DELETE FROM money_keys WHERE scope = ?1 AND status IS NULL");
        if (!drop) return drop.error();
        drop->bind(1, scope_digest(request));
        return drop->run();
    }

    Result<int> purge() override {
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        last_purge_ms_ = now;
        return db_.transaction([&]() -> Result<int> {
            auto old = db_.prepare("DELETE FROM money_keys WHERE created_ms < ?1");
            if (!old) return old.error();
            old->bind(1, now - static_cast<int64_t>(retention_.keep.count()));
            if (auto r = old->run(); !r) return r.error();
            int removed = sqlite3_changes(db_.handle());
            auto beyond = db_.prepare(
                "DELETE FROM money_keys WHERE scope IN (SELECT scope FROM money_keys "
                "ORDER BY created_ms DESC LIMIT -1 OFFSET ?1)");
            if (!beyond) return beyond.error();
            beyond->bind(1, retention_.max_kept);
            if (auto r = beyond->run(); !r) return r.error();
            return removed + sqlite3_changes(db_.handle());
        });
    }

private:
    std::mutex mu_;
    sql::Db db_;
    Clock& clock_;
    KeyedAnswerRetention retention_;
    std::atomic<int64_t> last_purge_ms_;
};
}  // namespace

Result<std::unique_ptr<KeyedAnswers>> open_sqlite_keyed_answers(const std::string& path, Clock& clock,
                                                                 KeyedAnswerRetention retention) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS money_keys(scope TEXT PRIMARY KEY, fields TEXT NOT NULL, "
         "resource_id TEXT NOT NULL, status INTEGER, body TEXT, created_ms INTEGER NOT NULL, "
         "claimed_ms INTEGER NOT NULL)",
         "CREATE INDEX IF NOT EXISTS money_keys_created ON money_keys(created_ms)"});
    if (!db) return db.error();
    return std::unique_ptr<KeyedAnswers>(new SqliteKeyedAnswers(std::move(db.value()), clock, retention));
}

}  // namespace hisgate::controlplane::money
