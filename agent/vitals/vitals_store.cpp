#include "agent/vitals/vitals_store.h"

#include <algorithm>
#include <future>

#include "common/log.h"
#include "common/metrics.h"

namespace hisgate::vitals {

namespace {

// The forwarded-through watermark: every row with seq <= vitals_counters.forwarded_through
// has reached the broker, every row above it is waiting. Rows are read, acknowledged,
// thinned and purged by seq range and the waiting rows are counted in a counter kept in
// the same transactions, so what a commit costs is proportional to what it adds, thins or
// acknowledges, never to what waits (bench/vitals_store_bench.cpp). Before it each row had
// a forwarded flag: the acknowledgement rewrote every row of the batch and three indexes,
// and every commit counted the waiting rows (COUNT(*), twice), so a writer that fell
// behind fell further (docs/benchmarks.md, "Bedside vitals", 2,000 beds).
//
// `forwarded` stays in the table and this version never writes it (new rows keep its
// default 0): an older release opening the file after a rollback still finds the column
// its statements name; it takes every row it finds 0 for waiting and sends it again
// (receivers dedupe by seq). Its per-row marks are taken back at the next open here
// (see prepare_watermark).
const std::vector<std::string_view> kSchema = {
    "CREATE TABLE IF NOT EXISTS vitals_records("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind INTEGER NOT NULL,"  // 0 sample, 1 alarm
    " device TEXT NOT NULL, bed TEXT NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL, value REAL NOT NULL,"
    " text TEXT NOT NULL, priority TEXT NOT NULL, technical INTEGER NOT NULL,"
    " observed_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    " forwarded INTEGER NOT NULL DEFAULT 0)",
    // Routine samples in seq order: the thinning walks the oldest waiting ones (kind = 0 AND
    // seq > watermark) without stepping over the alarms, which are never thinned and may
    // pile up at the front of a long outage. The one index a row pays for on insert.
    "CREATE INDEX IF NOT EXISTS vitals_records_kind ON vitals_records(kind, seq)",
    "CREATE TABLE IF NOT EXISTS vitals_counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
};

// The indexes of the per-row flag (a file written before the watermark, or by an older
// release after a rollback): each insert paid for all three. Dropped at open.
const std::vector<std::string_view> kFlagIndexes = {
    "DROP INDEX IF EXISTS vitals_records_waiting",   // (forwarded, kind, seq)
    "DROP INDEX IF EXISTS vitals_records_forward",   // (forwarded, seq)
    "DROP INDEX IF EXISTS vitals_records_received",  // (forwarded, received_ms)
};

constexpr const char* kInsert =
    "INSERT INTO vitals_records(kind, device, bed, name, unit, value, text, priority, technical, observed_ms, received_ms)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

metrics::Gauge& waiting_gauge() {
    return metrics::global().gauge("hisgate_vitals_waiting", "Vitals records stored and not yet forwarded upstream");
}
metrics::Counter& thinned_counter() {
    return metrics::global().counter("hisgate_vitals_thinned_total",
                                     "Routine vitals samples deleted unforwarded because the offline buffer was full");
}
metrics::Counter& stored_counter(const char* kind) {
    return metrics::global().counter("hisgate_vitals_stored_total", "Vitals records stored durably, by kind", {{"kind", kind}});
}
metrics::Counter& commits_counter() {
    return metrics::global().counter("hisgate_vitals_commits_total", "Transactions the vitals store committed");
}

// One integer (or 0 when no row), from a statement with `values` bound as ?1, ?2, ...
Result<int64_t> scalar(sql::Db& db, std::string_view sql, std::initializer_list<int64_t> values = {}) {
    auto st = db.prepare_cached(sql);
    if (!st) return st.error();
    int i = 0;
    for (auto v : values) st->bind(++i, v);
    if (!st->step()) {
        if (st->error()) return *st->error();
        return int64_t{0};
    }
    return st->integer(0);
}

constexpr const char* kCounter = "SELECT value FROM vitals_counters WHERE name = ?1";

Result<int64_t> counter(sql::Db& db, std::string_view name) {
    auto st = db.prepare_cached(kCounter);
    if (!st) return st.error();
    st->bind(1, name);
    if (!st->step()) {
        if (st->error()) return *st->error();
        return int64_t{0};
    }
    return st->integer(0);
}

Result<void> add_to_counter(sql::Db& db, std::string_view name, int64_t delta) {
    auto up = db.prepare_cached(
        "INSERT INTO vitals_counters(name, value) VALUES(?1, ?2)"
        " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value");
    if (!up) return up.error();
    up->bind(1, name).bind(2, delta);
    return up->run();
}

Result<void> set_counter(sql::Db& db, std::string_view name, int64_t value) {
    auto up = db.prepare_cached(
        "INSERT INTO vitals_counters(name, value) VALUES(?1, ?2)"
        " ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    if (!up) return up.error();
    up->bind(1, name).bind(2, value);
    return up->run();
}

// Sets the watermark and the waiting count from the rows, once, at open (the only place
// this store reads the per-row flag or counts the waiting rows; both walk only the rows
// above the watermark, at most the bounded buffer plus its alarms):
//  - a file from before the watermark (no forwarded_through counter): the rows it marked
//    forwarded are a prefix in seq order (its mark set every unmarked row up to the
//    acknowledged seq), so the watermark is just below its oldest waiting row, or its
//    newest row when none waits. A row is never put below the watermark unforwarded;
//  - a file an older release wrote to after a rollback: it marked rows above the watermark
//    forwarded one by one; the watermark moves past the last of them;
//  - the waiting count is the rows above the watermark, whoever inserted them.
// Then the flag's indexes go. One transaction: a crash half way leaves the file as it was
// and the next open does it again.
Result<void> prepare_watermark(sql::Db& db) {
    return db.transaction([&]() -> Result<void> {
        auto known = scalar(db, "SELECT COUNT(*) FROM vitals_counters WHERE name = 'forwarded_through'");
        if (!known) return known.error();
        auto watermark = known.value() != 0
                             ? counter(db, "forwarded_through")
                             : scalar(db,
                                      "SELECT COALESCE((SELECT MIN(seq) FROM vitals_records WHERE forwarded = 0) - 1,"
                                      " (SELECT MAX(seq) FROM vitals_records), 0)");
        if (!watermark) return watermark.error();
        auto marked = scalar(db, "SELECT COALESCE(MAX(seq), 0) FROM vitals_records WHERE seq > ?1 AND forwarded = 1",
                             {watermark.value()});
        if (!marked) return marked.error();
        int64_t through = std::max(watermark.value(), marked.value());
        auto waiting = scalar(db, "SELECT COUNT(*) FROM vitals_records WHERE seq > ?1", {through});
        if (!waiting) return waiting.error();
        if (auto r = set_counter(db, "forwarded_through", through); !r) return r;
        if (auto r = set_counter(db, "waiting", waiting.value()); !r) return r;
        for (auto drop : kFlagIndexes)
            if (auto r = db.exec(drop); !r) return r;
        return {};
    });
}

}  // namespace

struct VitalsStore::Statements {
    sql::Db db;
};

VitalsStore::VitalsStore(VitalsStoreOptions options, Clock& clock, DropLog& drops)
    : options_(options), clock_(clock), drops_(drops) {}

Result<std::unique_ptr<VitalsStore>> VitalsStore::open(const std::string& path, VitalsStoreOptions options, Clock& clock,
                                                       DropLog& drops) {
    auto db = sql::Db::open_with_schema(path, kSchema);
    if (!db) return make_error(ErrorClass::Config, "vitals.state_file", path + ": " + db.error().describe());
    // Each commit reaches the disk before it counts (WAL + FULL: the WAL is synced at commit).
    if (auto s = db->exec("PRAGMA synchronous=FULL"); !s) return s.error();
    auto reader = sql::Db::open(path);
    if (!reader) return make_error(ErrorClass::Config, "vitals.state_file", path + ": " + reader.error().describe());
    if (auto prepared = prepare_watermark(db.value()); !prepared)
        return make_error(ErrorClass::Config, "vitals.state_file", path + ": " + prepared.error().describe());
    std::unique_ptr<VitalsStore> store(new VitalsStore(options, clock, drops));
    if (auto published = store->publish_counters(db.value()); !published) return published.error();
    store->writer_ = std::make_unique<Statements>(Statements{std::move(db.value())});
    store->reader_ = std::make_unique<sql::Db>(std::move(reader.value()));
    store->last_purge_ = clock.steady_now();
    store->writer_thread_ = std::thread([s = store.get()] { s->write_loop(); });
    return store;
}

VitalsStore::~VitalsStore() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (writer_thread_.joinable()) writer_thread_.join();  // commits what was queued first
}

void VitalsStore::ingest(std::vector<VitalRecord> records, std::function<void()> on_committed) {
    if (records.empty()) {
        if (on_committed) on_committed();
        return;
    }
    {
        std::lock_guard lock(mu_);
        // Bounded: a writer that cannot keep up (a disk that stalls) must not let memory grow
        // without end. Routine samples are dropped first; alarms always queue.
        if (queued_records_ + records.size() > options_.max_queued) {
            std::vector<VitalRecord> alarms;
            for (auto& r : records)
                if (r.kind == VitalRecord::Kind::Alarm) alarms.push_back(std::move(r));
            auto dropped = static_cast<int64_t>(records.size() - alarms.size());
            if (dropped > 0) drops_.drop("store_backlog", {{"queued", queued_records_}}, dropped);
            records = std::move(alarms);
            if (records.empty()) return;
        }
        queued_records_ += records.size();
        auto shared = std::make_shared<std::vector<VitalRecord>>(std::move(records));
        Change c;
        c.records = shared->size();
        c.apply = [this, shared](Statements& s) -> Result<void> {
            auto st = s.db.prepare_cached(kInsert);
            if (!st) return st.error();
            for (const auto& r : *shared) {
                st->reset();
                st->bind(1, static_cast<int64_t>(r.kind))
                    .bind(2, r.device)
                    .bind(3, r.bed)
                    .bind(4, r.name)
                    .bind(5, r.unit)
                    .bind_real(6, r.value)
                    .bind(7, r.text)
                    .bind(8, r.priority ? std::string(1, r.priority) : std::string())
                    .bind(9, static_cast<int64_t>(r.technical))
                    .bind(10, r.observed_ms)
                    .bind(11, r.received_ms);
                if (auto ran = st->run(); !ran) return ran;
            }
            return {};
        };
        c.done = [this, shared, on_committed = std::move(on_committed)](const Result<void>& outcome) {
            if (!outcome) {
                drops_.drop("store_failed", {{"error", outcome.error().describe()}}, static_cast<int64_t>(shared->size()));
                return;
            }
            int64_t alarms = 0;
            for (const auto& r : *shared) alarms += r.kind == VitalRecord::Kind::Alarm;
            stored_counter("sample").inc(static_cast<double>(static_cast<int64_t>(shared->size()) - alarms));
            if (alarms) stored_counter("alarm").inc(static_cast<double>(alarms));
            stored_ += shared->size();
            if (on_committed) on_committed();
        };
        pending_.push_back(std::move(c));
    }
    cv_.notify_all();
}

Result<void> VitalsStore::submit_and_wait(std::function<Result<void>(Statements&)> apply) {
    auto promise = std::make_shared<std::promise<Result<void>>>();
    auto future = promise->get_future();
    {
        std::lock_guard lock(mu_);
        if (stopping_) return make_error(ErrorClass::Unavailable, "vitals.store_stopping", "the vitals store is stopping");
        pending_.push_back(Change{std::move(apply), [promise](const Result<void>& r) { promise->set_value(r); }, 0});
    }
    cv_.notify_all();
    return future.get();
}

Result<void> VitalsStore::flush() {
    return submit_and_wait([](Statements&) -> Result<void> { return {}; });
}

namespace {
// The acknowledgement of a batch up to `seq` that reported `thinned_reported`: one
// transaction (with whatever else the writer commits with it).
std::function<Result<void>(sql::Db&)> acknowledgement(int64_t seq, int64_t thinned_reported) {
    return [seq, thinned_reported](sql::Db& db) -> Result<void> {
        auto watermark = counter(db, "forwarded_through");
        if (!watermark) return watermark.error();
        // Never back: an acknowledgement of rows already behind the watermark (or of none,
        // seq 0, when a batch carried only the thinned count) moves nothing.
        if (seq > watermark.value()) {
            // The rows the batch held that are still there (the thinning may have taken some
            // while it was on its way): a walk over the batch's seq range, not the backlog.
            auto acknowledged = scalar(db, "SELECT COUNT(*) FROM vitals_records WHERE seq > ?1 AND seq <= ?2",
                                       {watermark.value(), seq});
            if (!acknowledged) return acknowledged.error();
            if (auto r = set_counter(db, "forwarded_through", seq); !r) return r;
            if (auto r = add_to_counter(db, "waiting", -acknowledged.value()); !r) return r;
        }
        if (thinned_reported > 0) {
            auto c = db.prepare_cached(
                "UPDATE vitals_counters SET value = MAX(0, value - ?1) WHERE name = 'thinned_unreported'");
            if (!c) return c.error();
            c->bind(1, thinned_reported);
            if (auto ran = c->run(); !ran) return ran;
        }
        // The published figures follow once the transaction commits (write_loop re-reads
        // the counters after every commit), so a rollback leaves them true.
        return {};
    };
}
}  // namespace

Result<void> VitalsStore::forwarded_through(int64_t seq, int64_t thinned_reported) {
    return submit_and_wait([ack = acknowledgement(seq, thinned_reported)](Statements& s) { return ack(s.db); });
}

void VitalsStore::acknowledge(int64_t seq, int64_t thinned_reported, std::function<void(const Result<void>&)> done) {
    {
        std::lock_guard lock(mu_);
        if (stopping_) {
            if (done) done(make_error(ErrorClass::Unavailable, "vitals.store_stopping", "the vitals store is stopping"));
            return;
        }
        pending_.push_back(Change{[ack = acknowledgement(seq, thinned_reported)](Statements& s) { return ack(s.db); },
                                  std::move(done), 0});
    }
    cv_.notify_all();
}

// Called inside the batch's transaction, after its inserts: the oldest waiting routine
// samples beyond the bound go, found through (kind, seq) from the watermark or from the
// highest seq in flight, whichever is higher, so it walks only what it deletes. From here
// to the commit it holds flight_mu_ (thin_hold_, released by write_loop): a read into
// flight sees the rows before or after this commit, never rows it is deleting. Rows in
// flight are not thinned; if too few others wait, the buffer stays over its bound by at
// most what is in flight until the watermark passes them.
Result<void> VitalsStore::thin(Statements& s) {
    auto waiting = counter(s.db, "waiting");
    if (!waiting) return waiting.error();
    int64_t excess = waiting.value() - options_.buffer_max;
    if (excess <= 0) return {};
    auto watermark = counter(s.db, "forwarded_through");
    if (!watermark) return watermark.error();
    if (!thin_hold_.owns_lock()) thin_hold_ = std::unique_lock(flight_mu_);
    auto del = s.db.prepare_cached(
        "DELETE FROM vitals_records WHERE seq IN (SELECT seq FROM vitals_records WHERE kind = 0 AND seq > ?1"
        " ORDER BY seq LIMIT ?2)");
    if (!del) return del.error();
    del->bind(1, std::max(watermark.value(), in_flight_through_)).bind(2, excess);
    if (auto ran = del->run(); !ran) return ran;
    int64_t thinned = sqlite3_changes(s.db.handle());
    if (thinned == 0) return {};  // only alarms wait: they are never thinned
    if (auto r = add_to_counter(s.db, "waiting", -thinned); !r) return r;
    for (const char* name : {"thinned_total", "thinned_unreported"})
        if (auto r = add_to_counter(s.db, name, thinned); !r) return r;
    return {};
}

// Forwarded rows older than the retention, from the oldest: the rows below the first
// forwarded one received within the retention go, by seq range. It walks what it deletes
// and one row more. A wall clock that stepped back keeps some rows longer, never shorter.
Result<void> VitalsStore::purge(Statements& s) {
    auto watermark = counter(s.db, "forwarded_through");
    if (!watermark) return watermark.error();
    auto kept = scalar(s.db,
                       "SELECT COALESCE((SELECT seq FROM vitals_records WHERE seq <= ?1 AND received_ms >= ?2"
                       " ORDER BY seq LIMIT 1), ?1 + 1)",
                       {watermark.value(), clock_.wall_ms() - static_cast<int64_t>(options_.retention.count())});
    if (!kept) return kept.error();
    auto del = s.db.prepare_cached("DELETE FROM vitals_records WHERE seq < ?1");
    if (!del) return del.error();
    del->bind(1, kept.value());
    return del->run();
}

// The counters as committed, for figures() and the gauges: read after every commit (a
// handful of rows), never counted from the records.
Result<void> VitalsStore::publish_counters(sql::Db& db) {
    auto st = db.prepare_cached("SELECT name, value FROM vitals_counters");
    if (!st) return st.error();
    int64_t waiting = 0, thinned = 0, unreported = 0, through = 0;
    while (st->step()) {
        auto name = st->text(0);
        auto value = st->integer(1);
        if (name == "waiting") waiting = value;
        else if (name == "thinned_total") thinned = value;
        else if (name == "thinned_unreported") unreported = value;
        else if (name == "forwarded_through") through = value;
    }
    if (st->error()) return *st->error();
    waiting_ = waiting;
    waiting_gauge().set(static_cast<double>(waiting));
    thinned_total_ = thinned;
    thinned_unreported_ = unreported;
    forwarded_through_ = through;
    return {};
}

void VitalsStore::write_loop() {
    std::unique_lock lock(mu_);
    while (true) {
        cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
        if (pending_.empty() && stopping_) return;
        std::vector<Change> batch;
        batch.swap(pending_);
        std::size_t records = 0;
        for (const auto& c : batch) records += c.records;
        lock.unlock();

        bool purging = clock_.steady_now() - last_purge_ >= std::chrono::minutes(1);
        auto before_thinned = thinned_total_.load();
        auto outcome = writer_->db.transaction([&]() -> Result<void> {
            for (auto& c : batch)
                if (auto r = c.apply(*writer_); !r) return r;
            if (records > 0) {
                // Every record a change carries is inserted (or the transaction fails).
                if (auto w = add_to_counter(writer_->db, "waiting", static_cast<int64_t>(records)); !w) return w;
                if (auto t = thin(*writer_); !t) return t;
            }
            if (purging)
                if (auto p = purge(*writer_); !p) return p;
            return {};
        });
        if (thin_hold_.owns_lock()) thin_hold_.unlock();  // committed or rolled back: reads may go on
        if (outcome) {
            ++commits_;
            commits_counter().inc();
            if (purging) last_purge_ = clock_.steady_now();
            if (auto published = publish_counters(writer_->db); !published)
                log::error("vitals.store_counters_unread", {{"error", published.error().describe()}});
            auto thinned = thinned_total_.load();
            if (thinned > before_thinned) {
                thinned_counter().inc(static_cast<double>(thinned - before_thinned));
                drops_.drop("thinned_offline", {{"buffer_max", options_.buffer_max}}, thinned - before_thinned);
            }
        } else {
            log::error("vitals.store_commit_failed", {{"error", outcome.error().describe()}, {"changes", batch.size()}});
        }
        for (auto& c : batch)
            if (c.done) c.done(outcome);
        lock.lock();
        queued_records_ -= records;
    }
}

Result<std::vector<StoredRecord>> VitalsStore::waiting(int limit) { return read_waiting(0, limit); }

Result<std::vector<StoredRecord>> VitalsStore::read_into_flight(int64_t after, int limit) {
    std::lock_guard flight(flight_mu_);  // no thinning commit between this read and the claim
    auto rows = read_waiting(after, limit);
    if (rows && !rows->empty()) in_flight_through_ = std::max(in_flight_through_, rows->back().seq);
    return rows;
}

void VitalsStore::release_flight() {
    std::lock_guard flight(flight_mu_);
    in_flight_through_ = 0;
}

Result<std::vector<StoredRecord>> VitalsStore::read_waiting(int64_t after, int limit) {
    std::lock_guard lock(reader_mu_);
    auto st = reader_->prepare_cached(
        "SELECT seq, kind, device, bed, name, unit, value, text, priority, technical, observed_ms, received_ms"
        " FROM vitals_records WHERE seq > MAX(?2, (SELECT value FROM vitals_counters WHERE name = 'forwarded_through'))"
        " ORDER BY seq LIMIT ?1");
    if (!st) return st.error();
    st->bind(1, static_cast<int64_t>(limit)).bind(2, after);
    std::vector<StoredRecord> out;
    while (st->step()) {
        StoredRecord s;
        s.seq = st->integer(0);
        auto& r = s.record;
        r.kind = st->integer(1) == 1 ? VitalRecord::Kind::Alarm : VitalRecord::Kind::Sample;
        r.device = st->text(2);
        r.bed = st->text(3);
        r.name = st->text(4);
        r.unit = st->text(5);
        r.value = st->real(6);
        r.text = st->text(7);
        auto p = st->text(8);
        r.priority = p.empty() ? 0 : p[0];
        r.technical = st->integer(9) != 0;
        r.observed_ms = st->integer(10);
        r.received_ms = st->integer(11);
        out.push_back(std::move(s));
    }
    if (st->error()) return *st->error();
    return out;
}

VitalsStoreFigures VitalsStore::figures() const {
    return {waiting_.load(), thinned_total_.load(), thinned_unreported_.load(), commits_.load(), stored_.load(),
            forwarded_through_.load()};
}

}  // namespace hisgate::vitals
