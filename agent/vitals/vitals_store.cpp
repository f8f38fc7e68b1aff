#include "agent/vitals/vitals_store.h"

#include <future>

#include "common/log.h"
#include "common/metrics.h"

namespace hisgate::vitals {

namespace {

const std::vector<std::string_view> kSchema = {
    "CREATE TABLE IF NOT EXISTS vitals_records("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind INTEGER NOT NULL,"  // 0 sample, 1 alarm
    " device TEXT NOT NULL, bed TEXT NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL, value REAL NOT NULL,"
    " text TEXT NOT NULL, priority TEXT NOT NULL, technical INTEGER NOT NULL,"
    " observed_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    " forwarded INTEGER NOT NULL DEFAULT 0)",
    // Waiting rows by kind in seq order: the forwarder's reads and the thinning's deletes.
    "CREATE INDEX IF NOT EXISTS vitals_records_waiting ON vitals_records(forwarded, kind, seq)",
    // Waiting rows in seq order, whatever their kind: the forwarder's read of the oldest
    // batch_max and its mark (forwarded = 0 AND seq <= last) walk only the batch. Without it
    // both took the received_ms index, sorted or scanned every waiting row per batch, and at
    // 2,000 beds (bench/vitals) the forwarder fell behind for good once rows waited.
    "CREATE INDEX IF NOT EXISTS vitals_records_forward ON vitals_records(forwarded, seq)",
    "CREATE INDEX IF NOT EXISTS vitals_records_received ON vitals_records(forwarded, received_ms)",
    "CREATE TABLE IF NOT EXISTS vitals_counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
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

Result<int64_t> scalar(sql::Db& db, std::string_view sql) {
    auto st = db.prepare(sql);
    if (!st) return st.error();
    if (!st->step()) {
        if (st->error()) return *st->error();
        return int64_t{0};
    }
    return st->integer(0);
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
    std::unique_ptr<VitalsStore> store(new VitalsStore(options, clock, drops));
    auto waiting = scalar(db.value(), "SELECT COUNT(*) FROM vitals_records WHERE forwarded = 0");
    auto thinned = scalar(db.value(), "SELECT COALESCE((SELECT value FROM vitals_counters WHERE name = 'thinned_total'), 0)");
    auto unreported = scalar(db.value(), "SELECT COALESCE((SELECT value FROM vitals_counters WHERE name = 'thinned_unreported'), 0)");
    if (!waiting) return waiting.error();
    if (!thinned) return thinned.error();
    if (!unreported) return unreported.error();
    store->waiting_ = waiting.value();
    store->thinned_total_ = thinned.value();
    store->thinned_unreported_ = unreported.value();
    waiting_gauge().set(static_cast<double>(waiting.value()));
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

Result<void> VitalsStore::forwarded_through(int64_t seq, int64_t thinned_reported) {
    return submit_and_wait([this, seq, thinned_reported](Statements& s) -> Result<void> {
        auto st = s.db.prepare_cached("UPDATE vitals_records SET forwarded = 1 WHERE forwarded = 0 AND seq <= ?1");
        if (!st) return st.error();
        st->bind(1, seq);
        if (auto ran = st->run(); !ran) return ran;
        if (thinned_reported > 0) {
            auto c = s.db.prepare_cached(
                "UPDATE vitals_counters SET value = MAX(0, value - ?1) WHERE name = 'thinned_unreported'");
            if (!c) return c.error();
            c->bind(1, thinned_reported);
            if (auto ran = c->run(); !ran) return ran;
        }
        // The published figures follow once the transaction commits (write_loop re-reads
        // them after every commit), so a rollback leaves them true.
        return {};
    });
}

// Called inside the batch's transaction, after its inserts.
Result<void> VitalsStore::thin(Statements& s) {
    auto waiting = scalar(s.db, "SELECT COUNT(*) FROM vitals_records WHERE forwarded = 0");
    if (!waiting) return waiting.error();
    int64_t excess = waiting.value() - options_.buffer_max;
    if (excess <= 0) return {};
    auto del = s.db.prepare_cached(
        "DELETE FROM vitals_records WHERE seq IN (SELECT seq FROM vitals_records WHERE forwarded = 0 AND kind = 0"
        " ORDER BY seq LIMIT ?1)");
    if (!del) return del.error();
    del->bind(1, excess);
    if (auto ran = del->run(); !ran) return ran;
    int64_t thinned = sqlite3_changes(s.db.handle());
    if (thinned == 0) return {};  // only alarms wait: they are never thinned
    for (const char* name : {"thinned_total", "thinned_unreported"}) {
        auto up = s.db.prepare_cached(
            "INSERT INTO vitals_counters(name, value) VALUES(?1, ?2)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value");
        if (!up) return up.error();
        up->bind(1, std::string_view(name)).bind(2, thinned);
        if (auto ran = up->run(); !ran) return ran;
    }
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

        bool purge = clock_.steady_now() - last_purge_ >= std::chrono::minutes(1);
        auto before_thinned = thinned_total_.load();
        auto outcome = writer_->db.transaction([&]() -> Result<void> {
            for (auto& c : batch)
                if (auto r = c.apply(*writer_); !r) return r;
            if (records > 0)
                if (auto t = thin(*writer_); !t) return t;
            if (purge) {
                auto p = writer_->db.prepare_cached("DELETE FROM vitals_records WHERE forwarded = 1 AND received_ms < ?1");
                if (!p) return p.error();
                p->bind(1, clock_.wall_ms() - static_cast<int64_t>(options_.retention.count()));
                if (auto ran = p->run(); !ran) return ran;
            }
            return {};
        });
        if (outcome) {
            ++commits_;
            commits_counter().inc();
            if (purge) last_purge_ = clock_.steady_now();
            // The published figures, as committed.
            auto waiting = scalar(writer_->db, "SELECT COUNT(*) FROM vitals_records WHERE forwarded = 0");
            auto thinned = scalar(writer_->db, "SELECT COALESCE((SELECT value FROM vitals_counters WHERE name = 'thinned_total'), 0)");
            auto unreported = scalar(writer_->db, "SELECT COALESCE((SELECT value FROM vitals_counters WHERE name = 'thinned_unreported'), 0)");
            if (waiting) {
                waiting_ = waiting.value();
                waiting_gauge().set(static_cast<double>(waiting.value()));
            }
            if (thinned) {
                thinned_total_ = thinned.value();
                if (thinned.value() > before_thinned) {
                    thinned_counter().inc(static_cast<double>(thinned.value() - before_thinned));
                    drops_.drop("thinned_offline", {{"buffer_max", options_.buffer_max}}, thinned.value() - before_thinned);
                }
            }
            if (unreported) thinned_unreported_ = unreported.value();
        } else {
            log::error("vitals.store_commit_failed", {{"error", outcome.error().describe()}, {"changes", batch.size()}});
        }
        for (auto& c : batch)
            if (c.done) c.done(outcome);
        lock.lock();
        queued_records_ -= records;
    }
}

Result<std::vector<StoredRecord>> VitalsStore::waiting(int limit) {
    std::lock_guard lock(reader_mu_);
    auto st = reader_->prepare_cached(
        "SELECT seq, kind, device, bed, name, unit, value, text, priority, technical, observed_ms, received_ms"
        " FROM vitals_records WHERE forwarded = 0 ORDER BY seq LIMIT ?1");
    if (!st) return st.error();
    st->bind(1, static_cast<int64_t>(limit));
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
    return {waiting_.load(), thinned_total_.load(), thinned_unreported_.load(), commits_.load(), stored_.load()};
}

}  // namespace hisgate::vitals
