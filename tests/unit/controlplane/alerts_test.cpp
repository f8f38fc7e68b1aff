// The alert rules and their engine (issue 13 item 5): each rule fires, resolves, and does
// not flap (repeated rounds keep one alert), on a real SQLite file, time stepped by a
// ManualClock. The fleet is given as records, as the registry would hold them.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "controlplane/alerts/alert_engine.h"
#include "controlplane/alerts/alerts_api.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane;
using namespace hisgate::controlplane::alerts;
using namespace std::chrono_literals;

namespace {
struct Board {
    std::string dir = test::make_temp_dir("hisgate-alerts");
    ManualClock clock;
    std::unique_ptr<AlertStore> store;
    std::map<std::string, FleetRecord> fleet;
    AlertThresholds thresholds;
    std::unique_ptr<AlertEngine> engine;
    Board() {
        thresholds.offline = 60s;
        thresholds.dwell_seconds = 120;
        thresholds.owners[rule::kOffline] = "hospital-it";
        reopen();
    }
    ~Board() {
        engine.reset();
        store.reset();
        std::system(("rm -rf " + dir).c_str());
    }
    void reopen() {
        engine.reset();
        store.reset();
        auto opened = open_sqlite_alert_store(dir + "/results.db", clock);
        REQUIRE(opened.ok());
        store = std::move(opened.value());
        engine = std::make_unique<AlertEngine>(
            *store,
            [this]() -> Result<std::vector<FleetRecord>> {
                std::vector<FleetRecord> out;
                for (auto& [id, r] : fleet) out.push_back(r);
                return out;
            },
            ProtocolWindow{1, 1}, thresholds, clock);
    }
    FleetRecord& online(const std::string& id) {
        auto& r = fleet[id];
        r.hospital_id = id;
        r.online = true;
        r.since_ms = clock.wall_ms();
        r.protocol_min = r.protocol_max = 1;
        r.version = "1.4.0";
        return r;
    }
    void offline(const std::string& id) {
        fleet[id].online = false;
        fleet[id].since_ms = clock.wall_ms();
    }
    RoundResult round() {
        auto r = engine->evaluate();
        REQUIRE(r.ok());
        return *r;
    }
    std::vector<Alert> list(std::optional<AlertState> state = std::nullopt) {
        AlertQuery q;
        q.state = state;
        auto r = store->list(q);
        REQUIRE(r.ok());
        return *r;
    }
    std::vector<Alert> firing() { return list(AlertState::Firing); }
};
}  // namespace

TEST_CASE("alerts: agent.offline fires after the threshold, resolves when the agent is back, does not flap") {
    Board b;
    b.online("H001");
    b.online("H002");
    CHECK(b.round().fired == 0);
    b.offline("H001");
    b.clock.advance(59s);
    CHECK(b.round().fired == 0);  // not longer than the threshold yet
    b.clock.advance(2s);
    auto r = b.round();
    CHECK(r.fired == 1);
    auto f = b.firing();
    REQUIRE(f.size() == 1);
    CHECK(f[0].rule == "agent.offline");
    CHECK(f[0].hospital_id == "H001");
    CHECK(f[0].owner == "hospital-it");
    CHECK(f[0].started_ms == b.clock.wall_ms());
    CHECK(f[0].detail.find("offline since") != std::string::npos);
    const std::string id = f[0].id;
    for (int i = 0; i < 5; ++i) {  // still offline: the same alert, never a second
        b.clock.advance(30s);
        auto again = b.round();
        CHECK(again.fired == 0);
        CHECK(again.resolved == 0);
    }
    REQUIRE(b.firing().size() == 1);
    CHECK(b.firing()[0].id == id);
    b.online("H001");
    b.clock.advance(1s);
    CHECK(b.round().resolved == 1);
    CHECK(b.firing().empty());
    auto all = b.list(AlertState::Resolved);
    REQUIRE(all.size() == 1);
    CHECK(all[0].id == id);
    CHECK(all[0].resolved_ms == b.clock.wall_ms());
    CHECK(b.round().fired == 0);  // back and staying: nothing new
}

TEST_CASE("alerts: an operator resolves a firing alert by hand - held while its condition holds, a new alert when it returns") {
    Board b;
    b.online("H001");
    b.offline("H001");
    b.clock.advance(61s);
    REQUIRE(b.round().fired == 1);
    const std::string id = b.firing().at(0).id;
    const nlohmann::json note = {{"note", "the hospital's link is down, ticket 4711"}};
    // Bad input changes nothing.
    CHECK(resolve_alert(*b.store, id, "operator:alice", nlohmann::json::object(), b.clock.wall_ms()).error().code == "alerts.bad_note");
    CHECK(resolve_alert(*b.store, id, "operator:alice", {{"note", std::string(501, 'x')}}, b.clock.wall_ms()).error().code ==
          "alerts.bad_note");
    CHECK(resolve_alert(*b.store, id, "operator:alice", {{"note", "x"}, {"extra", 1}}, b.clock.wall_ms()).error().code ==
          "alerts.bad_note");
    CHECK(resolve_alert(*b.store, "no-such-alert", "operator:alice", note, b.clock.wall_ms()).error().code == "alert.not_found");
    REQUIRE(b.firing().size() == 1);

    b.clock.advance(5s);
    auto done = resolve_alert(*b.store, id, "operator:alice", note, b.clock.wall_ms());
    REQUIRE(done);
    CHECK((*done)["state"] == "resolved");
    CHECK((*done)["resolvedBy"] == "operator:alice");
    CHECK((*done)["note"] == "the hospital's link is down, ticket 4711");
    CHECK(resolve_alert(*b.store, id, "operator:bob", note, b.clock.wall_ms()).error().code == "alert.not_firing");
    // Still offline: no new alert, round after round, across a restart.
    for (int i = 0; i < 3; ++i) {
        b.clock.advance(30s);
        CHECK(b.round().fired == 0);
    }
    b.reopen();
    CHECK(b.round().fired == 0);
    CHECK(b.firing().empty());
    // Back online: the hold goes. Offline again past the threshold: a new alert.
    b.online("H001");
    b.clock.advance(1s);
    b.round();
    auto held = b.store->held_keys();
    REQUIRE(held);
    CHECK(held->empty());
    b.offline("H001");
    b.clock.advance(61s);
    CHECK(b.round().fired == 1);
    REQUIRE(b.firing().size() == 1);
    CHECK(b.firing()[0].id != id);
    CHECK(b.firing()[0].resolved_by.empty());
    auto old = b.list(AlertState::Resolved);
    REQUIRE(old.size() == 1);
    CHECK(old[0].resolved_by == "operator:alice");
}

TEST_CASE("alerts: queue.dwell fires above the threshold from the heartbeat's figures and resolves below it") {
    Board b;
    auto& r = b.online("H001");
    r.body["queue"] = {{"depth", 3}, {"oldestSeconds", 30.0}, {"dwellP99Seconds", 10.0}};
    CHECK(b.round().fired == 0);
    b.fleet["H001"].body["queue"]["oldestSeconds"] = 300.0;
    CHECK(b.round().fired == 1);
    REQUIRE(b.firing().size() == 1);
    CHECK(b.firing()[0].rule == "queue.dwell");
    CHECK(b.firing()[0].owner == "operations");
    b.fleet["H001"].body["queue"]["oldestSeconds"] = 400.0;  // the detail follows, the alert stays
    auto again = b.round();
    CHECK(again.fired == 0);
    CHECK(again.resolved == 0);
    REQUIRE(b.firing().size() == 1);
    CHECK(b.firing()[0].detail.find("400.0") != std::string::npos);
    b.fleet["H001"].body["queue"]["oldestSeconds"] = 5.0;
    b.fleet["H001"].body["queue"]["dwellP99Seconds"] = 121.0;  // p99 above counts too
    CHECK(b.round().resolved == 0);
    b.fleet["H001"].body["queue"]["dwellP99Seconds"] = 1.0;
    CHECK(b.round().resolved == 1);
    CHECK(b.firing().empty());
}

TEST_CASE("alerts: queue.dwell fires on the agent's own dwell events, in sent order, while it is online") {
    Board b;
    auto opened = open_sqlite_dwell_reports(b.dir + "/results.db");
    REQUIRE(opened.ok());
    auto& reports = **opened;
    b.engine->add_source([&](int64_t) -> Result<std::vector<Condition>> {
        auto v = reports.exceeding();
        if (!v) return v.error();
        return dwell_conditions(*v, [&](const std::string& h) { return b.fleet.count(h) && b.fleet[h].online; });
    });
    auto& r = b.online("H001");
    // Below the control plane's threshold (120 s), above the hospital's own (60 s).
    r.body["queue"] = {{"depth", 3}, {"oldestSeconds", 90.0}, {"dwellP99Seconds", 10.0}};
    auto event = [&](const std::string& type, const std::string& sent_at, double oldest) {
        auto env = Envelope::make(type, "H001",
                                  {{"depth", 3}, {"oldestSeconds", oldest}, {"dwellP99Seconds", 10.0}, {"thresholdSeconds", 60.0}});
        env.sent_at = sent_at;
        take_dwell_event(reports, {"H001", env, ""});
    };
    CHECK(b.round().fired == 0);
    event("queue.dwell_exceeded", "2026-12-04T10:00:00.000Z", 90.0);
    CHECK(b.round().fired == 1);
    REQUIRE(b.firing().size() == 1);
    CHECK(b.firing()[0].rule == "queue.dwell");
    CHECK(b.firing()[0].detail == "the agent reports oldest task 90.0 s, dwell p99 10.0 s (its threshold 60.0 s)");
    // An older verdict taken late (another instance, out of order) changes nothing.
    event("queue.dwell_recovered", "2026-12-04T09:59:30.000Z", 20.0);
    CHECK(b.round().resolved == 0);
    // Offline: the figures are stale, only agent.offline may fire.
    b.offline("H001");
    CHECK(b.round().resolved == 1);
    b.online("H001").body["queue"] = {{"depth", 3}, {"oldestSeconds", 90.0}, {"dwellP99Seconds", 10.0}};
    CHECK(b.round().fired == 1);
    event("queue.dwell_recovered", "2026-12-04T10:01:00.000Z", 20.0);
    CHECK(b.round().resolved == 1);
    CHECK(b.firing().empty());
    // Unreadable figures or time: dropped, nothing changes.
    auto bad = Envelope::make("queue.dwell_exceeded", "H001", {{"oldestSeconds", "long"}, {"dwellP99Seconds", 1}});
    take_dwell_event(reports, {"H001", bad, ""});
    auto huge = Envelope::make("queue.dwell_exceeded", "H001",
                                   {{"oldestSeconds", 1e300}, {"dwellP99Seconds", 1.0}, {"thresholdSeconds", 60.0}});
    take_dwell_event(reports, {"H001", huge, ""});
    auto no_time = Envelope::make("queue.dwell_exceeded", "H001",
                                  {{"oldestSeconds", 90.0}, {"dwellP99Seconds", 1.0}, {"thresholdSeconds", 60.0}});
    no_time.sent_at = "yesterday";
    take_dwell_event(reports, {"H001", no_time, ""});
    CHECK(b.round().fired == 0);
}

TEST_CASE("alerts: agent.incompatible fires for an online agent outside the window only") {
    Board b;
    auto& r = b.online("H001");
    r.protocol_min = r.protocol_max = 7;
    CHECK(b.round().fired == 1);
    REQUIRE(b.firing().size() == 1);
    CHECK(b.firing()[0].rule == "agent.incompatible");
    CHECK(b.round().fired == 0);
    b.fleet["H001"].protocol_min = b.fleet["H001"].protocol_max = 1;  // upgraded
    CHECK(b.round().resolved == 1);
    CHECK(b.firing().empty());
}

TEST_CASE("alerts: cert.expiring fires within 30 days of notAfter and resolves on a renewed certificate") {
    Board b;  // the clock starts 2026-01-05
    auto& r = b.online("H001");
    r.body["certNotAfter"] = "2026-03-01T00:00:00Z";
    CHECK(b.round().fired == 0);
    b.clock.advance(std::chrono::hours(24 * 26));  // 2026-01-31: 29 days left
    CHECK(b.round().fired == 1);
    REQUIRE(b.firing().size() == 1);
    CHECK(b.firing()[0].rule == "cert.expiring");
    b.clock.advance(std::chrono::hours(24));
    CHECK(b.round().fired == 0);
    b.fleet["H001"].body["certNotAfter"] = "2027-03-01T00:00:00.000Z";
    CHECK(b.round().resolved == 1);
    CHECK(parse_iso_utc_ms("2026-01-05T00:00:00Z") == ManualClock().wall_ms());
    CHECK(parse_iso_utc_ms("not a time") == -1);
    CHECK(parse_iso_utc_ms("2026-13-05T00:00:00Z") == -1);
}

TEST_CASE("alerts: path.failed fires per business path whose last probe failed or changed") {
    Board b;
    auto& r = b.online("H001");
    r.body["probes"] = {{"book", {{"outcome", "ok"}}}, {"report", {{"outcome", "ok"}}}};
    CHECK(b.round().fired == 0);
    b.fleet["H001"].body["probes"]["book"]["outcome"] = "failed";
    b.fleet["H001"].body["probes"]["report"]["outcome"] = "changed";
    CHECK(b.round().fired == 2);
    CHECK(b.round().fired == 0);
    b.fleet["H001"].body["probes"]["book"]["outcome"] = "ok";
    auto r2 = b.round();
    CHECK(r2.resolved == 1);
    REQUIRE(b.firing().size() == 1);
    CHECK(b.firing()[0].subject == "report");
}

TEST_CASE("alerts: an offline hospital is only agent.offline, its stale figures do not fire") {
    Board b;
    auto& r = b.online("H001");
    r.body["queue"] = {{"oldestSeconds", 900.0}, {"dwellP99Seconds", 900.0}};
    r.body["probes"] = {{"book", {{"outcome", "failed"}}}};
    CHECK(b.round().fired == 2);
    b.offline("H001");
    CHECK(b.round().resolved == 2);
    b.clock.advance(61s);
    CHECK(b.round().fired == 1);
    REQUIRE(b.firing().size() == 1);
    CHECK(b.firing()[0].rule == "agent.offline");
}

TEST_CASE("alerts: the store keeps them across a restart, and a second engine on it does not fire twice") {
    Board b;
    b.online("H001");
    b.offline("H001");
    b.clock.advance(2min);
    CHECK(b.round().fired == 1);
    b.reopen();  // a restarted instance
    CHECK(b.round().fired == 0);
    REQUIRE(b.firing().size() == 1);
    // A second instance on the same file, evaluating the same fleet.
    auto other = open_sqlite_alert_store(b.dir + "/results.db", b.clock);
    REQUIRE(other.ok());
    Alert dup;
    dup.id = "another";
    dup.rule = rule::kOffline;
    dup.hospital_id = "H001";
    dup.started_ms = b.clock.wall_ms();
    REQUIRE((*other)->apply({dup}, {}, {}).ok());  // opened by a racing instance: ignored
    CHECK(b.firing().size() == 1);
}

TEST_CASE("alerts: resolved alerts are forgotten after the retention") {
    Board b;
    b.online("H001");
    b.offline("H001");
    b.clock.advance(2min);
    b.round();
    b.online("H001");
    CHECK(b.round().resolved == 1);
    CHECK(b.list().size() == 1);
    b.clock.advance(std::chrono::hours(24 * 8));
    b.offline("H002");  // any change applies the retention
    b.fleet["H002"].hospital_id = "H002";
    b.clock.advance(2min);
    CHECK(b.round().fired == 1);
    auto all = b.list();
    REQUIRE(all.size() == 1);
    CHECK(all[0].hospital_id == "H002");
}

TEST_CASE("alerts api: filters by state and hospital, refuses a bad query naming the parameter") {
    Board b;
    b.online("H001");
    b.online("H002").protocol_max = 9;
    b.fleet["H002"].protocol_min = 9;
    b.offline("H001");
    b.clock.advance(2min);
    CHECK(b.round().fired == 2);
    auto all = alerts_page(*b.store, "");
    REQUIRE(all.ok());
    CHECK((*all)["alerts"].size() == 2);
    auto one = alerts_page(*b.store, "state=firing&hospital=H002");
    REQUIRE(one.ok());
    REQUIRE((*one)["alerts"].size() == 1);
    CHECK((*one)["alerts"][0]["rule"] == "agent.incompatible");
    CHECK((*one)["alerts"][0]["resolvedAt"].is_null());
    auto none = alerts_page(*b.store, "state=resolved");
    REQUIRE(none.ok());
    CHECK((*none)["alerts"].empty());
    for (const char* bad : {"state=open", "hospital=a/b", "limit=0", "limit=x", "colour=red", "state=firing&state=resolved"}) {
        auto r = alerts_page(*b.store, bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "alerts.bad_query");
        CHECK(r.error().message.find("expected") != std::string::npos);
    }
}

TEST_CASE("alerts: a burst of pokes (a fleet's heartbeats) costs one round per poke gap, not one per poke") {
    std::string dir = test::make_temp_dir("hisgate-alerts-pokes");
    ManualClock clock;
    auto store = open_sqlite_alert_store(dir + "/results.db", clock);
    REQUIRE(store.ok());
    std::atomic<int> rounds{0};
    AlertEngine engine(
        **store, [&]() -> Result<std::vector<FleetRecord>> { return (++rounds, std::vector<FleetRecord>{}); },
        ProtocolWindow{1, 1}, AlertThresholds{}, clock);
    engine.start(10s);
    REQUIRE(clock.await_waiters(1));
    engine.poke();  // the first poke after a quiet time: a round at once
    REQUIRE(test::eventually([&] { return rounds == 1; }));
    for (int i = 0; i < 500; ++i) engine.poke();
    // The engine now waits out the gap on the manual clock: no round however long real time runs.
    REQUIRE(clock.await_waiters(1));
    std::this_thread::sleep_for(100ms);
    CHECK(rounds == 1);
    clock.advance(AlertEngine::kPokeGap);
    REQUIRE(test::eventually([&] { return rounds == 2; }));
    REQUIRE(clock.await_waiters(1));
    std::this_thread::sleep_for(100ms);
    CHECK(rounds == 2);  // the 500 pokes shared that one round
    engine.stop();
    std::system(("rm -rf " + dir).c_str());
}
