// RateLimiter on SQLite: one row per live key (its window's start, length and count), and
// the number of rows kept by triggers in rate_window_keys, so a new key's room check reads
// one row instead of counting up to max_keys rows with count(*).
#include "controlplane/portal/rate_limit.h"

#include <mutex>

#include "common/sqlite.h"

namespace hisgate::controlplane::portal {

namespace {

using Wait = std::optional<std::chrono::seconds>;

class SqliteRateLimiter final : public RateLimiter {
public:
    SqliteRateLimiter(sql::Db db, Clock& clock, size_t max_keys) : db_(std::move(db)), clock_(clock), max_keys_(max_keys) {}

    Result<Wait> take(const std::string& key, const RateLimit& limit) override {
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        return db_.transaction([&]() -> Result<Wait> {
            auto st = db_.prepare_cached("SELECT started_ms, length_ms, count FROM rate_windows WHERE key = ?1");
            if (!st) return st.error();
            st->bind(1, key);
            bool live = false;
            int64_t started = 0, length = 0, count = 0;
            if (st->step()) {
                started = st->integer(0), length = st->integer(1), count = st->integer(2);
                live = now - started < length;
            } else if (st->error()) {
                return *st->error();
            }
            st->reset();
            if (!live) {
                if (auto room = make_room(now); !room) return room.error();
                else if (!*room) return Wait(limit.window);
                auto put = db_.prepare_cached(
                    "INSERT INTO rate_windows(key, started_ms, length_ms, count) VALUES(?1, ?2, ?3, 1) "
                    "ON CONFLICT(key) DO UPDATE SET started_ms = ?2, length_ms = ?3, count = 1");
                if (!put) return put.error();
                put->bind(1, key).bind(2, now).bind(3, int64_t{limit.window.count()} * 1000);
                if (auto done = put->run(); !done) return done.error();
                return Wait();
            }
            if (count >= limit.max) {
                const int64_t left_ms = started + length - now;
                return Wait(std::max(std::chrono::seconds((left_ms + 999) / 1000), std::chrono::seconds(1)));
            }
            auto add = db_.prepare_cached("UPDATE rate_windows SET count = count + 1 WHERE key = ?1");
            if (!add) return add.error();
            add->bind(1, key);
            if (auto done = add->run(); !done) return done.error();
            return Wait();
        });
    }

private:
    // Room for one more key: below max_keys, or after dropping the expired windows.
    Result<bool> make_room(int64_t now) {
        auto held = count_keys();
        if (!held) return held.error();
        if (*held < max_keys_) return true;
        auto drop = db_.prepare_cached("DELETE FROM rate_windows WHERE ?1 - started_ms >= length_ms");
        if (!drop) return drop.error();
        drop->bind(1, now);
        if (auto done = drop->run(); !done) return done.error();
        held = count_keys();
        if (!held) return held.error();
        return *held < max_keys_;
    }
    Result<size_t> count_keys() {
        auto st = db_.prepare_cached("SELECT n FROM rate_window_keys WHERE id = 1");
        if (!st) return st.error();
        if (!st->step())
            return st->error() ? Result<size_t>(*st->error())
                               : Result<size_t>(make_error(ErrorClass::Internal, "store.corrupt", "rate_window_keys has no row 1 (the key count)"));
        const int64_t n = st->integer(0);
        st->reset();
        // The triggers below keep it equal to the rows of rate_windows; a negative count can
        // only be a damaged file.
        if (n < 0) return make_error(ErrorClass::Internal, "store.corrupt", "rate_window_keys counts " + std::to_string(n) + " keys");
        return static_cast<size_t>(n);
    }

    sql::Db db_;
    Clock& clock_;
    size_t max_keys_;
    std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<RateLimiter>> open_sqlite_rate_limiter(const std::string& path, Clock& clock, size_t max_keys) {
    // The key count starts from the rows already there (a file of a version without it) and
    // then follows every insert and delete; an upsert that updates a live key inserts nothing.
    auto db = sql::Db::open_with_schema(
        path, {"CREATE TABLE IF NOT EXISTS rate_windows(key TEXT PRIMARY KEY, "
               "started_ms INTEGER NOT NULL, length_ms INTEGER NOT NULL, "
               "count INTEGER NOT NULL)",
               "CREATE TABLE IF NOT EXISTS rate_window_keys(id INTEGER PRIMARY KEY CHECK(id = 1), n INTEGER NOT NULL)",
               "INSERT OR IGNORE INTO rate_window_keys(id, n) VALUES(1, (SELECT count(*) FROM rate_windows))",
               "CREATE TRIGGER IF NOT EXISTS rate_window_added AFTER INSERT ON rate_windows "
               "BEGIN UPDATE rate_window_keys SET n = n + 1 WHERE id = 1; END",
               "CREATE TRIGGER IF NOT EXISTS rate_window_dropped AFTER DELETE ON rate_windows "
               "BEGIN UPDATE rate_window_keys SET n = n - 1 WHERE id = 1; END"});
    if (!db) return db.error();
    return std::unique_ptr<RateLimiter>(new SqliteRateLimiter(std::move(db.value()), clock, max_keys));
}

}  // namespace hisgate::controlplane::portal
