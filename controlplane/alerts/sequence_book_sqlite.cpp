// SequenceBook on SQLite: event_seq (one row per hospital: contiguous, highest, gap since)
// and event_seq_pending (seqs above contiguous that arrived early).
#include <algorithm>
#include <mutex>

#include "common/sqlite.h"
#include "controlplane/alerts/sequence_book.h"

namespace hisgate::controlplane::alerts {

namespace {
class SqliteSequenceBook final : public SequenceBook {
public:
    SqliteSequenceBook(sql::Db db, Clock& clock) : db_(std::move(db)), clock_(clock) {}

    Result<void> arrived(const std::string& hospital_id, int64_t seq) override {
        std::lock_guard lock(mu_);
        const int64_t now = clock_.wall_ms();
        return db_.transaction([&]() -> Result<void> {
            auto row = db_.prepare("SELECT contiguous, highest FROM event_seq WHERE hospital_id = ?1");
            if (!row) return row.error();
            row->bind(1, hospital_id);
            if (!row->step()) {
                if (row->error()) return *row->error();
                auto first = db_.prepare(
                    "INSERT INTO event_seq(hospital_id, contiguous, highest, since_ms) VALUES(?1, ?2, ?2, 0)");
                if (!first) return first.error();
                first->bind(1, hospital_id).bind(2, seq);
                return first->run();
            }
            int64_t contiguous = row->integer(0), highest = row->integer(1);
            row->reset();
            if (seq <= contiguous) return {};  // repeated: no news
            if (seq > contiguous + kMaxPendingSeqs) {
                // Too far ahead to wait for: the count starts again there (the gap stays
                // open until then, and is reported).
                contiguous = seq - kMaxPendingSeqs;
            }
            auto pend = db_.prepare("INSERT OR IGNORE INTO event_seq_pending(hospital_id, seq) VALUES(?1, ?2)");
            if (!pend) return pend.error();
            pend->bind(1, hospital_id).bind(2, seq);
            if (auto r = pend->run(); !r) return r.error();
            // Advance contiguous over the pending seqs that now follow it.
            for (;;) {
                auto next = db_.prepare("DELETE FROM event_seq_pending WHERE hospital_id = ?1 AND seq = ?2");
                if (!next) return next.error();
                next->bind(1, hospital_id).bind(2, contiguous + 1);
                if (auto r = next->run(); !r) return r.error();
                if (sqlite3_changes(db_.handle()) == 0) break;
                ++contiguous;
            }
            auto drop = db_.prepare("DELETE FROM event_seq_pending WHERE hospital_id = ?1 AND seq <= ?2");
            if (!drop) return drop.error();
            drop->bind(1, hospital_id).bind(2, contiguous);
            if (auto r = drop->run(); !r) return r.error();
            highest = std::max(highest, seq);
            auto update = db_.prepare(
                "UPDATE event_seq SET contiguous = ?2, highest = ?3, "
                "since_ms = CASE WHEN ?3 <= ?2 THEN 0 WHEN since_ms = 0 THEN ?4 ELSE since_ms END "
                "WHERE hospital_id = ?1");
            if (!update) return update.error();
            update->bind(1, hospital_id).bind(2, contiguous).bind(3, highest).bind(4, now);
            return update->run();
        });
    }

    Result<std::vector<SequenceGap>> gaps() override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(
            "SELECT hospital_id, contiguous, highest, since_ms FROM event_seq WHERE highest > contiguous "
            "ORDER BY hospital_id LIMIT 100000");
        if (!s) return s.error();
        std::vector<SequenceGap> out;
        while (s->step()) out.push_back({s->text(0), s->integer(1), s->integer(2), s->integer(3)});
        if (s->error()) return *s->error();
        return out;
    }

private:
    std::mutex mu_;
    sql::Db db_;
    Clock& clock_;
};
}  // namespace

Result<std::unique_ptr<SequenceBook>> open_sqlite_sequence_book(const std::string& path, Clock& clock) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS event_seq(hospital_id TEXT PRIMARY KEY, contiguous INTEGER NOT NULL, "
         "highest INTEGER NOT NULL, since_ms INTEGER NOT NULL)",
         "CREATE TABLE IF NOT EXISTS event_seq_pending(hospital_id TEXT NOT NULL, seq INTEGER NOT NULL, "
         "PRIMARY KEY(hospital_id, seq))"});
    if (!db) return db.error();
    return std::unique_ptr<SequenceBook>(new SqliteSequenceBook(std::move(db.value()), clock));
}

}  // namespace hisgate::controlplane::alerts
