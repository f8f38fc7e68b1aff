// IdempotencyStore on SQLite: one table of claimed keys (by a digest of the scope), one row
// holding the secret order request ids are derived with.
#include <atomic>
#include <mutex>

#include "common/digest.h"
#include "common/log.h"
#include "common/random_id.h"
#include "common/sqlite.h"
#include "controlplane/idempotency_store.h"

namespace hisgate::controlplane {

namespace {
constexpr std::chrono::minutes kPurgeEvery{1};

class SqliteIdempotencyStore final : public IdempotencyStore {
public:
    SqliteIdempotencyStore(sql::Db db, std::string secret, Clock& clock, IdempotencyRetention retention)
        : db_(std::move(db)), secret_(std::move(secret)), clock_(clock), retention_(retention),
          last_purge_ms_(clock.wall_ms()) {}

    Result<IdempotencyClaim> claim(const IdempotencyScope& scope, const std::string& fingerprint,
                                   const std::string& request_id) override {
        if (clock_.wall_ms() - last_purge_ms_ >= std::chrono::milliseconds(kPurgeEvery).count()) {
            if (auto purged = purge(); !purged) log::error("idempotency.purge_failed", {{"error", purged.error().describe()}});
        }
        std::lock_guard lock(mu_);
        const std::string scope_digest = sha256_hex(std::to_string(scope.caller.size()) + ":" + scope.caller + ";" +
                                                    std::to_string(scope.route.size()) + ":" + scope.route + ";" + scope.key);
        const int64_t now = clock_.wall_ms();
        const int64_t expired_before = now - static_cast<int64_t>(retention_.keep.count());
        return db_.transaction([&]() -> Result<IdempotencyClaim> {
            // A key past the retention is new again: its row gives way.
            auto stale = db_.prepare("DELETE FROM idempotency_keys WHERE scope = ?1 AND created_ms < ?2");
            if (!stale) return stale.error();
            stale->bind(1, scope_digest).bind(2, expired_before);
            if (auto r = stale->run(); !r) return r.error();
            auto insert = db_.prepare(
                "INSERT OR IGNORE INTO idempotency_keys(scope, fingerprint, request_id, created_ms) VALUES(?1, ?2, ?3, ?4)");
            if (!insert) return insert.error();
            insert->bind(1, scope_digest).bind(2, fingerprint).bind(3, request_id).bind(4, now);
            if (auto r = insert->run(); !r) return r.error();
            if (sqlite3_changes(db_.handle()) == 1) return IdempotencyClaim{request_id, false};
            auto known = db_.prepare("SELECT fingerprint, request_id FROM idempotency_keys WHERE scope = ?1");
            if (!known) return known.error();
            known->bind(1, scope_digest);
            if (!known->step())
                return known->error() ? *known->error()
                                      : make_error(ErrorClass::Internal, "idempotency.lost", "a claimed key vanished");
            if (known->text(0) != fingerprint)
                return make_error(ErrorClass::Rejected, "idempotency.key_reused",
                                  "this Idempotency-Key was used for a different request on this route; "
                                  "a new request needs a new key");
            return IdempotencyClaim{known->text(1), true};
        });
    }

    Result<int> purge() override {
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        last_purge_ms_ = now;
        return db_.transaction([&]() -> Result<int> {
            auto old = db_.prepare("DELETE FROM idempotency_keys WHERE created_ms < ?1");
            if (!old) return old.error();
            old->bind(1, now - static_cast<int64_t>(retention_.keep.count()));
            if (auto r = old->run(); !r) return r.error();
            int removed = sqlite3_changes(db_.handle());
            auto beyond = db_.prepare(
                "DELETE FROM idempotency_keys WHERE scope IN (SELECT scope FROM idempotency_keys "
                "ORDER BY created_ms DESC LIMIT -1 OFFSET ?1)");
            if (!beyond) return beyond.error();
            beyond->bind(1, retention_.max_kept);
            if (auto r = beyond->run(); !r) return r.error();
            return removed + sqlite3_changes(db_.handle());
        });
    }

protected:
    const std::string& secret() const override { return secret_; }

private:
    std::mutex mu_;
    sql::Db db_;
    const std::string secret_;
    Clock& clock_;
    IdempotencyRetention retention_;
    std::atomic<int64_t> last_purge_ms_;
};
}  // namespace

Result<std::unique_ptr<IdempotencyStore>> open_sqlite_idempotency_store(const std::string& path, Clock& clock,
                                                                        IdempotencyRetention retention) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS idempotency_keys(scope TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
         "request_id TEXT NOT NULL, created_ms INTEGER NOT NULL)",
         "CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys(created_ms)",
         "CREATE TABLE IF NOT EXISTS order_id_secret(one INTEGER PRIMARY KEY CHECK(one = 1), "
         "secret TEXT NOT NULL)"});
    if (!db) return db.error();
    // Made once: every later open (a restart) reads the same secret.
    auto made = db->prepare("INSERT OR IGNORE INTO order_id_secret(one, secret) VALUES(1, ?1)");
    if (!made) return made.error();
    made->bind(1, random_hex(32));
    if (auto r = made->run(); !r) return r.error();
    auto read = db->prepare("SELECT secret FROM order_id_secret WHERE one = 1");
    if (!read) return read.error();
    if (!read->step())
        return read->error() ? *read->error() : make_error(ErrorClass::Internal, "idempotency.no_secret", "no secret row");
    std::string secret = read->text(0);
    HISGATE_CHECK_EQ(secret.size(), size_t{64});
    return std::unique_ptr<IdempotencyStore>(new SqliteIdempotencyStore(std::move(db.value()), std::move(secret), clock, retention));
}

}  // namespace hisgate::controlplane
