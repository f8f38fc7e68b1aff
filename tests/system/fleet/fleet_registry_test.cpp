// The fleet registry with real processes (issue 13 item 1, "Bad input"): it survives a
// control plane restart, and a stale will, a birthless heartbeat or forged presence
// injected on the broker never make a wrong fleet.
#include <atomic>
#include <ctime>
#include <mutex>

#include "fleet_support.h"
#include "tests/support/certificates.h"
#include "transport/envelope.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("fleet: a restarted control plane still lists every hospital, an offline one with its since-time") {
    test::System sys({.hospitals = {"H001", "H002"}});
    REQUIRE(sys.start());
    auto h2 = test::fleet_hospital(sys, "H002");
    REQUIRE(h2.is_object());
    CHECK(h2["state"] == "online");
    CHECK(h2["region"] == "south");
    CHECK(h2["dialect"] == "hl7v2-mllp");
    CHECK(h2["session"].get<int64_t>() >= 1);
    CHECK(h2["capabilities"].is_array());
    REQUIRE(sys.agent("H002").stop() == 0);
    REQUIRE(test::eventually([&] { return test::fleet_hospital(sys, "H002")["state"] == "offline"; }));
    const auto offline_since = test::fleet_hospital(sys, "H002")["since"];

    REQUIRE(sys.controlplane().stop() == 0);
    REQUIRE(sys.controlplane().start());
    REQUIRE(test::wait_port_open(sys.api_port(), 10s));
    auto fleet = sys.get("/api/v1/fleet");
    REQUIRE(fleet.status == 200);
    auto doc = nlohmann::json::parse(fleet.body);
    REQUIRE(doc["hospitals"].size() == 2);
    CHECK(doc["hospitals"][0]["hospitalId"] == "H001");
    CHECK(doc["hospitals"][0]["state"] == "online");
    CHECK(doc["hospitals"][1]["hospitalId"] == "H002");
    CHECK(doc["hospitals"][1]["state"] == "offline");
    CHECK(doc["hospitals"][1]["since"] == offline_since);
    CHECK(doc["hospitals"][1]["dialect"] == "hl7v2-mllp");
    // And it comes back on its own.
    REQUIRE(sys.start_agent("H002"));
    REQUIRE(test::eventually([&] { return test::fleet_hospital(sys, "H002")["state"] == "online"; }, 20s));
}

TEST_CASE("fleet: a will of an older session, injected after a newer birth, never marks the live agent offline") {
    // No heartbeat during the test (it would replace the retained state the restart reads).
    test::System sys({.hospitals = {"H001"},
                      .more_params = {{"H001", R"({"presence": {"heartbeat_interval": "10m"}})"}},
                      .broker_users = {"forge-H001"}});
    REQUIRE(sys.start());
    // Watch H001's retained state as the broker holds it.
    std::mutex mu;
    std::vector<std::string> states;
    MqttLink watcher(test::as_user(sys.broker(), "controlplane-test"));
    watcher.subscribe(topics::state("H001"));
    watcher.on_message([&](const IncomingMessage& m) {
        std::lock_guard l(mu);
        states.push_back(m.payload);
    });
    watcher.start();
    REQUIRE(watcher.wait_connected(10s));
    // The agent dies: the broker publishes its will (session S1).
    sys.agent("H001").kill9();
    std::string will_s1;
    REQUIRE(test::eventually(
        [&] {
            std::lock_guard l(mu);
            for (const auto& s : states) {
                auto env = Envelope::parse(s, limits::kStateBytes);
                if (env && env->body.value("online", true) == false) will_s1 = s;
            }
            return !will_s1.empty();
        },
        30s));
    REQUIRE(test::eventually([&] { return test::fleet_hospital(sys, "H001")["state"] == "offline"; }));
    const int64_t s1 = Envelope::parse(will_s1, limits::kStateBytes)->body["session"].get<int64_t>();
    // It restarts: a new connection, a new session S2 > S1, online.
    REQUIRE(sys.start_agent("H001"));
    REQUIRE(test::eventually([&] { return test::fleet_hospital(sys, "H001")["state"] == "online"; }, 20s));
    const int64_t s2 = test::fleet_hospital(sys, "H001")["session"].get<int64_t>();
    CHECK(s2 > s1);

    // The old will arrives again now (late, retained, exactly as the broker sent it).
    const double stale_before = test::cp_metric(sys, "hisgate_rejected_messages_total{kind=\"state_stale\"}");
    MqttLink forger(test::as_user(sys.broker(), "forge-H001"));
    forger.start();
    REQUIRE(forger.wait_connected(10s));
    REQUIRE(forger.publish(OutgoingMessage::to(topics::state("H001"), will_s1, true)).ok());
    REQUIRE(test::eventually([&] {
        return test::cp_metric(sys, "hisgate_rejected_messages_total{kind=\"state_stale\"}") == stale_before + 1;
    }));
    auto h1 = test::fleet_hospital(sys, "H001");
    CHECK(h1["state"] == "online");
    CHECK(h1["session"] == s2);
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    // The stale will is now the retained state on the broker: a restarted control plane,
    // which remembers session S2, ignores it too.
    REQUIRE(sys.controlplane().stop() == 0);
    REQUIRE(sys.controlplane().start());
    REQUIRE(test::wait_port_open(sys.api_port(), 10s));
    REQUIRE(test::eventually([&] {
        return test::cp_metric(sys, "hisgate_rejected_messages_total{kind=\"state_stale\"}") >= 1;
    }));
    CHECK(test::fleet_hospital(sys, "H001")["state"] == "online");
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
}

TEST_CASE("fleet: a heartbeat with no birth, forged and repeated presence are counted and change nothing") {
    test::System sys({.hospitals = {"H001"}, .broker_users = {"forge-H001", "forge-H002"}});
    REQUIRE(sys.start());
    MqttLink h2(test::as_user(sys.broker(), "forge-H002"));
    MqttLink h1(test::as_user(sys.broker(), "forge-H001"));
    h2.start();
    h1.start();
    REQUIRE(h2.wait_connected(10s));
    REQUIRE(h1.wait_connected(10s));
    // H002 has never been born: its heartbeat is refused.
    auto heartbeat = Envelope::make("state", "H002",
                                    {{"online", true}, {"session", 5}, {"seq", 9}, {"heartbeatAt", "2026-01-05T00:00:00Z"},
                                     {"queue", {{"depth", 3}}}});
    REQUIRE(h2.publish(OutgoingMessage::to(topics::state("H002"), heartbeat.to_json())).ok());
    REQUIRE(test::eventually(
        [&] { return test::cp_metric(sys, "hisgate_rejected_messages_total{kind=\"heartbeat_unknown\"}") == 1; }));
    CHECK(sys.get("/api/v1/fleet/H002").status == 404);
    // Presence for H002 on H001's topic: forged.
    auto forged = Envelope::make("state", "H002", {{"online", true}, {"session", 99}, {"seq", 1}});
    REQUIRE(h1.publish(OutgoingMessage::to(topics::state("H001"), forged.to_json())).ok());
    REQUIRE(test::eventually(
        [&] { return test::cp_metric(sys, "hisgate_rejected_messages_total{kind=\"state\"}") == 1; }));
    // H001's own current state, repeated by someone else: not newer, so ignored.
    auto held = test::fleet_hospital(sys, "H001");
    auto repeat = Envelope::make("state", "H001",
                                 {{"online", false}, {"session", held["session"].get<int64_t>() - 1}, {"seq", 1}});
    REQUIRE(h1.publish(OutgoingMessage::to(topics::state("H001"), repeat.to_json())).ok());
    REQUIRE(test::eventually(
        [&] { return test::cp_metric(sys, "hisgate_rejected_messages_total{kind=\"state_stale\"}") == 1; }));
    auto after = test::fleet_hospital(sys, "H001");
    CHECK(after["state"] == "online");
    CHECK(after["session"] == held["session"]);
    CHECK(sys.get("/api/v1/fleet?state=online").body.find("H002") == std::string::npos);
    CHECK(sys.controlplane().running());
}

TEST_CASE("fleet: the API's filters, pages, access and bounded query") {
    test::System sys({.hospitals = {"H001", "H002", "H003"},
                      .his_params = {{"H003", R"({"dialect": "rest-json"})"}},
                      .more_params = {{"H002", R"({"hospital": {"id": "H002", "region": "north", "name": "North Clinic"}})"}}});
    REQUIRE(sys.start());
    auto ids = [&](const std::string& query) {
        auto reply = sys.get("/api/v1/fleet" + query);
        REQUIRE(reply.status == 200);
        std::vector<std::string> out;
        auto doc = nlohmann::json::parse(reply.body);
        for (const auto& h : doc["hospitals"]) out.push_back(h["hospitalId"]);
        return out;
    };
    CHECK(ids("") == std::vector<std::string>{"H001", "H002", "H003"});
    CHECK(ids("?region=north") == std::vector<std::string>{"H002"});
    CHECK(ids("?dialect=rest-json") == std::vector<std::string>{"H003"});
    CHECK(ids("?state=offline").empty());
    CHECK(ids("?state=incompatible").empty());
    CHECK(test::fleet_hospital(sys, "H002")["name"] == "North Clinic");
    auto version = test::fleet_hospital(sys, "H001")["version"].get<std::string>();
    CHECK(ids("?version=" + version).size() == 3);
    // Pages of one, by cursor.
    std::vector<std::string> seen;
    std::string query = "?limit=1";
    for (int i = 0; i < 10; ++i) {
        auto page = nlohmann::json::parse(sys.get("/api/v1/fleet" + query).body);
        for (const auto& h : page["hospitals"]) seen.push_back(h["hospitalId"]);
        if (!page.contains("nextCursor")) break;
        query = "?limit=1&cursor=" + page["nextCursor"].get<std::string>();
    }
    CHECK(seen == std::vector<std::string>{"H001", "H002", "H003"});
    // Who may see it.
    CHECK(sys.get("/api/v1/fleet", sys.bearer("viewer", "ops")).status == 200);
    CHECK(sys.get("/api/v1/fleet", sys.bearer("service", "portal")).status == 200);
    CHECK(sys.get("/api/v1/fleet", sys.bearer("patient", "P1")).status == 403);
    CHECK(sys.get("/api/v1/fleet/H001", sys.bearer("patient", "P1")).status == 403);
    CHECK(sys.get("/api/v1/fleet", {{"Authorization", "Bearer nope"}}).status == 401);
    // Bad queries: 400 naming the parameter.
    auto bad = sys.get("/api/v1/fleet?limit=5000");
    CHECK(bad.status == 400);
    CHECK(bad.code() == "fleet.bad_query");
    CHECK(bad.body.find("limit") != std::string::npos);
    CHECK(sys.get("/api/v1/fleet?state=asleep").status == 400);
    CHECK(sys.get("/api/v1/fleet?cursor=zzz").status == 400);
    CHECK(sys.get("/api/v1/fleet?sort=name").status == 400);
    CHECK(sys.get("/api/v1/fleet/H404").status == 404);
    CHECK(sys.get("/api/v1/fleet/H404").code() == "hospital.unknown");
}

TEST_CASE("fleet: an agent with a TLS client certificate announces when it expires") {
    const std::string certs = test::make_temp_dir("fleet-client-cert");
    REQUIRE(test::make_test_certificates(certs, "agent"));
    test::System sys({.hospitals = {"H001"},
                      .agent_config = {{"H001", nlohmann::json({{"broker", {{"cert_file", certs + "/agent.crt"},
                                                                             {"key_file", certs + "/agent.key"}}}})
                                                    .dump()}}});
    REQUIRE(sys.start());
    // What openssl says: "notAfter=Dec  4 19:40:00 2026 GMT".
    REQUIRE(std::system(("openssl x509 -enddate -noout -in " + certs + "/agent.crt > " + certs + "/enddate").c_str()) == 0);
    std::string end = test::read_file(certs + "/enddate");
    std::tm t{};
    REQUIRE(strptime(end.c_str(), "notAfter=%b %d %H:%M:%S %Y", &t) != nullptr);
    char expected[32];
    std::strftime(expected, sizeof expected, "%Y-%m-%dT%H:%M:%SZ", &t);
    CHECK(test::fleet_hospital(sys, "H001")["certNotAfter"] == expected);
    std::system(("rm -rf " + certs).c_str());
}
