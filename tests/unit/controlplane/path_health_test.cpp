// The health board (issue 13 item 5): probe results kept 24 h on a real SQLite file,
// availability over 1 h and 24 h, last change, last failure reason; time stepped by a
// ManualClock. And the fleet's per-hospital gauges.
#include <catch2/catch.hpp>

#include "common/metrics.h"
#include "controlplane/fleet_metrics.h"
#include "controlplane/health/health_api.h"
#include "tests/support/process.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace hisgate::controlplane;
using namespace hisgate::controlplane::health;
using namespace std::chrono_literals;

namespace {
struct PathBoard {
    std::string dir = test::make_temp_dir("hisgate-health");
    ManualClock clock;
    std::unique_ptr<PathHealthStore> store;
    explicit PathBoard(PathHealthRetention r = {}) {
        auto opened = open_sqlite_path_health_store(dir + "/results.db", clock, r);
        REQUIRE(opened.ok());
        store = std::move(opened.value());
    }
    ~PathBoard() {
        store.reset();
        std::system(("rm -rf " + dir).c_str());
    }
    void probe(const std::string& h, const std::string& path, const std::string& outcome, const std::string& reason = "") {
        REQUIRE(store->record({h, path, outcome, reason}).ok());
    }
    std::vector<PathHealth> paths(const std::string& h = "") {
        auto r = store->paths(h);
        REQUIRE(r.ok());
        return *r;
    }
};
}  // namespace

TEST_CASE("health: availability over 1 h and 24 h, last change and last failure reason per path") {
    PathBoard b;
    b.probe("H001", "book", "ok");
    b.clock.advance(10min);
    b.probe("H001", "book", "failed", "his.timeout");
    const int64_t failed_at = b.clock.wall_ms();
    b.clock.advance(2h);  // the first two leave the hour
    b.probe("H001", "book", "failed", "his.unavailable");
    b.clock.advance(1min);
    b.probe("H001", "book", "ok");
    const int64_t back_at = b.clock.wall_ms();
    b.clock.advance(1min);
    b.probe("H001", "book", "ok");
    b.probe("H002", "report", "changed");
    auto all = b.paths();
    REQUIRE(all.size() == 2);
    const auto& p = all[0];
    CHECK(p.hospital_id == "H001");
    CHECK(p.path == "book");
    CHECK(p.last_outcome == "ok");
    CHECK(p.last_change_ms == back_at);
    CHECK(p.last_failure_reason == "his.unavailable");
    CHECK(p.last_failure_ms > failed_at);
    CHECK(p.probes_1h == 3);
    CHECK(*p.availability_1h == Approx(2.0 / 3));
    CHECK(p.probes_24h == 5);
    CHECK(*p.availability_24h == Approx(3.0 / 5));
    CHECK(all[1].availability_1h == 1.0);  // changed: the path answered
    CHECK(b.paths("H002").size() == 1);

    b.clock.advance(25h);  // everything leaves the day; the status stays
    b.probe("H002", "report", "ok");
    auto later = b.paths("H001");
    REQUIRE(later.size() == 1);
    CHECK(later[0].probes_24h == 0);
    CHECK_FALSE(later[0].availability_24h.has_value());
    CHECK(later[0].last_outcome == "ok");
}

TEST_CASE("health: a hospital's probed paths are bounded, the results kept are bounded") {
    PathBoard b({.keep = 24h, .max_results = 10});
    for (int i = 0; i < kMaxPathsPerHospital; ++i) b.probe("H001", "p" + std::to_string(i), "ok");
    auto refused = b.store->record({"H001", "one-too-many", "ok", ""});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "health.too_many_paths");
    b.probe("H001", "p0", "ok");  // a known path still records
    CHECK(b.paths("H001").size() == static_cast<size_t>(kMaxPathsPerHospital));
    int kept = 0;
    for (const auto& p : b.paths()) kept += p.probes_24h;
    CHECK(kept == 10);
}

TEST_CASE("health api: lists paths, refuses a bad query naming the parameter") {
    PathBoard b;
    b.probe("H001", "book", "failed", "his.timeout");
    auto r = health_paths(*b.store, "hospital=H001");
    REQUIRE(r.ok());
    REQUIRE((*r)["paths"].size() == 1);
    CHECK((*r)["paths"][0]["lastFailure"]["reason"] == "his.timeout");
    CHECK((*r)["paths"][0]["availability"]["1h"] == 0.0);
    for (const char* bad : {"hospital=a/b", "colour=red", "hospital=H001&hospital=H002"}) {
        auto e = health_paths(*b.store, bad);
        REQUIRE_FALSE(e.ok());
        CHECK(e.error().code == "health.bad_query");
    }
}

TEST_CASE("fleet metrics: gauges per hospital of the registry from its records") {
    FleetRecord r;
    r.hospital_id = "HM01";
    r.online = true;
    r.protocol_min = r.protocol_max = 1;
    r.last_heartbeat_ms = 10000;
    r.body["queue"] = {{"depth", 7}, {"oldestSeconds", 42.5}};
    r.body["probes"] = {{"book", {{"outcome", "ok"}, {"availability1h", 0.75}}}, {"bad path!", {{"availability1h", 1}}}};
    FleetRecord off;
    off.hospital_id = "HM02";
    publish_fleet_metrics({r, off}, ProtocolWindow{1, 1}, 25000);
    auto page = metrics::global().render();
    CHECK(test::metric_value(page, R"(hisgate_hospital_up{hospital="HM01"})") == 1);
    CHECK(page.find(R"(hisgate_hospital_up{hospital="HM02"} 0)") != std::string::npos);
    CHECK(test::metric_value(page, R"(hisgate_hospital_heartbeat_age_seconds{hospital="HM01"})") == 15);
    CHECK(test::metric_value(page, R"(hisgate_hospital_queue_depth{hospital="HM01"})") == 7);
    CHECK(test::metric_value(page, R"(hisgate_hospital_oldest_task_seconds{hospital="HM01"})") == 42.5);
    CHECK(test::metric_value(page, R"(hisgate_hospital_probe_availability{hospital="HM01",path="book",window="1h"})") == 0.75);
    CHECK(page.find("bad path") == std::string::npos);
}
