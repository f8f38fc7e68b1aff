// Alerts with real processes (issue 13 item 5): an agent killed with SIGKILL goes offline
// by its will; past the configured (small) offline threshold agent.offline fires, with its
// owner; restarted, the alert resolves. The API refuses patients and bad queries; the
// hisgate CLI lists the alert.
#include <thread>

#include "fleet_support.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
nlohmann::json alerts(test::System& sys, const std::string& query) {
    auto reply = sys.get("/api/v1/alerts" + query);
    if (reply.status != 200) return nullptr;
    auto doc = nlohmann::json::parse(reply.body, nullptr, false);
    return doc.is_object() ? doc["alerts"] : nullptr;
}
}  // namespace

TEST_CASE("alerts: kill -9 an agent and agent.offline fires, restart it and the alert resolves") {
    test::System sys({.hospitals = {"H001", "H002"},
                      .controlplane_config =
                          R"({"alerts": {"interval_ms": 200, "offline_ms": 500, "owner_agent_offline": "hospital-it"}})"});
    REQUIRE(sys.start());
    CHECK(alerts(sys, "?state=firing").empty());

    sys.agent("H002").kill9();
    REQUIRE(test::eventually([&] {
        auto a = alerts(sys, "?state=firing&hospital=H002");
        return a.is_array() && a.size() == 1;
    }, 20s));
    auto fired = alerts(sys, "?state=firing&hospital=H002")[0];
    CHECK(fired["rule"] == "agent.offline");
    CHECK(fired["owner"] == "hospital-it");
    CHECK(fired["resolvedAt"].is_null());
    CHECK(alerts(sys, "?hospital=H001").empty());

    // The CLI shows it.
    const std::string token_file = sys.dir() + "/operator.token";
    test::write_file(token_file, sys.token("viewer", "ops") + "\n");
    const std::string out = sys.dir() + "/alerts-cli.out";
    test::Process cli({test::binary("cli/hisgate"), "alerts", "--state", "firing", "--url",
                       "http://127.0.0.1:" + std::to_string(sys.api_port()), "--token-file", token_file},
                      out);
    REQUIRE(cli.start());
    CHECK(cli.wait_exit(30000ms) == 0);
    auto table = test::read_file(out);
    CHECK(table.find("agent.offline") != std::string::npos);
    CHECK(table.find("H002") != std::string::npos);

    // Patients may not see alerts; a bad query names what it expected.
    CHECK(sys.get("/api/v1/alerts", sys.bearer("patient", "P1")).status == 403);
    auto bad = sys.get("/api/v1/alerts?state=open");
    CHECK(bad.status == 400);
    CHECK(bad.body.find("alerts.bad_query") != std::string::npos);
    CHECK(bad.body.find("firing or resolved") != std::string::npos);

    REQUIRE(sys.start_agent("H002"));
    REQUIRE(test::eventually([&] {
        auto a = alerts(sys, "?state=resolved&hospital=H002");
        return a.is_array() && a.size() == 1;
    }, 20s));
    auto resolved = alerts(sys, "?state=resolved&hospital=H002")[0];
    CHECK(resolved["id"] == fired["id"]);
    CHECK(resolved["resolvedAt"].is_string());
    CHECK(alerts(sys, "?state=firing").empty());

    // Killed again: a new alert, which an operator resolves by hand with the CLI (a viewer
    // may not); while the agent stays away it does not fire again.
    sys.agent("H002").kill9();
    REQUIRE(test::eventually([&] {
        auto a = alerts(sys, "?state=firing&hospital=H002");
        return a.is_array() && a.size() == 1;
    }, 20s));
    const std::string again = alerts(sys, "?state=firing&hospital=H002")[0]["id"];
    CHECK(again != fired["id"]);
    CHECK(sys.post("/api/v1/alerts/" + again + "/resolve", R"({"note": "x"})", sys.bearer("viewer", "ops")).status == 403);
    test::write_file(token_file, sys.token("operator", "alice") + "\n");
    auto by_hand = test::run_capture({test::binary("cli/hisgate"), "alerts", "resolve", again, "--note",
                                      "H002's server is being replaced", "--url",
                                      "http://127.0.0.1:" + std::to_string(sys.api_port()), "--token-file", token_file});
    INFO(by_hand.output);
    CHECK(by_hand.status == 0);
    CHECK(by_hand.output.find("resolved by operator:alice") != std::string::npos);
    CHECK(sys.post("/api/v1/alerts/" + again + "/resolve", R"({"note": "twice"})", sys.bearer("operator", "bob")).status == 409);
    std::this_thread::sleep_for(1s);  // 5 rounds of the engine, the agent still away
    CHECK(alerts(sys, "?state=firing&hospital=H002").empty());
    auto listed = alerts(sys, "?state=resolved&hospital=H002");
    REQUIRE(listed.size() == 2);
    CHECK(listed[0]["id"] == again);
    CHECK(listed[0]["resolvedBy"] == "operator:alice");
    CHECK(listed[0]["note"] == "H002's server is being replaced");
}
