// Nothing accepted is forgotten (issue 12 item 6): a request that no agent answers ends
// "expired" with the reason by its deadline, and stays so when an answer comes late.
#include <catch2/catch.hpp>

#include <signal.h>

#include <nlohmann/json.hpp>

#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("expiry attack: a request its agent never answers ends expired by its deadline") {
    test::System sys({.hospitals = {"H001"},
                      .request_timeout_ms = 1000,
                      .controlplane_config = R"({"task_deadline_ms": 3000})"});
    REQUIRE(sys.start());
    // The agent stops taking anything in (frozen, its connection still open: the broker
    // and the control plane still see it online).
    REQUIRE(::kill(sys.agent("H001").pid(), SIGSTOP) == 0);
    auto pending = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    INFO(pending.body);
    REQUIRE(pending.status == 202);
    std::string task = nlohmann::json::parse(pending.body)["taskId"].get<std::string>();
    test::HttpReply ended;
    bool expired = test::eventually([&] { return (ended = sys.get("/api/v1/tasks/" + task)).status == 200; }, 20s);
    ::kill(sys.agent("H001").pid(), SIGCONT);
    REQUIRE(expired);
    INFO(ended.body);
    auto doc = nlohmann::json::parse(ended.body);
    CHECK(doc["status"] == "expired");
    // Frozen before it could store it: it never reached the agent.
    CHECK((doc["error"]["code"] == "agent.unreached" || doc["error"]["code"] == "agent.offline"));
    CHECK_FALSE(doc["error"]["message"].get<std::string>().empty());

    // The agent, thawed, serves again; an answer it sends for the old request comes too
    // late to change its terminal state.
    REQUIRE(test::eventually([&] { return sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200; }, 30s));
    CHECK(nlohmann::json::parse(sys.get("/api/v1/tasks/" + task).body)["status"] == "expired");
    CHECK(sys.get("/metrics").body.find("hisgate_controlplane_tasks_expired_total{reason=") != std::string::npos);
    CHECK(sys.controlplane().running());
}

TEST_CASE("expiry: a request its agent stored but its HIS never answered expires for the HIS") {
    test::System sys({.hospitals = {"H001"},
                      .request_timeout_ms = 1000,
                      .sim_faults = {{"H001", R"({"silent": true})"}},
                      .more_params = {{"H001", R"({"queue": {"retry_backoff_min": "60s", "retry_backoff_max": "60s"}})"}},
                      .controlplane_config = R"({"task_deadline_ms": 4000})"});
    REQUIRE(sys.start());
    auto pending = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    INFO(pending.body);
    REQUIRE(pending.status == 202);
    std::string task = nlohmann::json::parse(pending.body)["taskId"].get<std::string>();
    test::HttpReply ended;
    REQUIRE(test::eventually([&] { return (ended = sys.get("/api/v1/tasks/" + task)).status == 200; }, 20s));
    INFO(ended.body);
    auto doc = nlohmann::json::parse(ended.body);
    CHECK(doc["status"] == "expired");
    // The agent said it stored the request (a deferred one asks it to), so no re-send was needed.
    CHECK(doc["error"]["code"] == "his.no_answer");
    CHECK(sys.get("/metrics").body.find("hisgate_controlplane_resends_total") == std::string::npos);
}
