// The rollouts' wave engine (issue 16 items 5 and 6) on a real SQLite file, time stepped by
// a ManualClock: the fleet is given as registry records the test moves (an agent "upgrades"
// by a new session at the new version with a heartbeat), releases and their catalogs are
// a fake repository, and the tasks sent are recorded instead of routed.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/digest.h"
#include "config-params/catalog.h"
#include "controlplane/rollout/rollout_engine.h"
#include "release/install_report.h"
#include "release/signed_document.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane;
using namespace hisgate::controlplane::rollout;
using namespace std::chrono_literals;

namespace {
// Releases 1.0.0 .. 1.9.0 and 2.0.0; 2.0.0's catalog narrows his.max_attempts to 1..3 (a
// breaking change); every other release ships this build's catalog.
class RolloutFakeReleases final : public ReleaseSource {
public:
    explicit RolloutFakeReleases(const std::string& dir) {
        auto builtin = params::Catalog::builtin();
        REQUIRE(builtin);
        same_ = std::make_shared<const params::Catalog>(*builtin);
        auto doc = builtin->to_json();
        for (auto& p : doc["parameters"])
            if (p["name"] == "his.max_attempts") p["max"] = 3;
        test::write_file(dir + "/narrow-catalog.json", doc.dump());
        auto narrow = params::Catalog::load(dir + "/narrow-catalog.json");
        REQUIRE(narrow);
        narrow_ = std::make_shared<const params::Catalog>(*narrow);
        for (const char* v : {"2.0.0", "1.9.0", "1.8.0", "1.7.0", "1.6.0", "1.5.0", "1.4.0", "1.3.0", "1.2.0", "1.1.0", "1.0.0"})
            versions_.push_back(*release::parse_version(v));
    }
    std::vector<release::ReleaseVersion> published() override { return versions_; }
    Result<std::shared_ptr<const params::Catalog>> catalog(const std::string& version) override {
        if (auto v = release::parse_version(version);
            !v || std::find(versions_.begin(), versions_.end(), *v) == versions_.end())
            return make_error(ErrorClass::NotFound, "release.not_found", "not published: " + version);
        return version == "2.0.0" ? narrow_ : same_;
    }

private:
    std::vector<release::ReleaseVersion> versions_;
    std::shared_ptr<const params::Catalog> same_, narrow_;
};

struct SentTask {
    std::string hospital_id, type;
    nlohmann::json body;
};

struct RolloutBench {
    std::string dir = test::make_temp_dir("hisgate-rollout");
    ManualClock clock;
    std::unique_ptr<RolloutStore> store;
    std::unique_ptr<RolloutFakeReleases> releases;
    std::map<std::string, FleetRecord> fleet;
    std::vector<SentTask> sent;
    std::map<std::string, nlohmann::json> params_files;  // params.get's answers, by hospital
    std::unique_ptr<RolloutEngine> engine;

    explicit RolloutBench(int hospitals, const std::string& version = "1.8.0") {
        releases = std::make_unique<RolloutFakeReleases>(dir);
        for (int i = 0; i < hospitals; ++i) {
            char id[16];
            std::snprintf(id, sizeof id, "H%03d", i);
            FleetRecord r;
            r.hospital_id = id;
            r.region = i % 2 ? "north" : "south";
            r.dialect = "hl7v2-mllp";
            r.online = true;
            r.version = version;
            r.protocol_min = r.protocol_max = 1;
            r.session = 100;
            r.params_hash = "hash-" + std::string(id);
            r.updated_ms = r.last_heartbeat_ms = clock.wall_ms();
            fleet[id] = r;
        }
        reopen();
    }
    ~RolloutBench() {
        engine.reset();
        store.reset();
        std::system(("rm -rf " + dir).c_str());
    }
    void reopen() {
        engine.reset();
        store.reset();
        auto opened = open_sqlite_rollout_store(dir + "/results.db");
        REQUIRE(opened);
        store = std::move(opened.value());
        EngineSettings settings;
        settings.manifest_base_url = [] { return std::string("http://cp.example:8080"); };
        engine = std::make_unique<RolloutEngine>(
            *store,
            [this]() -> Result<std::vector<FleetRecord>> {
                std::vector<FleetRecord> out;
                for (const auto& [id, r] : fleet) out.push_back(r);
                return out;
            },
            *releases,
            [this](const std::string& hospital_id, const std::string& type, const nlohmann::json& body, TaskDone done) {
                sent.push_back({hospital_id, type, body});
                if (type == "params.get") {
                    auto file = params_files.find(hospital_id);
                    if (file == params_files.end())
                        return done("t", make_error(ErrorClass::BadInput, "request.unsupported", "no params.get"));
                    return done("t", nlohmann::json{{"params", file->second}});
                }
                done("t", nlohmann::json{{"accepted", true}});
            },
            clock, settings);
    }
    // The agent restarted at `version` (a new session) and sent a heartbeat, probes as given.
    void report(const std::string& id, const std::string& version, bool probes_pass = true) {
        auto& r = fleet.at(id);
        r.session += 1;
        r.version = version;
        r.online = true;
        r.updated_ms = r.last_heartbeat_ms = clock.wall_ms();
        r.body["probes"] = {{"report.get", {{"outcome", probes_pass ? "ok" : "failed"}}}};
    }
    std::vector<std::string> installs_sent() const {
        std::vector<std::string> out;
        for (const auto& s : sent)
            if (s.type == "release.install") out.push_back(s.hospital_id);
        return out;
    }
    Rollout now(const std::string& id) {
        auto r = engine->get(id);
        REQUIRE(r);
        return *r;
    }
    void tick() { REQUIRE(engine->tick()); }
};

RolloutSpec rollout_spec(const std::string& release, const std::string& waves = "1%,10%,50%,100%",
                         const std::string& max_failure = "5%") {
    // No soak: these cases judge a target in the round that first finds it healthy (the
    // soak has its own case).
    auto spec = spec_from_json(
        {{"release", release}, {"waves", waves}, {"maxFailure", max_failure}, {"waveTimeout", "10m"}, {"soak", "0s"}});
    REQUIRE(spec);
    return *spec;
}
}  // namespace

TEST_CASE("rollout: the spec's waves percentages durations and selector are read and bad ones refused") {
    auto waves = parse_waves("1%,10%,50%,100%");
    REQUIRE(waves);
    CHECK(*waves == std::vector<int>{100, 1000, 5000, 10000});
    CHECK(parse_waves("0.5%,100%").value() == std::vector<int>{50, 10000});
    for (const char* bad : {"", "10%,5%,100%", "1%,50%", "0%,100%", "1,100%", "101%", "1.234%,100%", "10%,10%,100%"})
        CHECK(parse_waves(bad).error().code == "rollout.bad_spec");
    CHECK(parse_percent_bp("5%", "maxFailure").value() == 500);
    CHECK(parse_percent_bp("0%", "maxFailure").value() == 0);
    CHECK(parse_duration_ms("30m", "waveTimeout").value() == 1800000);
    CHECK(parse_duration_ms("90s", "waveTimeout").value() == 90000);
    CHECK_FALSE(parse_duration_ms("10x", "waveTimeout"));
    CHECK_FALSE(parse_duration_ms("10ms", "waveTimeout"));  // below 1 s
    auto sel = parse_selector("region=south,dialect=hl7v2-mllp");
    REQUIRE(sel);
    CHECK(sel->region == "south");
    CHECK(sel->dialect == "hl7v2-mllp");
    CHECK_FALSE(parse_selector("colour=red"));
    CHECK_FALSE(parse_selector("region=a b"));
    CHECK_FALSE(spec_from_json({{"release", "1.2"}}));
    CHECK_FALSE(spec_from_json({{"release", "1.2.0"}, {"surprise", 1}}));
    CHECK_FALSE(spec_from_json({{"release", "1.2.0"}, {"canaries", {"../x"}}}));
    // The soak: 5 min by default, half the wave timeout when that is shorter; never as long.
    CHECK(spec_from_json({{"release", "1.2.0"}})->soak_ms == 300000);
    CHECK(spec_from_json({{"release", "1.2.0"}, {"waveTimeout", "4m"}})->soak_ms == 120000);
    CHECK(spec_from_json({{"release", "1.2.0"}, {"soak", "0s"}})->soak_ms == 0);
    CHECK(spec_from_json({{"release", "1.2.0"}, {"waveTimeout", "2m"}, {"soak", "2m"}}).error().code == "rollout.bad_spec");
    CHECK(spec_from_json({{"release", "1.2.0"}, {"soak", "-1s"}}).error().code == "rollout.bad_spec");
    CHECK(spec_from_json({{"release", "1.2.0"}, {"soak", 30}}).error().code == "rollout.bad_spec");
    // Stored forms read back as stored: without soakMs (before soaks), no soak.
    auto stored = spec_from_json({{"release", "1.2.0"}, {"soak", "90s"}})->to_json();
    CHECK(spec_from_json(stored)->soak_ms == 90000);
    stored.erase("soakMs");
    CHECK(spec_from_json(stored)->soak_ms == 0);
}

TEST_CASE("rollout: a target counts only after staying healthy for the soak, which restarts on a bad round") {
    RolloutBench b(2);
    auto spec = spec_from_json({{"release", "1.9.0"}, {"waves", "50%,100%"}, {"waveTimeout", "10m"}, {"soak", "2m"}});
    REQUIRE(spec);
    auto r = b.engine->start(*spec, "operator:ops");
    REQUIRE(r);
    b.tick();
    REQUIRE(b.installs_sent().size() == 1);
    const std::string canary = b.installs_sent()[0];
    b.clock.advance(5s);
    b.report(canary, "1.9.0");
    b.tick();
    CHECK(b.now(r->id).targets[0].healthy_since_ms == b.clock.wall_ms());
    b.clock.advance(90s);
    b.tick();
    CHECK(b.now(r->id).figures(0).installing == 1);  // healthy 90 s of 120: not yet
    // A failing probe 90 s in: the soak starts again at the next healthy round.
    b.fleet.at(canary).body["probes"]["report.get"]["outcome"] = "failed";
    b.tick();
    CHECK(b.now(r->id).targets[0].healthy_since_ms == 0);
    b.clock.advance(10s);
    b.fleet.at(canary).body["probes"]["report.get"]["outcome"] = "ok";
    b.fleet.at(canary).last_heartbeat_ms = b.clock.wall_ms();
    b.tick();
    const int64_t again = b.clock.wall_ms();
    CHECK(b.now(r->id).targets[0].healthy_since_ms == again);
    // Across a restart the soak goes on from where it was.
    b.reopen();
    b.clock.advance(119s);
    b.tick();
    CHECK(b.now(r->id).figures(0).installing == 1);
    CHECK(b.installs_sent().size() == 1);  // the next wave waits for the soak
    b.clock.advance(1s);
    b.tick();
    auto judged = b.now(r->id);
    CHECK(judged.targets[0].state == TargetState::Succeeded);
    CHECK(judged.targets[0].reason == "at 1.9.0, probes passing for 120 s");
    CHECK(b.installs_sent().size() == 2);
    // The second target goes offline half way through its soak and is not back by the
    // deadline: failed, with why.
    const std::string second = b.installs_sent()[1];
    b.clock.advance(5s);
    b.report(second, "1.9.0");
    b.tick();
    b.clock.advance(60s);
    b.tick();
    b.fleet.at(second).online = false;
    b.clock.advance(10min);
    b.tick();
    auto done = b.now(r->id);
    CHECK(done.targets[1].state == TargetState::Failed);
    CHECK(done.targets[1].reason == "offline at the wave's deadline");
}

TEST_CASE("rollout: four waves in order and each starts only when the previous one is judged") {
    RolloutBench b(100);
    auto started = b.engine->start(rollout_spec("1.9.0"), "operator:ops");
    REQUIRE(started);
    REQUIRE(started->targets.size() == 100);
    // Deterministic order: the same fleet and release give the same waves.
    auto again = b.engine->start(rollout_spec("1.9.0"), "operator:ops");
    REQUIRE(again);
    for (size_t i = 0; i < 100; ++i) CHECK(again->targets[i].hospital_id == started->targets[i].hospital_id);
    REQUIRE(b.engine->abort(again->id, "operator:ops"));
    // The second rollout superseded the first for every hospital: start over with a fresh one.
    auto r = b.engine->start(rollout_spec("1.9.0"), "operator:ops");
    REQUIRE(r);
    const std::string id = r->id;
    const int sizes[] = {1, 9, 40, 50};
    size_t seen = 0;
    for (int wave = 0; wave < 4; ++wave) {
        b.tick();
        auto installs = b.installs_sent();
        REQUIRE(installs.size() == seen + static_cast<size_t>(sizes[wave]));
        for (size_t i = seen; i < installs.size(); ++i) {
            const auto& body = b.sent[b.sent.size() - installs.size() + i].body;
            CHECK(body["version"] == "1.9.0");
            CHECK(body["manifest_url"] == "http://cp.example:8080/api/v1/releases/1.9.0/manifest");
        }
        b.tick();  // nothing reported: the next wave waits
        CHECK(b.installs_sent().size() == installs.size());
        CHECK(b.now(id).current_wave == wave);
        b.clock.advance(5s);
        for (size_t i = seen; i < installs.size(); ++i) b.report(installs[i], "1.9.0");
        seen = installs.size();
    }
    b.tick();
    auto done = b.now(id);
    CHECK(done.state == RolloutState::Done);
    CHECK(done.figures(-1).succeeded == 100);
}

TEST_CASE("rollout: a task answered accepted is not a success and a silent canary fails at its deadline and halts the rollout") {
    RolloutBench b(100);
    auto r = b.engine->start(rollout_spec("1.9.0"), "operator:ops");
    REQUIRE(r);
    b.tick();
    REQUIRE(b.installs_sent().size() == 1);  // the canary, answered {"accepted": true}
    const std::string canary = b.installs_sent()[0];
    b.clock.advance(9min);
    b.tick();
    CHECK(b.now(r->id).state == RolloutState::Running);
    CHECK(b.now(r->id).figures(0).installing == 1);
    b.clock.advance(2min);
    b.tick();
    auto halted = b.now(r->id);
    CHECK(halted.state == RolloutState::Halted);
    CHECK(halted.halt_reason.find(canary) != std::string::npos);
    CHECK(halted.halt_reason.find("silent") != std::string::npos);
    CHECK(b.installs_sent().size() == 1);  // the bad build never reached the second wave
    b.tick();
    CHECK(b.installs_sent().size() == 1);
    CHECK_FALSE(b.engine->resume(r->id, "operator:ops"));  // final: a new rollout is needed
}

TEST_CASE("rollout: failing probes and a rollback are failures and the threshold halts mid-wave") {
    RolloutBench b(40);
    auto r = b.engine->start(rollout_spec("1.9.0", "5%,100%", "10%"), "operator:ops");
    REQUIRE(r);
    b.tick();
    auto canaries = b.installs_sent();
    REQUIRE(canaries.size() == 2);
    b.clock.advance(1s);
    for (const auto& h : canaries) b.report(h, "1.9.0");
    b.tick();
    b.tick();  // the second wave: 38 hospitals
    auto all = b.installs_sent();
    REQUIRE(all.size() == 40);
    b.clock.advance(1s);
    // Three come back with a failing probe (not yet failed: they may recover before the
    // deadline), two come back at the new version and then at the old one (rolled back).
    for (int i = 2; i < 5; ++i) b.report(all[static_cast<size_t>(i)], "1.9.0", false);
    for (int i = 5; i < 7; ++i) b.report(all[static_cast<size_t>(i)], "1.9.0", false);
    b.tick();
    CHECK(b.now(r->id).failed() == 0);
    b.clock.advance(1s);
    for (int i = 5; i < 7; ++i) b.report(all[static_cast<size_t>(i)], "1.8.0");
    b.tick();
    auto two = b.now(r->id);
    CHECK(two.failed() == 2);
    CHECK(two.state == RolloutState::Running);  // 2 of 40 is 5%, within 10%
    b.clock.advance(10min);
    for (int i = 7; i < 40; ++i) b.report(all[static_cast<size_t>(i)], "1.9.0");
    b.tick();
    auto halted = b.now(r->id);
    CHECK(halted.failed() == 5);  // the three with failing probes, at the deadline
    CHECK(halted.state == RolloutState::Halted);
    CHECK(halted.halt_reason.find("probes failing") != std::string::npos);
    CHECK(halted.halt_reason.find("rolled back") != std::string::npos);
}

TEST_CASE("rollout: a target whose updater reports it rolled the release back fails at once with the updater's reason") {
    RolloutBench b(100);
    auto r = b.engine->start(rollout_spec("1.9.0"), "operator:ops");
    REQUIRE(r);
    b.clock.advance(1500ms);  // the install goes out mid-second: `at` has whole seconds
    b.tick();
    REQUIRE(b.installs_sent().size() == 1);
    const std::string canary = b.installs_sent()[0];
    auto last_install = [&](const std::string& to, bool rolled_back, int64_t at_ms) {
        release::InstallReport li;
        li.from = "1.8.0";
        li.to = to;
        li.rolled_back = rolled_back;
        li.ok = !rolled_back;
        li.at = release::format_time(std::chrono::system_clock::time_point(std::chrono::milliseconds(at_ms)));
        if (rolled_back) {
            li.error_code = "updater.unhealthy";
            li.error_message = "no good /metrics poll within 8000 ms";
        }
        return li.to_json();
    };
    const int64_t sent_ms = b.clock.wall_ms();
    // Not this install's: an earlier attempt's rollback, another release's, a good install.
    for (const auto& other : {last_install("1.9.0", true, sent_ms - 2000), last_install("1.7.0", true, sent_ms + 5000),
                              last_install("1.9.0", false, sent_ms + 5000)}) {
        INFO(other.dump());
        b.clock.advance(1s);
        b.report(canary, "1.8.0");
        b.fleet.at(canary).body["lastInstall"] = other;
        b.tick();
        CHECK(b.now(r->id).state == RolloutState::Running);
        CHECK(b.now(r->id).failed() == 0);
    }
    // Rolled back in the same second the install was sent (the updater's clock is whole
    // seconds), back at the old version: failed now, minutes before the wave's deadline.
    b.clock.advance(1s);
    b.report(canary, "1.8.0");
    b.fleet.at(canary).body["lastInstall"] = last_install("1.9.0", true, sent_ms - sent_ms % 1000);
    b.tick();
    auto halted = b.now(r->id);
    CHECK(halted.state == RolloutState::Halted);
    CHECK(halted.failed() == 1);
    CHECK(b.clock.wall_ms() - sent_ms < 10000);
    CHECK(halted.halt_reason.find(canary + ": rolled back by its updater: updater.unhealthy: no good /metrics poll within 8000 ms") !=
          std::string::npos);
    CHECK(b.installs_sent().size() == 1);
}

TEST_CASE("rollout: pause holds the next wave and resume starts it and abort ends the rollout") {
    RolloutBench b(20);
    auto r = b.engine->start(rollout_spec("1.9.0", "10%,100%"), "operator:ops");
    REQUIRE(r);
    b.tick();
    auto first = b.installs_sent();
    REQUIRE(first.size() == 2);
    REQUIRE(b.engine->pause(r->id, "operator:ops"));
    b.clock.advance(1s);
    for (const auto& h : first) b.report(h, "1.9.0");
    b.tick();
    b.tick();
    auto paused = b.now(r->id);
    CHECK(paused.state == RolloutState::Paused);
    CHECK(paused.figures(0).succeeded == 2);  // judging goes on while paused
    CHECK(b.installs_sent().size() == 2);
    REQUIRE(b.engine->resume(r->id, "operator:ops"));
    b.tick();
    CHECK(b.installs_sent().size() == 20);
    auto aborted = b.engine->abort(r->id, "admin:boss");
    REQUIRE(aborted);
    CHECK(aborted->state == RolloutState::Aborted);
    CHECK(aborted->halt_reason == "aborted by admin:boss");
    b.tick();
    CHECK(b.now(r->id).state == RolloutState::Aborted);
    CHECK(b.engine->pause("r-nope", "operator:ops").error().code == "rollout.not_found");
}

TEST_CASE("rollout: a halted rollout never blocks a newer one which supersedes it for its hospitals") {
    RolloutBench b(10);
    auto bad = b.engine->start(rollout_spec("1.9.0", "10%,100%", "0%"), "operator:ops");
    REQUIRE(bad);
    b.tick();
    b.clock.advance(11min);  // the canary stays silent
    b.tick();
    REQUIRE(b.now(bad->id).state == RolloutState::Halted);
    // The halt is an operator alert, about the rollout, until a newer rollout answers it.
    auto halted_alerts = [&] {
        auto conditions = b.engine->conditions();
        REQUIRE(conditions);
        std::vector<alerts::Condition> out;
        for (const auto& c : *conditions)
            if (c.rule == kHaltedRule) out.push_back(c);
        return out;
    };
    auto alerting = halted_alerts();
    REQUIRE(alerting.size() == 1);
    CHECK(alerting[0].hospital_id.empty());
    CHECK(alerting[0].subject == bad->id);
    CHECK(alerting[0].detail.find("silent") != std::string::npos);
    // A stuck one too: paused with targets in flight.
    auto stuck = b.engine->start(rollout_spec("1.9.0", "100%"), "operator:ops");
    REQUIRE(stuck);
    CHECK(halted_alerts().empty());
    b.tick();
    REQUIRE(b.engine->pause(stuck->id, "operator:ops"));
    const size_t before = b.installs_sent().size();
    auto fixed = b.engine->start(rollout_spec("2.0.0", "100%"), "operator:ops");
    REQUIRE(fixed);
    auto superseded = b.now(stuck->id);
    CHECK(superseded.superseded_by == fixed->id);
    CHECK(superseded.figures(-1).superseded == 10);
    CHECK(superseded.sent() == 0);  // out of its threshold
    b.params_files.clear();
    // 2.0.0 narrows a parameter: every hospital's file is asked for; none serves params.get.
    auto spec = rollout_spec("2.0.0", "100%");
    spec.override_params = {"*"};
    auto forced = b.engine->start(spec, "operator:ops");
    REQUIRE(forced);
    b.tick();
    CHECK(b.installs_sent().size() == before + 10);
    CHECK(b.now(forced->id).figures(-1).installing == 10);
}

TEST_CASE("rollout: a hospital whose parameter file the release breaks is held back with the parameters to fix") {
    RolloutBench b(3);
    std::ifstream in(std::string(HISGATE_SOURCE_DIR) + "/config-params/examples/south-hl7-gb18030.json");
    auto good = nlohmann::json::parse(in);
    auto breaking = good;
    breaking["his"]["max_attempts"] = 5;  // valid today (1..10), not under 2.0.0 (1..3)
    b.params_files["H000"] = good;
    b.params_files["H001"] = breaking;
    // H002 does not serve params.get.
    for (const auto& [id, file] : b.params_files) b.fleet[id].params_hash = sha256_hex(file.dump());
    auto r = b.engine->start(rollout_spec("2.0.0", "100%"), "operator:ops");
    REQUIRE(r);
    b.tick();  // each is asked for its file
    int asked = 0;
    for (const auto& s : b.sent) asked += s.type == "params.get";
    CHECK(asked == 3);
    b.tick();  // the files came (or not): gated
    auto gated = b.now(r->id);
    std::map<std::string, Target> by_id;
    for (const auto& t : gated.targets) by_id[t.hospital_id] = t;
    CHECK(by_id["H000"].state == TargetState::Installing);
    REQUIRE(by_id["H001"].state == TargetState::Held);
    REQUIRE(by_id["H001"].params_problems.size() == 1);
    CHECK(by_id["H001"].params_problems[0]["parameter"] == "his.max_attempts");
    CHECK(by_id["H002"].state == TargetState::Held);
    CHECK(by_id["H002"].reason.find("request.unsupported") != std::string::npos);
    CHECK(by_id["H002"].params_problems[0]["parameter"] == "his.max_attempts");  // what to check
    CHECK(b.installs_sent() == std::vector<std::string>{"H000"});

    // The operator overrides H001: it goes.
    auto spec = rollout_spec("2.0.0", "100%");
    spec.override_params = {"H001"};
    spec.select.version = "1.8.0";
    b.report("H000", "2.0.0");
    auto forced = b.engine->start(spec, "operator:ops");
    REQUIRE(forced);
    b.tick();
    b.tick();
    auto f = b.now(forced->id);
    for (const auto& t : f.targets)
        CHECK(t.state == (t.hospital_id == "H001" ? TargetState::Installing : TargetState::Held));
}

TEST_CASE("rollout: an agent more than five releases behind is refused with an operator alert") {
    RolloutBench b(4, "1.4.0");         // five releases behind 1.9.0: its oldest delta base
    b.fleet["H001"].version = "1.3.0";  // six behind (1.4 .. 1.8 between)
    b.fleet["H002"].version = "1.8.0";
    b.fleet["H003"].version = "garbage";
    auto r = b.engine->start(rollout_spec("1.9.0", "100%"), "operator:ops");
    REQUIRE(r);
    b.tick();
    auto got = b.now(r->id);
    std::map<std::string, Target> by_id;
    for (const auto& t : got.targets) by_id[t.hospital_id] = t;
    CHECK(by_id["H000"].state == TargetState::Installing);  // the edge of the window
    CHECK(by_id["H001"].state == TargetState::Refused);
    CHECK(by_id["H001"].reason.find("outside the window of 5") != std::string::npos);
    CHECK(by_id["H002"].state == TargetState::Installing);
    CHECK(by_id["H003"].state == TargetState::Refused);
    auto conditions = b.engine->conditions();
    REQUIRE(conditions);
    REQUIRE(conditions->size() == 2);
    CHECK((*conditions)[0].rule == kTooOldRule);
    // Upgraded by hand since: the alert resolves.
    b.fleet["H001"].version = "1.5.0";
    b.fleet["H003"].version = "1.5.0";
    CHECK(b.engine->conditions()->empty());
}

TEST_CASE("rollout: a rollout goes on from the store after the control plane restarts") {
    RolloutBench b(10);
    auto r = b.engine->start(rollout_spec("1.9.0", "10%,100%"), "operator:ops");
    REQUIRE(r);
    b.tick();
    REQUIRE(b.installs_sent().size() == 1);
    b.reopen();
    b.clock.advance(1s);
    b.report(b.installs_sent()[0], "1.9.0");
    b.tick();
    b.tick();
    CHECK(b.installs_sent().size() == 10);
    auto listed = b.engine->list(10);
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    CHECK(listed->front().id == r->id);
    CHECK(listed->front().to_json(false)["waves"][1]["installing"] == 9);
}
