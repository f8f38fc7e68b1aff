// The probes' state in a real SQLite file: availability from a recorded history, and
// everything still there after the file is opened again.
#include <catch2/catch.hpp>

#include "agent/probes/probe_store.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::agent::probes;
using namespace std::chrono_literals;

namespace {
constexpr int64_t kMinute = 60'000;
constexpr int64_t kNow = 1'800'000'000'000;  // a fixed instant, Unix ms
}  // namespace

TEST_CASE("probe store: availability over 1 h and 24 h from a recorded history") {
    auto file = test::make_temp_dir("probes") + "/agent.db";
    auto store = ProbeStore::open(file);
    REQUIRE(store.ok());
    // The last 24 h of a path probed every 5 minutes, most recent last:
    //  - 3 h ago: 6 failed probes (half an hour of HIS outage)
    //  - 40 min ago: one changed answer (the interface moved; the path still answered)
    //  - 30 min ago: the case archived (answered "no such report"; the next case took over)
    //  - 10 min ago: 1 failed
    //  - every other 5-minute mark: ok
    int ok = 0;
    for (int64_t m = 24 * 60 - 5; m >= 0; m -= 5) {
        Outcome o = Outcome::Ok;
        if (m >= 180 && m < 210) o = Outcome::Failed;
        else if (m == 40) o = Outcome::Changed;
        else if (m == 30) o = Outcome::Archived;
        else if (m == 10) o = Outcome::Failed;
        else ++ok;
        REQUIRE(store->record("lab_report", o, kNow - m * kMinute).ok());
    }
    // Another path's history does not count for this one.
    REQUIRE(store->record("schedule", Outcome::Failed, kNow - kMinute).ok());

    auto hour = store->availability("lab_report", kNow, 1h);
    REQUIRE(hour.ok());
    CHECK(hour->probes == 12);    // minutes 55, 50, ..., 0
    CHECK(hour->available == 11);  // all but the failure at minute 10
    CHECK(hour->changed == 1);
    CHECK(*hour->share() == Approx(11.0 / 12.0));

    auto day = store->availability("lab_report", kNow, 24h);
    REQUIRE(day.ok());
    CHECK(day->probes == 288);
    CHECK(day->available == 288 - 7);
    CHECK(day->available == ok + 2);  // ok + changed + archived
    CHECK(*day->share() == Approx(281.0 / 288.0));

    // A window with nothing in it has no share rather than 0 or 1.
    auto empty = store->availability("payment", kNow, 1h);
    REQUIRE(empty.ok());
    CHECK(empty->probes == 0);
    CHECK_FALSE(empty->share());
}

TEST_CASE("probe store: outcomes older than the retention are forgotten as new ones arrive") {
    auto file = test::make_temp_dir("probes") + "/agent.db";
    auto store = ProbeStore::open(file);
    REQUIRE(store.ok());
    REQUIRE(store->record("lab_report", Outcome::Failed, kNow - 26 * 60 * kMinute).ok());
    auto old = store->availability("lab_report", kNow - 26 * 60 * kMinute, 1h);
    CHECK(old->probes == 1);
    REQUIRE(store->record("lab_report", Outcome::Ok, kNow).ok());
    auto then = store->availability("lab_report", kNow - 26 * 60 * kMinute, 1h);
    CHECK(then->probes == 0);
}

TEST_CASE("probe store: last good answers, archived cases and outcomes survive reopening the file") {
    auto file = test::make_temp_dir("probes") + "/agent.db";
    {
        auto store = ProbeStore::open(file);
        REQUIRE(store.ok());
        nlohmann::json answer{{"title", "CBC"}};
        REQUIRE(store->save_last_good("lab_report", Operation::GetReport, "R-2", {answer, "f1", kNow}).ok());
        REQUIRE(store->archive("lab_report", Operation::GetReport, "R-1", kNow).ok());
        REQUIRE(store->archive("lab_report", Operation::GetReport, "R-1", kNow + 1).ok());  // twice is once
        REQUIRE(store->record("lab_report", Outcome::Archived, kNow).ok());
    }
    auto store = ProbeStore::open(file);
    REQUIRE(store.ok());
    auto last = store->last_good("lab_report", Operation::GetReport, "R-2");
    REQUIRE(last.ok());
    REQUIRE(last.value());
    CHECK(last.value()->canonical == nlohmann::json{{"title", "CBC"}});
    CHECK(last.value()->fingerprint == "f1");
    CHECK(last.value()->at_ms == kNow);
    CHECK_FALSE(store->last_good("lab_report", Operation::GetReport, "R-1").value());
    // Keyed by operation too: another operation on the same path starts afresh.
    CHECK_FALSE(store->last_good("lab_report", Operation::ListReports, "R-2").value());
    CHECK(store->archived_cases("lab_report", Operation::GetReport).value() == std::set<std::string>{"R-1"});
    CHECK(store->availability("lab_report", kNow, 1h)->probes == 1);
}

TEST_CASE("probe store: a state file that cannot be opened is an error naming it") {
    auto r = ProbeStore::open("/nonexistent-dir/agent.db");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("/nonexistent-dir/agent.db"));
}
