#include <catch2/catch.hpp>

#include "agent/vitals/vitals_store.h"
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
    CHECK((*store)->waiting(1)->front().seq > rows->back().seq);
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
