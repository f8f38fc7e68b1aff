// Rollouts with real processes (issue 16 item 5): Mosquitto, the control plane serving a
// release repository that `hisgate release` built, signed and published, and light agents
// (tools/agent-swarm) that answer release.install by restarting at the new version after a
// delay, or fail as a broken build does (back at the old version: the updater's
// self-rollback). Asserts what must hold, never how fast: a rollout runs its waves to every
// hospital, judged by the registry; a broken release halts on the canary and goes no further.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "auth/access_token.h"
#include "auth/key_ring.h"
#include "tests/support/swarm_fleet.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
// The fleet's versions by hospital, as the fleet API lists them.
std::map<std::string, std::string> rollout_fleet_versions(test::SwarmFleet& fleet) {
    std::map<std::string, std::string> out;
    auto reply = fleet.get("/api/v1/fleet?limit=1000");
    auto doc = nlohmann::json::parse(reply.body, nullptr, false);
    if (reply.status != 200 || !doc.is_object() || !doc["hospitals"].is_array()) return out;
    for (const auto& h : doc["hospitals"])
        if (h.value("state", "") == "online") out[h.value("hospitalId", "")] = h.value("version", "");
    return out;
}

nlohmann::json rollout_now(test::SwarmFleet& fleet, const std::string& id) {
    auto reply = fleet.get("/api/v1/rollouts/" + id);
    return reply.status == 200 ? nlohmann::json::parse(reply.body, nullptr, false) : nlohmann::json();
}

// 10 light agents at 1.0.0 with releases 1.0.0, 1.1.0 and 1.2.0 published; 1.2.0 is broken
// (its agents come back at the new version with a failing probe, then roll back).
struct RolloutFleet {
    std::string releases = test::make_temp_dir("hisgate-rollout-releases");
    std::unique_ptr<test::SwarmFleet> fleet;
    explicit RolloutFleet(const std::vector<std::string>& versions = {"1.0.0", "1.1.0", "1.2.0"}) {
        test::SwarmFleetOptions o{.agents = 10, .prefix = "R", .heartbeat_interval_ms = 300};
        o.swarm_config = {{"agents", {{"version", "1.0.0"}}},
                          {"release", {{"delay_ms", 300}, {"broken_versions", {"1.2.0"}}, {"broken_mode", "rollback"}}}};
        o.controlplane_config = {{"releases", {{"repo_dir", releases + "/repo"}}}, {"rollouts", {{"interval_ms", 100}}}};
        fleet = std::make_unique<test::SwarmFleet>(o);
        REQUIRE(test::publish_sim_releases(releases, releases + "/repo", versions));
        REQUIRE(fleet->start_broker());
        REQUIRE(fleet->start_controlplane());
        REQUIRE(fleet->start_swarm());
        REQUIRE(test::eventually([&] { return rollout_fleet_versions(*fleet).size() == 10; }, 60s));
    }
    ~RolloutFleet() {
        fleet.reset();
        if (!std::getenv("HISGATE_KEEP_TEST_DIRS")) std::system(("rm -rf " + releases).c_str());
    }
};
}  // namespace

TEST_CASE("rollout: a release goes to 10 light agents through three waves judged by the registry") {
    RolloutFleet setup;
    auto& fleet = setup.fleet;
    auto started = fleet->post("/api/v1/rollouts", {{"release", "1.1.0"},
                                                    {"waves", "10%,50%,100%"},
                                                    {"maxFailure", "20%"},
                                                    {"waveTimeout", "60s"},
                                                    {"soak", "1s"}});
    REQUIRE(started.status == 201);
    const std::string id = nlohmann::json::parse(started.body)["id"];
    REQUIRE(test::eventually([&] { return rollout_now(*fleet, id).value("state", "") == "done"; }, 120s));
    auto done = rollout_now(*fleet, id);
    CHECK(done["totals"]["succeeded"] == 10);
    // Each counted after its 1 s soak, healthy in every round of it.
    for (const auto& t : done["targets"]) CHECK(t["reason"] == "at 1.1.0, probes passing for 1 s");
    CHECK(done["waves"][0]["size"] == 1);
    CHECK(done["waves"][1]["size"] == 4);
    CHECK(done["waves"][2]["size"] == 5);
    for (const auto& [hospital, version] : rollout_fleet_versions(*fleet)) CHECK(version == "1.1.0");

    // The CLI's status, plain lines (not a terminal).
    auto status = test::run_capture({test::binary("cli/hisgate"), "rollout", "status", id, "--url",
                                     "http://127.0.0.1:" + std::to_string(fleet->api_port()), "--token-file",
                                     fleet->token_file()});
    CHECK(status.status == 0);
    CHECK(status.output.find("done") != std::string::npos);
    CHECK(status.output.find("wave 3 (100%): 5 of 5 settled; succeeded 5") != std::string::npos);
    // A viewer reads but may not start or change a rollout.
    auto ring = auth::KeyRing::open(fleet->dir() + "/keys");
    REQUIRE(ring);
    auto secs = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    auto viewer = auth::issue_token(**ring, {auth::Role::Viewer, "watcher", secs + std::chrono::hours(1)}, secs);
    REQUIRE(viewer);
    const std::map<std::string, std::string> as_viewer{{"Authorization", "Bearer " + *viewer}};
    CHECK(test::http_get(fleet->api_port(), "/api/v1/rollouts/" + id, as_viewer).status == 200);
    CHECK(test::http_send(fleet->api_port(), "POST", "/api/v1/rollouts", R"({"release": "1.1.0"})", as_viewer).status == 403);
    CHECK(test::http_send(fleet->api_port(), "POST", "/api/v1/rollouts/" + id + "/pause", "{}", as_viewer).status == 403);
    auto listed = nlohmann::json::parse(test::http_get(fleet->api_port(), "/api/v1/rollouts", as_viewer).body, nullptr, false);
    CHECK(listed["rollouts"].size() == 1);
    // A bad spec is named (400); a release not published is 404.
    CHECK(fleet->post("/api/v1/rollouts", {{"release", "1.1.0"}, {"waves", "50%,10%"}}).status == 400);
    CHECK(fleet->post("/api/v1/rollouts", {{"release", "9.9.9"}}).status == 404);
}

TEST_CASE("rollout: a broken release rolls back on the canary and halts the rollout by itself") {
    RolloutFleet setup;
    auto& fleet = setup.fleet;
    // Started with the CLI, as an operator would.
    auto started = test::run_capture({test::binary("cli/hisgate"), "rollout", "start", "--release", "1.2.0", "--waves",
                                      "10%,50%,100%", "--max-failure", "5%", "--wave-timeout", "20s", "--soak", "2s", "--json", "--url",
                                      "http://127.0.0.1:" + std::to_string(fleet->api_port()), "--token-file",
                                      fleet->token_file()});
    REQUIRE(started.status == 0);
    auto doc = nlohmann::json::parse(started.output, nullptr, false);
    REQUIRE(doc.is_object());
    const std::string id = doc["id"];
    REQUIRE(test::eventually([&] { return rollout_now(*fleet, id).value("state", "") == "halted"; }, 90s));
    auto halted = rollout_now(*fleet, id);
    CHECK(halted["sent"] == 1);
    REQUIRE(halted["failed"].size() == 1);
    const std::string canary = halted["failed"][0]["hospitalId"];
    CHECK(halted["haltReason"].get<std::string>().find(canary) != std::string::npos);
    // The canary is back at 1.0.0 (rolled back); nobody else was sent the broken build.
    REQUIRE(test::eventually([&] { return rollout_fleet_versions(*fleet)[canary] == "1.0.0"; }, 30s));
    for (const auto& [hospital, version] : rollout_fleet_versions(*fleet)) CHECK(version == "1.0.0");
    auto status = test::run_capture({test::binary("cli/hisgate"), "rollout", "status", id, "--url",
                                     "http://127.0.0.1:" + std::to_string(fleet->api_port()), "--token-file",
                                     fleet->token_file()});
    CHECK(status.status == 1);  // halted
    CHECK(status.output.find("reason:") != std::string::npos);
    // A halted rollout does not block a newer one.
    auto next = fleet->post("/api/v1/rollouts", {{"release", "1.1.0"}, {"waves", "100%"}});
    CHECK(next.status == 201);
}

TEST_CASE("rollout: agents more than five releases behind are refused and raise an operator alert") {
    RolloutFleet setup({"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0", "1.6.0"});
    auto& fleet = setup.fleet;
    auto started = fleet->post("/api/v1/rollouts", {{"release", "1.6.0"}, {"waves", "100%"}});
    REQUIRE(started.status == 201);
    const std::string id = nlohmann::json::parse(started.body)["id"];
    REQUIRE(test::eventually([&] { return rollout_now(*fleet, id).value("state", "") == "done"; }, 60s));
    auto done = rollout_now(*fleet, id);
    CHECK(done["sent"] == 0);
    REQUIRE(done["refused"].size() == 10);
    CHECK(done["refused"][0]["reason"].get<std::string>().find("outside the window of 5") != std::string::npos);
    auto too_old = [&] {
        auto page = nlohmann::json::parse(fleet->get("/api/v1/alerts?state=firing").body, nullptr, false);
        size_t n = 0;
        if (page.is_object() && page["alerts"].is_array())
            for (const auto& a : page["alerts"]) n += a.value("rule", "") == "agent.too_old" && a.value("subject", "") == "1.6.0";
        return n;
    };
    REQUIRE(test::eventually([&] { return too_old() == 10; }, 30s));
    // 1.5.0 is within the window: those agents can be upgraded to it first.
    auto within = fleet->post("/api/v1/rollouts", {{"release", "1.5.0"}, {"waves", "100%"}, {"waveTimeout", "60s"}, {"soak", "1s"}});
    REQUIRE(within.status == 201);
    const std::string next = nlohmann::json::parse(within.body)["id"];
    REQUIRE(test::eventually([&] { return rollout_now(*fleet, next).value("state", "") == "done"; }, 90s));
    CHECK(rollout_now(*fleet, next)["totals"]["succeeded"] == 10);
    // Upgraded since: the alerts resolve.
    REQUIRE(test::eventually([&] { return too_old() == 0; }, 30s));
}
