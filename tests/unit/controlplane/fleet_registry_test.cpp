// Liveness of the fleet registry (issue 13 items 1 and 3, "Bad input"): the birth/will pair
// with a session counter in both (Sparkplug's bdSeq), stale, repeated, out-of-order,
// forged and birthless presence, the version window; on a real SQLite file, time from a
// ManualClock.
#include <catch2/catch.hpp>

#include "common/metrics.h"
#include "controlplane/hospital_registry.h"
#include "release/install_report.h"
#include "tests/support/process.h"
#include "transport/envelope.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace hisgate::controlplane;
using namespace std::chrono_literals;

namespace {
struct Registry {
    std::string dir = test::make_temp_dir("hisgate-fleet-registry");
    ManualClock clock;
    ProtocolWindow window{1, 1};
    std::unique_ptr<FleetStore> store;
    std::unique_ptr<HospitalRegistry> registry;
    std::vector<std::string> refused;
    Registry() { reopen(); }
    ~Registry() { std::system(("rm -rf " + dir).c_str()); }
    void reopen() {
        registry.reset();
        store.reset();
        auto s = open_sqlite_fleet_store(dir + "/fleet.db");
        REQUIRE(s.ok());
        store = std::move(s.value());
        auto r = HospitalRegistry::open(*store, clock, window);
        REQUIRE(r.ok());
        registry = std::move(r.value());
        registry->on_incompatible([this](const FleetRecord& a) { refused.push_back(a.hospital_id); });
    }
    Result<void> state(const std::string& hid, nlohmann::json body, bool retained = false,
                       const std::string& envelope_hospital = "") {
        IncomingMessage m;
        m.topic = topics::state(hid);
        m.payload = Envelope::make("state", envelope_hospital.empty() ? hid : envelope_hospital, std::move(body)).to_json();
        m.retained = retained;
        return registry->apply_state(m);
    }
    static nlohmann::json birth(int64_t session, int64_t seq, int pmin = 1, int pmax = 1) {
        return {{"online", true},          {"session", session}, {"seq", seq},
                {"name", "South General"}, {"region", "south"},  {"version", "0.9.0"},
                {"adapter", "hl7v2"},      {"paramsHash", "p1"}, {"protocol", {{"min", pmin}, {"max", pmax}}},
                {"capabilities", nlohmann::json::array()}};
    }
    static nlohmann::json heartbeat(int64_t session, int64_t seq, int depth = 0) {
        auto b = birth(session, seq);
        b["heartbeatAt"] = "2026-01-05T00:00:00.000Z";
        b["queue"] = {{"depth", depth}};
        return b;
    }
    static nlohmann::json will(int64_t session, int64_t seq) {
        auto b = birth(session, seq);
        b["online"] = false;
        return b;
    }
    FleetRecord rec(const std::string& hid) {
        auto r = registry->record(hid);
        REQUIRE(r.has_value());
        return *r;
    }
};

double rejected(const char* kind) {
    return metrics::global()
        .counter("hisgate_rejected_messages_total", "Messages rejected as malformed or misaddressed", {{"kind", kind}})
        .value();
}
}  // namespace

TEST_CASE("fleet liveness: a will of an older session after a newer birth leaves the agent online") {
    Registry r;
    REQUIRE(r.state("H001", Registry::birth(1, 1)).ok());
    r.clock.advance(10s);
    REQUIRE(r.state("H001", Registry::birth(2, 5)).ok());  // reconnected: a new session
    const int64_t online_since = r.rec("H001").since_ms;
    double before = rejected("state_stale");
    r.clock.advance(10s);
    auto late = r.state("H001", Registry::will(1, 1));  // the broker's will of the first connection, late
    REQUIRE_FALSE(late.ok());
    CHECK(late.error().code == "state.stale_session");
    CHECK(rejected("state_stale") == before + 1);
    auto h = r.rec("H001");
    CHECK(h.online);
    CHECK(h.session == 2);
    CHECK(h.since_ms == online_since);
    // The will of the current session does end it.
    r.clock.advance(10s);
    REQUIRE(r.state("H001", Registry::will(2, 5)).ok());
    CHECK_FALSE(r.rec("H001").online);
    CHECK(r.rec("H001").since_ms == r.clock.wall_ms());
    // ... and an online state of that ended session is no resurrection.
    auto ghost = r.state("H001", Registry::heartbeat(2, 9));
    REQUIRE_FALSE(ghost.ok());
    CHECK(ghost.error().code == "state.session_ended");
    CHECK_FALSE(r.rec("H001").online);
}

TEST_CASE("fleet liveness: since and last heartbeat are the registry's clock") {
    Registry r;
    REQUIRE(r.state("H001", Registry::birth(1, 1)).ok());
    auto born = r.rec("H001");
    CHECK(born.online);
    CHECK(born.since_ms == r.clock.wall_ms());
    CHECK(born.first_seen_ms == r.clock.wall_ms());
    CHECK(born.last_heartbeat_ms == 0);
    r.clock.advance(30s);
    REQUIRE(r.state("H001", Registry::heartbeat(1, 2, 7)).ok());
    auto beat = r.rec("H001");
    CHECK(beat.last_heartbeat_ms == r.clock.wall_ms());
    CHECK(beat.since_ms == born.since_ms);  // still online since the birth
    CHECK(beat.body["queue"]["depth"] == 7);
    CHECK(beat.name == "South General");
    CHECK(beat.region == "south");
    CHECK(beat.dialect == "hl7v2");
    CHECK(beat.version == "0.9.0");
}

TEST_CASE("fleet liveness: repeated and out-of-order state of a session are ignored and counted") {
    Registry r;
    REQUIRE(r.state("H001", Registry::birth(3, 1)).ok());
    REQUIRE(r.state("H001", Registry::heartbeat(3, 3, 5)).ok());
    double before = rejected("state_stale");
    auto again = r.state("H001", Registry::heartbeat(3, 3, 9));
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == "state.stale_seq");
    auto older = r.state("H001", Registry::heartbeat(3, 2, 9));
    REQUIRE_FALSE(older.ok());
    CHECK(rejected("state_stale") == before + 2);
    CHECK(r.rec("H001").body["queue"]["depth"] == 5);
    // The broker's retained copy of what is held, handed over again at a resubscription: no news, no count.
    REQUIRE(r.state("H001", Registry::heartbeat(3, 3, 5), true).ok());
    CHECK(rejected("state_stale") == before + 2);
}

TEST_CASE("fleet liveness: a heartbeat with no birth on record is rejected, unless it is the broker's retained state") {
    Registry r;
    double before = rejected("heartbeat_unknown");
    auto stray = r.state("H009", Registry::heartbeat(4, 2));
    REQUIRE_FALSE(stray.ok());
    CHECK(stray.error().code == "state.no_birth");
    CHECK(rejected("heartbeat_unknown") == before + 1);
    CHECK_FALSE(r.registry->record("H009").has_value());
    // A heartbeat of a session newer than the birth held is as birthless.
    REQUIRE(r.state("H001", Registry::birth(1, 1)).ok());
    REQUIRE_FALSE(r.state("H001", Registry::heartbeat(2, 2)).ok());
    CHECK(rejected("heartbeat_unknown") == before + 2);
    CHECK(r.rec("H001").session == 1);
    // The retained state a new subscription receives is the agent's current state.
    REQUIRE(r.state("H009", Registry::heartbeat(4, 2), true).ok());
    CHECK(r.rec("H009").online);
}

TEST_CASE("fleet liveness: forged and unreadable presence change nothing") {
    Registry r;
    REQUIRE(r.state("H001", Registry::birth(1, 1)).ok());
    double before = rejected("state");
    auto forged = r.state("H001", Registry::will(9, 9), false, "H002");
    REQUIRE_FALSE(forged.ok());
    CHECK(forged.error().code == "state.foreign_hospital");
    auto bad_session = r.state("H001", {{"online", false}, {"session", "nine"}});
    REQUIRE_FALSE(bad_session.ok());
    auto negative = r.state("H001", {{"online", false}, {"session", -1}});
    REQUIRE_FALSE(negative.ok());
    auto huge_name = Registry::birth(5, 1);
    huge_name["name"] = std::string(5000, 'x');
    REQUIRE_FALSE(r.state("H001", huge_name).ok());
    CHECK(rejected("state") == before + 4);
    CHECK(r.rec("H001").online);
    CHECK(r.rec("H001").session == 1);
    CHECK_FALSE(r.registry->record("H002").has_value());
}

TEST_CASE("fleet liveness: a restarted registry knows every hospital and its session") {
    Registry r;
    REQUIRE(r.state("H001", Registry::birth(1, 1)).ok());
    REQUIRE(r.state("H002", Registry::birth(4, 1)).ok());
    r.clock.advance(5s);
    REQUIRE(r.state("H002", Registry::will(4, 1)).ok());
    const int64_t offline_since = r.clock.wall_ms();
    r.reopen();
    auto h2 = r.rec("H002");
    CHECK_FALSE(h2.online);
    CHECK(h2.since_ms == offline_since);
    CHECK(h2.name == "South General");
    CHECK(r.rec("H001").online);
    // The session survives too: the old will still loses to the birth held.
    REQUIRE_FALSE(r.state("H002", Registry::birth(3, 9)).ok());
}

TEST_CASE("version window: an agent whose range misses the window is incompatible and refused once per session") {
    Registry r;
    REQUIRE(r.state("H001", Registry::birth(1, 1, 0, 1)).ok());  // old, but speaks 1 too
    REQUIRE(r.state("H002", Registry::birth(1, 1, 0, 0)).ok());  // too old
    auto h1 = r.registry->find("H001");
    auto h2 = r.registry->find("H002");
    REQUIRE(h1);
    REQUIRE(h2);
    CHECK(h1->compatible);
    CHECK_FALSE(h2->compatible);
    CHECK(h2->online);
    CHECK(r.rec("H002").state(r.window) == "incompatible");
    CHECK(r.rec("H001").state(r.window) == "online");
    CHECK(r.refused == std::vector<std::string>{"H002"});
    REQUIRE(r.state("H002", Registry::heartbeat(1, 2)).ok());
    CHECK(r.refused.size() == 1);  // heartbeats do not repeat it
    REQUIRE(r.state("H002", Registry::birth(2, 3, 0, 0)).ok());
    CHECK(r.refused.size() == 2);  // a new connection hears it again
    FleetQuery q;
    q.state = FleetStateFilter::Incompatible;
    auto found = r.registry->list(q);
    REQUIRE(found.ok());
    REQUIRE(found->size() == 1);
    CHECK(found->front().hospital_id == "H002");
}

// The ledger's held attempts go when the registry sees an agent come back (docs/ledger.md,
// "An absent agent"): told once per return, after the new state is stored, never for a
// heartbeat, a repeat, a stale will or an incompatible agent.
TEST_CASE("fleet liveness: on_back tells of an agent's birth in a newer session, once, with the registry already saying online") {
    Registry r;
    std::vector<std::string> back;
    bool online_when_told = false;
    r.registry->on_back([&](const std::string& hid) {
        back.push_back(hid);
        auto h = r.registry->find(hid);
        online_when_told = h && h->online;
    });
    REQUIRE(r.state("H001", Registry::birth(1, 1)).ok());
    CHECK(back == std::vector<std::string>{"H001"});
    CHECK(online_when_told);
    REQUIRE(r.state("H001", Registry::heartbeat(1, 2)).ok());
    REQUIRE(r.state("H001", Registry::birth(1, 2), true).ok());  // the broker's retained copy again
    CHECK(back.size() == 1);
    REQUIRE(r.state("H001", Registry::will(1, 3)).ok());
    CHECK(back.size() == 1);
    CHECK_FALSE(r.state("H001", Registry::will(0, 9)).ok());  // stale: nothing
    REQUIRE(r.state("H001", Registry::birth(2, 1)).ok());     // back, a newer session
    CHECK(back.size() == 2);
    CHECK(online_when_told);
    // A restart with no will between (the broker had not noticed): a newer session is a return too.
    REQUIRE(r.state("H001", Registry::birth(3, 1)).ok());
    CHECK(back.size() == 3);
    // An agent outside the version window is refused, not woken for.
    REQUIRE(r.state("H002", Registry::birth(1, 1, 5, 6)).ok());
    CHECK(back.size() == 3);
    CHECK(r.refused == std::vector<std::string>{"H002"});
}

TEST_CASE("fleet lastInstall: kept as read, and one out of bounds is dropped and counted while the rest applies") {
    Registry r;
    auto good = Registry::birth(1, 1);
    good["lastInstall"] = {{"from", "1.5.0"},
                           {"to", "1.6.0"},
                           {"ok", false},
                           {"rolledBack", true},
                           {"at", "2026-12-07T16:00:00Z"},
                           {"error", {{"code", "updater.unhealthy"}, {"message", "no good /metrics poll in 8 s"}}},
                           {"surplus", "dropped"}};
    REQUIRE(r.state("H001", good).ok());
    auto kept = r.rec("H001").body.at("lastInstall");
    CHECK(kept["to"] == "1.6.0");
    CHECK(kept["rolledBack"] == true);
    CHECK(kept["error"]["code"] == "updater.unhealthy");
    CHECK_FALSE(kept.contains("surplus"));
    // It survives a restart of the control plane (the store keeps the body).
    r.reopen();
    CHECK(r.rec("H001").body.at("lastInstall")["at"] == "2026-12-07T16:00:00Z");

    const double before = rejected("last_install"), state_before = rejected("state");
    int seq = 2;
    auto with = [&](nlohmann::json li) {
        auto hb = Registry::heartbeat(1, seq++);
        hb["lastInstall"] = std::move(li);
        return hb;
    };
    auto long_message = kept;
    long_message["error"]["message"] = std::string(release::kMaxInstallMessageBytes + 1, 'x');
    auto long_code = kept;
    long_code["error"]["code"] = std::string(release::kMaxInstallCodeBytes + 1, 'c');
    auto not_version = kept;
    not_version["to"] = "latest";
    auto bad_time = kept;
    bad_time["at"] = "yesterday";
    auto no_flag = kept;
    no_flag.erase("rolledBack");
    auto string_ok = kept;
    string_ok["ok"] = "false";
    for (const auto& bad : {nlohmann::json("rolled back"), nlohmann::json::array(), long_message, long_code, not_version,
                            bad_time, no_flag, string_ok}) {
        INFO(bad.dump());
        REQUIRE(r.state("H001", with(bad)).ok());  // the heartbeat itself applies
        auto rec = r.rec("H001");
        CHECK(rec.seq == seq - 1);
        CHECK_FALSE(rec.body.contains("lastInstall"));
    }
    CHECK(rejected("last_install") == before + 8);
    CHECK(rejected("state") == state_before);
    // A good one again is kept again.
    REQUIRE(r.state("H001", with(kept)).ok());
    CHECK(r.rec("H001").body.at("lastInstall") == kept);
}

TEST_CASE("fleet lastInstall: the agent's reading of the updater's result file is bounded and all or nothing") {
    const nlohmann::json result = {{"ok", false},
                                   {"rolled_back", true},
                                   {"from", "1.5.0"},
                                   {"to", "1.6.0"},
                                   {"running", "1.5.0"},
                                   {"package", "delta"},
                                   {"downtime_ms", -1},
                                   {"at", "2026-12-07T16:00:00Z"},
                                   {"error", {{"class", "unavailable"}, {"code", "updater.unhealthy"}, {"message", "no good poll"}}}};
    auto read = release::install_report_from_updater_result(result.dump(2));
    REQUIRE(read);
    CHECK(read->to_json() == nlohmann::json{{"from", "1.5.0"},
                                            {"to", "1.6.0"},
                                            {"ok", false},
                                            {"rolledBack", true},
                                            {"at", "2026-12-07T16:00:00Z"},
                                            {"error", {{"code", "updater.unhealthy"}, {"message", "no good poll"}}}});
    // A long message is cut to the bound, never inside a UTF-8 sequence ("é" is 2 bytes).
    auto wordy = result;
    wordy["error"]["message"] = "x" + [] {
        std::string s;
        for (int i = 0; i < 300; ++i) s += "\xc3\xa9";
        return s;
    }();
    auto cut = release::install_report_from_updater_result(wordy.dump());
    REQUIRE(cut);
    CHECK(cut->error_message.size() == release::kMaxInstallMessageBytes - 1);  // "x" then 99 whole "é"
    CHECK_NOTHROW(cut->to_json().dump());
    CHECK(release::read_install_report(cut->to_json()));
    // Refused whole: not JSON, over 4 KiB, a field missing or out of bounds.
    auto padded = result;
    padded["package"] = std::string(release::kMaxUpdaterResultBytes, ' ');
    auto no_to = result;
    no_to.erase("to");
    auto long_from = result;
    long_from["from"] = std::string(release::kMaxInstallVersionBytes + 1, '1');
    for (const std::string& bad : {std::string("{\"ok\": tru"), std::string(""), padded.dump(), no_to.dump(), long_from.dump()}) {
        INFO(bad.substr(0, 80));
        CHECK_FALSE(release::install_report_from_updater_result(bad));
    }
}
