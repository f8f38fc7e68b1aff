#include <catch2/catch.hpp>

#include "agent/vitals/vitals_store.h"
#include "common/sqlite.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::vitals;

namespace {
VitalRecord sample(int i) {
    VitalRecord r;
    r.device = "MON-1";
    r.bed = "BED-1";
    r.name = "heart_rate";
    r.unit = "/min";
    r.value = 60 + i % 40;
    r.observed_ms = r.received_ms = 1000 + i;
    return r;
}
VitalRecord alarm(int i) {
    auto r = sample(i);
    r.kind = VitalRecord::Kind::Alarm;
    r.name = "1001";
    r.text = "HR High";
    r.priority = 'H';
    return r;
}

int64_t one_integer(const std::string& path, const std::string& sql) {
    auto db = sql::Db::open(path);
    REQUIRE(db.ok());
    auto st = db->prepare(sql);
    REQUIRE(st.ok());
    REQUIRE(st->step());
    return st->integer(0);
}

// The waiting counter against the rows themselves, read apart from the store.
void check_counters_match_rows(const std::string& path) {
    auto through = one_integer(path, "SELECT value FROM vitals_counters WHERE name = 'forwarded_through'");
    CHECK(one_integer(path, "SELECT value FROM vitals_counters WHERE name = 'waiting'") ==
          one_integer(path, "SELECT COUNT(*) FROM vitals_records WHERE seq > " + std::to_string(through)));
}

// A state file as the store wrote it before the forwarded-through watermark (up to
// 7463fb1): a forwarded flag per row, its three indexes, no watermark and no waiting
// counter.
void write_flagged_file(const std::string& path, int rows, int forwarded_through, std::vector<int> thinned,
                        int64_t thinned_unreported) {
    auto db = sql::Db::open_with_schema(
        path, {"CREATE TABLE IF NOT EXISTS vitals_records("
               " seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL,"
               " device TEXT NOT NULL, bed TEXT NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL, value REAL NOT NULL,"
               " text TEXT NOT NULL, priority TEXT NOT NULL, technical INTEGER NOT NULL,"
               " observed_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
               " forwarded INTEGER NOT NULL DEFAULT 0)",
               "CREATE INDEX IF NOT EXISTS vitals_records_waiting ON vitals_records(forwarded, kind, seq)",
               "CREATE INDEX IF NOT EXISTS vitals_records_forward ON vitals_records(forwarded, seq)",
               "CREATE INDEX IF NOT EXISTS vitals_records_received ON vitals_records(forwarded, received_ms)",
               "CREATE TABLE IF NOT EXISTS vitals_counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL)"});
    REQUIRE(db.ok());
    auto done = db->transaction([&]() -> Result<void> {
        for (int i = 1; i <= rows; ++i) {
            auto r = i % 5 == 0 ? alarm(i) : sample(i);
            auto st = db->prepare(
                "INSERT INTO vitals_records(kind, device, bed, name, unit, value, text, priority, technical, observed_ms,"
                " received_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9)");
            if (!st) return st.error();
            st->bind(1, static_cast<int64_t>(r.kind)).bind(2, r.device).bind(3, r.bed).bind(4, r.name).bind(5, r.unit);
            st->bind_real(6, r.value).bind(7, r.text).bind(8, r.priority ? std::string(1, r.priority) : std::string());
            st->bind(9, r.observed_ms);
            if (auto ran = st->run(); !ran) return ran;
        }
        // Its mark: every unmarked row up to the acknowledged seq.
        auto mark = db->prepare("UPDATE vitals_records SET forwarded = 1 WHERE forwarded = 0 AND seq <= ?1");
        if (!mark) return mark.error();
        mark->bind(1, static_cast<int64_t>(forwarded_through));
        if (auto ran = mark->run(); !ran) return ran;
        for (int seq : thinned) {
            auto del = db->prepare("DELETE FROM vitals_records WHERE seq = ?1");
            if (!del) return del.error();
            del->bind(1, static_cast<int64_t>(seq));
            if (auto ran = del->run(); !ran) return ran;
        }
        for (const char* name : {"thinned_total", "thinned_unreported"}) {
            auto c = db->prepare("INSERT INTO vitals_counters(name, value) VALUES(?1, ?2)");
            if (!c) return c.error();
            c->bind(1, std::string_view(name)).bind(2, thinned_unreported);
            if (auto ran = c->run(); !ran) return ran;
        }
        return {};
    });
    REQUIRE(done.ok());
}
}  // namespace

TEST_CASE("vitals store: past the buffer the oldest routine samples are thinned, alarms never, the count kept across a restart") {
    auto path = test::make_temp_dir("vitals-store") + "/state.db";
    ManualClock clock;
    DropLog drops(clock);
    {
        auto store = VitalsStore::open(path, {.buffer_max = 100}, clock, drops);
        REQUIRE(store.ok());
        std::vector<VitalRecord> batch;
        for (int i = 0; i < 150; ++i) {
            batch.push_back(sample(i));
            if (i % 15 == 0) batch.push_back(alarm(i));  // 10 alarms among them
        }
        (*store)->ingest(batch);
        REQUIRE((*store)->flush().ok());
        auto f = (*store)->figures();
        CHECK(f.waiting == 100);
        CHECK(f.thinned_total == 60);
        CHECK(f.thinned_unreported == 60);
        auto rows = (*store)->waiting(1000);
        REQUIRE(rows.ok());
        int alarms = 0;
        int64_t first_sample_time = INT64_MAX;
        for (const auto& r : rows.value()) {
            if (r.record.kind == VitalRecord::Kind::Alarm) ++alarms;
            else first_sample_time = std::min(first_sample_time, r.record.observed_ms);
        }
        CHECK(alarms == 10);
        CHECK(first_sample_time == 1000 + 60);  // the 60 oldest went
        // In seq order, as stored.
        for (std::size_t i = 1; i < rows->size(); ++i) CHECK((*rows)[i].seq > (*rows)[i - 1].seq);
    }
    // Reopened: the same figures; forwarding takes them off together with the report.
    auto store = VitalsStore::open(path, {.buffer_max = 100}, clock, drops);
    REQUIRE(store.ok());
    CHECK((*store)->figures().waiting == 100);
    CHECK((*store)->figures().thinned_unreported == 60);
    auto rows = (*store)->waiting(40);
    REQUIRE(rows.ok());
    REQUIRE((*store)->forwarded_through(rows->back().seq, 60).ok());
    REQUIRE((*store)->flush().ok());
    CHECK((*store)->figures().waiting == 60);
    CHECK((*store)->figures().thinned_unreported == 0);
    CHECK((*store)->figures().thinned_total == 60);
    CHECK((*store)->figures().forwarded_through == rows->back().seq);
    CHECK((*store)->waiting(1)->front().seq > rows->back().seq);
    // An acknowledgement behind the watermark, or of no rows (seq 0: a batch that carried
    // only the thinned count), never moves it back.
    REQUIRE((*store)->forwarded_through(rows->front().seq, 0).ok());
    REQUIRE((*store)->forwarded_through(0, 0).ok());
    CHECK((*store)->figures().forwarded_through == rows->back().seq);
    CHECK((*store)->figures().waiting == 60);
    check_counters_match_rows(path);
}

TEST_CASE("vitals store: thinning and acknowledgements interleaved keep the waiting counter equal to the rows above the watermark") {
    auto path = test::make_temp_dir("vitals-store") + "/state.db";
    ManualClock clock;
    DropLog drops(clock);
    auto store = VitalsStore::open(path, {.buffer_max = 50}, clock, drops);
    REQUIRE(store.ok());
    int next = 0;
    int64_t alarms_in = 0;
    for (int round = 0; round < 20; ++round) {
        std::vector<VitalRecord> batch;
        for (int n = 0; n < 23; ++n, ++next) {
            batch.push_back(next % 7 == 0 ? alarm(next) : sample(next));
            alarms_in += next % 7 == 0;
        }
        (*store)->ingest(batch);
        REQUIRE((*store)->flush().ok());
        // The forwarder takes fewer than come in: the buffer stays full and thins.
        auto rows = (*store)->waiting(round % 3 == 0 ? 0 : 9);
        REQUIRE(rows.ok());
        if (!rows->empty()) REQUIRE((*store)->forwarded_through(rows->back().seq, 0).ok());
        REQUIRE((*store)->flush().ok());
        check_counters_match_rows(path);
        CHECK((*store)->figures().waiting <= 50 + alarms_in);
    }
    CHECK((*store)->figures().thinned_total > 0);
    // Thinned plus present is everything stored: none lost another way, no alarm thinned.
    CHECK(one_integer(path, "SELECT COUNT(*) FROM vitals_records") + (*store)->figures().thinned_total == next);
    CHECK(one_integer(path, "SELECT COUNT(*) FROM vitals_records WHERE kind = 1") == alarms_in);
}

TEST_CASE("vitals store: forwarded rows past the retention are purged from the oldest, waiting rows never") {
    auto path = test::make_temp_dir("vitals-store") + "/state.db";
    ManualClock clock;
    DropLog drops(clock);
    auto store = VitalsStore::open(path, {.retention = std::chrono::hours(1)}, clock, drops);
    REQUIRE(store.ok());
    std::vector<VitalRecord> old_rows;
    for (int i = 0; i < 50; ++i) old_rows.push_back(i % 10 == 0 ? alarm(i) : sample(i));  // received in 1970
    (*store)->ingest(old_rows);
    REQUIRE((*store)->flush().ok());
    auto first = (*store)->waiting(30);
    REQUIRE(first.ok());
    REQUIRE((*store)->forwarded_through(first->back().seq, 0).ok());
    clock.advance(std::chrono::seconds(61));  // the purge runs with the next commit after a minute
    REQUIRE((*store)->flush().ok());
    CHECK(one_integer(path, "SELECT COUNT(*) FROM vitals_records") == 20);  // only the waiting
    CHECK(one_integer(path, "SELECT MIN(seq) FROM vitals_records") == first->back().seq + 1);
    // Forwarded rows received within the retention stay.
    std::vector<VitalRecord> recent;
    for (int i = 0; i < 10; ++i) {
        auto r = sample(i);
        r.received_ms = clock.wall_ms();
        recent.push_back(r);
    }
    (*store)->ingest(recent);
    REQUIRE((*store)->flush().ok());
    auto all = (*store)->waiting(1000);
    REQUIRE(all.ok());
    REQUIRE(all->size() == 30);
    REQUIRE((*store)->forwarded_through(all->back().seq, 0).ok());
    clock.advance(std::chrono::seconds(61));
    REQUIRE((*store)->flush().ok());
    CHECK(one_integer(path, "SELECT COUNT(*) FROM vitals_records") == 10);
    CHECK((*store)->figures().waiting == 0);
    check_counters_match_rows(path);
}

TEST_CASE("vitals store: a state file from before the watermark is migrated: its waiting rows stay waiting, in order, its forwarded ones do not come back") {
    auto path = test::make_temp_dir("vitals-store") + "/state.db";
    // 30 rows (every fifth an alarm); 1..10 forwarded; 11 and 12 thinned while waiting.
    write_flagged_file(path, 30, 10, {11, 12}, 2);
    ManualClock clock;
    DropLog drops(clock);
    {
        auto store = VitalsStore::open(path, {.buffer_max = 100}, clock, drops);
        REQUIRE(store.ok());
        auto f = (*store)->figures();
        CHECK(f.waiting == 18);
        CHECK(f.forwarded_through == 12);  // just below the oldest waiting row
        CHECK(f.thinned_total == 2);
        CHECK(f.thinned_unreported == 2);
        auto rows = (*store)->waiting(100);
        REQUIRE(rows.ok());
        REQUIRE(rows->size() == 18);
        for (std::size_t i = 0; i < rows->size(); ++i) CHECK((*rows)[i].seq == 13 + static_cast<int64_t>(i));
        CHECK((*rows)[2].record.kind == VitalRecord::Kind::Alarm);  // seq 15
        // The flag's indexes are gone, the one the thinning walks is there.
        CHECK(one_integer(path, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                                " ('vitals_records_waiting', 'vitals_records_forward', 'vitals_records_received')") == 0);
        CHECK(one_integer(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'vitals_records_kind'") == 1);
        // And it goes on as any store: new rows after the old ones, acknowledged by the watermark.
        std::vector<VitalRecord> more;
        for (int i = 31; i <= 35; ++i) more.push_back(sample(i));
        (*store)->ingest(more);
        REQUIRE((*store)->flush().ok());
        CHECK((*store)->figures().waiting == 23);
        auto next = (*store)->waiting(10);
        REQUIRE(next.ok());
        CHECK(next->front().seq == 13);
        REQUIRE((*store)->forwarded_through(next->back().seq, 2).ok());
        CHECK((*store)->figures().waiting == 13);
        CHECK((*store)->figures().thinned_unreported == 0);
        check_counters_match_rows(path);
    }
    // Reopened: nothing migrated twice, the same figures.
    auto store = VitalsStore::open(path, {.buffer_max = 100}, clock, drops);
    REQUIRE(store.ok());
    CHECK((*store)->figures().waiting == 13);
    CHECK((*store)->figures().forwarded_through == 22);
    CHECK((*store)->waiting(1)->front().seq == 23);
    CHECK((*store)->waiting(100)->back().seq == 35);

    // A file from before the watermark where everything was forwarded: nothing waits, and
    // the rows after it get seq beyond the old ones.
    auto all_sent = test::make_temp_dir("vitals-store") + "/state.db";
    write_flagged_file(all_sent, 20, 20, {}, 0);
    auto sent = VitalsStore::open(all_sent, {}, clock, drops);
    REQUIRE(sent.ok());
    CHECK((*sent)->figures().waiting == 0);
    CHECK((*sent)->figures().forwarded_through == 20);
    (*sent)->ingest({sample(99)});
    REQUIRE((*sent)->flush().ok());
    CHECK((*sent)->waiting(10)->size() == 1);
    CHECK((*sent)->waiting(10)->front().seq == 21);
}

TEST_CASE("vitals store: rows an older release marked forwarded after a rollback move the watermark at the next open") {
    auto path = test::make_temp_dir("vitals-store") + "/state.db";
    ManualClock clock;
    DropLog drops(clock);
    {
        auto store = VitalsStore::open(path, {}, clock, drops);
        REQUIRE(store.ok());
        std::vector<VitalRecord> batch;
        for (int i = 0; i < 20; ++i) batch.push_back(sample(i));
        (*store)->ingest(batch);
        REQUIRE((*store)->flush().ok());
        REQUIRE((*store)->forwarded_through(5, 0).ok());
    }
    {
        // The older release: it inserts with the flag at 0 (no counters), and marks by flag.
        auto db = sql::Db::open(path);
        REQUIRE(db.ok());
        REQUIRE(db->exec("INSERT INTO vitals_records(kind, device, bed, name, unit, value, text, priority, technical,"
                         " observed_ms, received_ms) VALUES(0, 'MON-1', 'BED-1', 'heart_rate', '/min', 70, '', '', 0, 1, 1)")
                    .ok());
        REQUIRE(db->exec("UPDATE vitals_records SET forwarded = 1 WHERE forwarded = 0 AND seq <= 12").ok());
    }
    auto store = VitalsStore::open(path, {}, clock, drops);
    REQUIRE(store.ok());
    CHECK((*store)->figures().forwarded_through == 12);
    CHECK((*store)->figures().waiting == 9);  // 13..21
    CHECK((*store)->waiting(1)->front().seq == 13);
    check_counters_match_rows(path);
}

TEST_CASE("vitals store: only alarms waiting are never thinned, even past the buffer") {
    auto path = test::make_temp_dir("vitals-store") + "/state.db";
    ManualClock clock;
    DropLog drops(clock);
    auto store = VitalsStore::open(path, {.buffer_max = 100}, clock, drops);
    REQUIRE(store.ok());
    std::vector<VitalRecord> batch;
    for (int i = 0; i < 150; ++i) batch.push_back(alarm(i));
    (*store)->ingest(batch);
    REQUIRE((*store)->flush().ok());
    CHECK((*store)->figures().waiting == 150);
    CHECK((*store)->figures().thinned_total == 0);
}

TEST_CASE("vitals store: rows read into flight are never thinned, the thinning takes the oldest above them until they are released") {
    auto path = test::make_temp_dir("vitals-store") + "/state.db";
    ManualClock clock;
    DropLog drops(clock);
    auto store = VitalsStore::open(path, {.buffer_max = 50}, clock, drops);
    REQUIRE(store.ok());
    std::vector<VitalRecord> first;
    for (int i = 0; i < 40; ++i) first.push_back(sample(i));
    (*store)->ingest(first);
    REQUIRE((*store)->flush().ok());
    // The forwarder reads 30 into flight (seq 1..30): they are on their way up.
    auto flight = (*store)->read_into_flight(0, 30);
    REQUIRE(flight.ok());
    REQUIRE(flight->size() == 30);
    CHECK(flight->back().seq == 30);
    // 40 more: 80 wait, 30 over the bound; the 30 oldest not in flight go (31..60).
    std::vector<VitalRecord> second;
    for (int i = 40; i < 80; ++i) second.push_back(sample(i));
    (*store)->ingest(second);
    REQUIRE((*store)->flush().ok());
    CHECK((*store)->figures().thinned_total == 30);
    CHECK(one_integer(path, "SELECT COUNT(*) FROM vitals_records WHERE seq <= 30") == 30);
    CHECK(one_integer(path, "SELECT COUNT(*) FROM vitals_records WHERE seq > 30 AND seq <= 60") == 0);
    CHECK(one_integer(path, "SELECT MIN(seq) FROM vitals_records WHERE seq > 30") == 61);
    // The next read starts after what is in flight; the acknowledgement of the first batch,
    // queued without waiting, moves the watermark past it and counts it off once.
    auto next = (*store)->read_into_flight(30, 5);
    REQUIRE(next.ok());
    REQUIRE(next->size() == 5);
    CHECK(next->front().seq == 61);
    Result<void> acked = make_error(ErrorClass::Internal, "test.not_run", "not run");
    (*store)->acknowledge(30, 0, [&](const Result<void>& r) { acked = r; });
    REQUIRE((*store)->flush().ok());
    CHECK(acked.ok());
    CHECK((*store)->figures().forwarded_through == 30);
    check_counters_match_rows(path);
    // Released (a failed publish: those rows will be read again): the thinning may take
    // them again, from the watermark.
    (*store)->release_flight();
    std::vector<VitalRecord> third;  // 20 waiting and 35 more: 5 over the bound
    for (int i = 80; i < 115; ++i) third.push_back(sample(i));
    (*store)->ingest(third);
    REQUIRE((*store)->flush().ok());
    CHECK((*store)->figures().thinned_total == 35);
    CHECK(one_integer(path, "SELECT COUNT(*) FROM vitals_records WHERE seq > 60 AND seq <= 65") == 0);
    check_counters_match_rows(path);
}

TEST_CASE("vitals store: acknowledgements queued without waiting move the watermark in order and take each thinned count off once") {
    auto path = test::make_temp_dir("vitals-store") + "/state.db";
    ManualClock clock;
    DropLog drops(clock);
    auto store = VitalsStore::open(path, {.buffer_max = 20}, clock, drops);
    REQUIRE(store.ok());
    std::vector<VitalRecord> batch;
    for (int i = 0; i < 60; ++i) batch.push_back(i % 10 == 0 ? alarm(i) : sample(i));
    (*store)->ingest(batch);
    REQUIRE((*store)->flush().ok());
    auto thinned = (*store)->figures().thinned_unreported;
    REQUIRE(thinned == 40);
    // Three batches in a window: the first reports 40 thinned, the others nothing new.
    std::vector<int64_t> lasts;
    int64_t after = 0;
    for (int b = 0; b < 3; ++b) {
        auto rows = (*store)->read_into_flight(after, 7);
        REQUIRE(rows.ok());
        REQUIRE(!rows->empty());
        after = rows->back().seq;
        lasts.push_back(after);
    }
    std::vector<int> done;
    for (std::size_t b = 0; b < lasts.size(); ++b)
        (*store)->acknowledge(lasts[b], b == 0 ? thinned : 0, [&done, b](const Result<void>& r) {
            if (r) done.push_back(static_cast<int>(b));
        });
    REQUIRE((*store)->flush().ok());
    CHECK(done == std::vector<int>{0, 1, 2});
    auto f = (*store)->figures();
    CHECK(f.forwarded_through == lasts.back());
    CHECK(f.thinned_unreported == 0);
    CHECK(f.thinned_total == 40);
    // An acknowledgement behind the watermark moves nothing back.
    (*store)->acknowledge(lasts.front(), 0, {});
    REQUIRE((*store)->flush().ok());
    CHECK((*store)->figures().forwarded_through == lasts.back());
    check_counters_match_rows(path);
    // Every alarm still there, none read twice: the reads were contiguous.
    CHECK(one_integer(path, "SELECT COUNT(*) FROM vitals_records WHERE kind = 1") == 6);
}
