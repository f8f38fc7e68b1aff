// When a part fails, the patient gets a clear error in bounded time, and the system
// heals by itself once the part is back.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("e2e: his-sim down - the request waits in the agent's queue and is answered once the HIS is back") {
    test::System sys({.hospitals = {"H001"},
                      .request_timeout_ms = 1500,
                      .more_params = {{"H001", R"({"queue": {"retry_backoff_min": "200ms", "retry_backoff_max": "1s"}})"}}});
    REQUIRE(sys.start());
    REQUIRE(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    sys.sim("H001").kill9();
    auto down = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    INFO(down.body);
    // Not an error: the agent holds the task and retries; the caller polls for it.
    REQUIRE(down.status == 202);
    auto doc = nlohmann::json::parse(down.body);
    std::string task = doc["taskId"].get<std::string>();
    CHECK(doc["poll"] == "/api/v1/tasks/" + task);
    CHECK(sys.get("/api/v1/tasks/" + task).status == 202);
    REQUIRE(sys.start_sim("H001"));
    test::HttpReply answered;
    CHECK(test::eventually([&] { return (answered = sys.get("/api/v1/tasks/" + task)).status == 200; }, 30s));
    auto result = nlohmann::json::parse(answered.body, nullptr, false);
    INFO(answered.body);
    CHECK(result["status"] == "answered");
    CHECK(result["result"]["reportId"] == "R-DEMO-1");
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    CHECK(sys.get("/api/v1/tasks/no-such-task").status == 404);
    CHECK(sys.agent("H001").running());
    CHECK(sys.controlplane().running());
}

TEST_CASE("e2e: a silent his-sim - the caller gets 202 in bounded time, the task is parked with the timeout") {
    test::System sys({.hospitals = {"H001"},
                      .request_timeout_ms = 1500,
                      .his_ack_timeout_ms = 300,
                      .sim_faults = {{"H001", R"({"silent": true})"}},
                      .more_params = {{"H001", R"({"queue": {"max_attempts": 2, "retry_backoff_min": "100ms"}})"}}});
    REQUIRE(sys.start());
    auto started = std::chrono::steady_clock::now();
    auto reply = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    auto took = std::chrono::steady_clock::now() - started;
    INFO(reply.body);
    REQUIRE(reply.status == 202);
    // Bounded by the configured timeouts, not a hang (a generous bound: this is not a speed test).
    CHECK(took < 30s);
    std::string task = nlohmann::json::parse(reply.body)["taskId"].get<std::string>();
    test::HttpReply parked;
    CHECK(test::eventually([&] { return (parked = sys.get("/api/v1/tasks/" + task)).status == 200; }, 30s));
    INFO(parked.body);
    auto doc = nlohmann::json::parse(parked.body, nullptr, false);
    CHECK(doc["error"]["class"] == "timeout");
    CHECK(doc["error"]["code"] == "mllp.ack_timeout");
    CHECK(sys.agent("H001").running());
}

TEST_CASE("e2e: an agent that dies is marked offline by its last will - 503 at once for real-time work, then back online") {
    test::System sys({.hospitals = {"H001", "H002"}});
    REQUIRE(sys.start());
    sys.agent("H001").kill9();
    REQUIRE(test::eventually([&] { return sys.online_hospitals() == std::vector<std::string>{"H002"}; }, 30s));
    auto offline = sys.post("/api/v1/hospitals/H001/appointments",
                            R"({"orderId": "O-1", "slotId": "S1", "patient": {"id": "P-DEMO-1"}})");
    CHECK(offline.status == 503);
    CHECK(offline.code() == "hospital.offline");
    CHECK(offline.headers["Retry-After"] == "30");
    // A report is deferred work: accepted for when the agent is back.
    auto accepted = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    CHECK(accepted.status == 202);
    CHECK(sys.get("/api/v1/hospitals/H002/reports/R-DEMO-1").status == 200);
    REQUIRE(sys.start_agent("H001"));
    REQUIRE(test::eventually([&] { return sys.online_hospitals().size() == 2; }, 20s));
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
}

TEST_CASE("e2e: the broker restarted under a running system - everything reconnects by itself") {
    test::System sys({.hospitals = {"H001", "H002"}});
    REQUIRE(sys.start());
    REQUIRE(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    sys.broker().kill9();
    // An error with a code, not a hang or a crash; or, when the control plane's link has not
    // yet seen the broker go (Paho notices a dead TCP peer only on its next write), a report
    // accepted as deferred work (202 with its task), as while any agent is away. CI saw 202.
    auto during = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    INFO(during.status << " " << during.body);
    if (during.status == 202) {
        CHECK(nlohmann::json::parse(during.body, nullptr, false).contains("taskId"));
    } else {
        CHECK(during.status >= 500);
        CHECK_FALSE(during.code().empty());
    }
    REQUIRE(sys.broker().start());
    CHECK(test::eventually(
        [&] {
            return sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200 &&
                   sys.get("/api/v1/hospitals/H002/reports/R-DEMO-1").status == 200;
        },
        30s));
    CHECK(sys.online_hospitals().size() == 2);
    for (const char* h : {"H001", "H002"}) {
        CHECK(sys.agent(h).running());
        CHECK(sys.sim(h).running());
    }
    CHECK(sys.controlplane().running());
}

TEST_CASE("e2e: a request the control plane cannot publish is an immediate error, never a task that stays pending") {
    test::System sys({.hospitals = {"H001"}, .request_timeout_ms = 1500});
    REQUIRE(sys.start());
    REQUIRE(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    // The broker dies: no will reaches the control plane, which still lists H001 online,
    // but nothing it publishes can leave.
    sys.broker().kill9();
    test::HttpReply failed;
    REQUIRE(test::eventually([&] {
        failed = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
        return failed.status != 200 && failed.status != 202;  // until its link saw the broker go
    }, 30s));
    INFO(failed.body);
    CHECK(failed.status == 502);  // the API's answer for an unavailable path (api.cpp)
    auto doc = nlohmann::json::parse(failed.body, nullptr, false);
    REQUIRE(doc.is_object());
    CHECK_FALSE(doc.contains("taskId"));  // nothing to poll: no agent will ever answer it
    CHECK(failed.code().rfind("mqtt.", 0) == 0);
    CHECK(sys.controlplane().running());
}
