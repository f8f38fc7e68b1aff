// The outbox on SQLite: one row per message, deleted-as-sent by marking sent_ms (kept for
// a day as the record of what went out, then removed by the next sent()).
#include <mutex>

#include "common/sqlite.h"
#include "controlplane/notify/outbox.h"

namespace hisgate::controlplane::notify {

namespace {

constexpr int64_t kKeepSentMs = 86400000;

class SqliteOutbox final : public Outbox {
public:
    explicit SqliteOutbox(sql::Db db) : db_(std::move(db)) {}

    Result<bool> add(const std::string& key, const Mail& m, int64_t due_ms) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached(
            "INSERT OR IGNORE INTO notify_outbox(key, recipient, subject, body, due_ms, attempts, sent_ms) "
            "VALUES(?1, ?2, ?3, ?4, ?5, 0, 0)");
        if (!st) return st.error();
        st->bind(1, key).bind(2, m.to).bind(3, m.subject).bind(4, m.body).bind(5, due_ms);
        if (auto done = st->run(); !done) return done.error();
        return sqlite3_changes(db_.handle()) > 0;
    }

    Result<std::vector<QueuedMail>> due(int64_t now_ms, int limit, int64_t lease_ms) override {
        std::lock_guard lock(mu_);
        // The pick and the lease are one transaction (BEGIN IMMEDIATE): two instances
        // never claim the same message.
        return db_.transaction([&]() -> Result<std::vector<QueuedMail>> {
            auto st = db_.prepare_cached(
                "SELECT id, key, recipient, subject, body, attempts FROM notify_outbox WHERE sent_ms = 0 AND due_ms <= ?1 "
                "ORDER BY due_ms, id LIMIT ?2");
            if (!st) return st.error();
            st->bind(1, now_ms).bind(2, int64_t{limit});
            std::vector<QueuedMail> out;
            while (st->step())
                out.push_back({st->integer(0), st->text(1), {st->text(2), st->text(3), st->text(4)},
                               static_cast<int>(st->integer(5))});
            if (st->error()) return *st->error();
            st->reset();
            for (const auto& q : out) {
                auto lease = db_.prepare_cached("UPDATE notify_outbox SET due_ms = ?2 WHERE id = ?1");
                if (!lease) return lease.error();
                lease->bind(1, q.id).bind(2, now_ms + lease_ms);
                if (auto done = lease->run(); !done) return done.error();
            }
            return out;
        });
    }

    Result<void> sent(int64_t id, int64_t now_ms) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("UPDATE notify_outbox SET sent_ms = ?2, attempts = attempts + 1 WHERE id = ?1");
        if (!st) return st.error();
        st->bind(1, id).bind(2, now_ms);
        if (auto done = st->run(); !done) return done;
        auto old = db_.prepare_cached("DELETE FROM notify_outbox WHERE sent_ms > 0 AND sent_ms < ?1");
        if (!old) return old.error();
        old->bind(1, now_ms - kKeepSentMs);
        return old->run();
    }

    Result<void> retry(int64_t id, int64_t next_try_ms) override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("UPDATE notify_outbox SET due_ms = ?2, attempts = attempts + 1 WHERE id = ?1");
        if (!st) return st.error();
        st->bind(1, id).bind(2, next_try_ms);
        return st->run();
    }

    Result<int64_t> waiting() override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("SELECT count(*) FROM notify_outbox WHERE sent_ms = 0");
        if (!st) return st.error();
        if (!st->step()) return st->error() ? *st->error() : make_error(ErrorClass::Internal, "outbox.no_row", "no count");
        return st->integer(0);
    }

    Result<int64_t> next_due_ms() override {
        std::lock_guard lock(mu_);
        auto st = db_.prepare_cached("SELECT coalesce(min(due_ms), 0) FROM notify_outbox WHERE sent_ms = 0");
        if (!st) return st.error();
        if (!st->step()) return st->error() ? *st->error() : make_error(ErrorClass::Internal, "outbox.no_row", "no min");
        return st->integer(0);
    }

private:
    std::mutex mu_;
    sql::Db db_;
};

}  // namespace

Result<std::unique_ptr<Outbox>> open_sqlite_outbox(const std::string& path) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS notify_outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, "
         "recipient TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, due_ms INTEGER NOT NULL, "
         "attempts INTEGER NOT NULL, sent_ms INTEGER NOT NULL)",
         "CREATE INDEX IF NOT EXISTS notify_outbox_due ON notify_outbox(sent_ms, due_ms)"});
    if (!db) return db.error();
    return std::unique_ptr<Outbox>(new SqliteOutbox(std::move(db.value())));
}

}  // namespace hisgate::controlplane::notify
