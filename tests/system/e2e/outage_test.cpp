// Routing through outages (issue 13 item 2) and nothing accepted forgotten (issue 12 item
// 6): while a hospital's agent is offline a real-time request fails at once with
// Retry-After; a deferred one is accepted and re-sent, same id, until the agent is back
// and stores it; once its answer was delivered, its contents go.
#include <catch2/catch.hpp>

#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("outage: a report asked while its agent is away reaches it when back, by re-sends, and its contents go after delivery") {
    test::System sys({.hospitals = {"H001"},
                      .request_timeout_ms = 2000,
                      .controlplane_config = R"({"task_deadline_ms": 120000, "results_after_delivery_ms": 1000})"});
    REQUIRE(sys.start());
    sys.agent("H001").kill9();
    REQUIRE(test::eventually([&] { return sys.online_hospitals().empty(); }, 20s));

    // A booking is real-time: refused at once, with when to try again.
    auto booking = sys.post("/api/v1/hospitals/H001/appointments",
                            R"({"orderId": "O-OUT-1", "slotId": "S1", "patient": {"id": "P-DEMO-1"}})");
    INFO(booking.body);
    CHECK(booking.status == 503);
    CHECK(booking.code() == "hospital.offline");
    CHECK(booking.headers["Retry-After"] == "30");

    // A report is deferred: accepted for when the agent is back.
    auto patient = sys.bearer("patient", "P-DEMO-1");
    auto accepted = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1", patient);
    INFO(accepted.body);
    REQUIRE(accepted.status == 202);
    auto doc = nlohmann::json::parse(accepted.body);
    CHECK(doc["reason"] == "agent.offline");
    std::string task = doc["taskId"].get<std::string>();
    CHECK(sys.get("/api/v1/tasks/" + task, patient).status == 202);

    // The first copy expires in the broker after the request timeout (2 s); the agent stays
    // away longer, so only a re-send can bring the request to it.
    std::this_thread::sleep_for(7s);
    REQUIRE(test::metric_value(sys.get("/metrics").body, "hisgate_controlplane_resends_total{outcome=\"sent\"}") >= 1);
    REQUIRE(sys.start_agent("H001"));
    test::HttpReply answered;
    REQUIRE(test::eventually([&] { return (answered = sys.get("/api/v1/tasks/" + task, patient)).status == 200; }, 30s));
    INFO(answered.body);
    auto shown = nlohmann::json::parse(answered.body);
    CHECK(shown["status"] == "answered");
    CHECK(shown["result"]["patientId"] == "P-DEMO-1");
    CHECK(shown["result"]["reportId"] == "R-DEMO-1");

    // Delivered to its patient: a second poll within a second still finds it; after that
    // the contents are gone and the task says so.
    test::HttpReply gone;
    REQUIRE(test::eventually([&] { return (gone = sys.get("/api/v1/tasks/" + task, patient)).status == 410; }, 20s));
    INFO(gone.body);
    CHECK(gone.code() == "task.contents_dropped");
    CHECK(nlohmann::json::parse(gone.body)["taskId"] == task);
    CHECK(gone.body.find("R-DEMO-1") == std::string::npos);
    CHECK(test::metric_value(sys.get("/metrics").body, "hisgate_controlplane_contents_dropped_total") >= 1);
    // Asking again is safe: a new task, the report anew.
    auto again = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1", patient);
    CHECK(again.status == 200);
}

TEST_CASE("delivery: a report answered within the read is delivered by it, and its contents go") {
    test::System sys({.hospitals = {"H001"}, .controlplane_config = R"({"results_after_delivery_ms": 0})"});
    REQUIRE(sys.start());
    auto patient = sys.bearer("patient", "P-DEMO-1");
    auto read = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1", patient);
    INFO(read.body);
    REQUIRE(read.status == 200);
    std::string task = read.headers["Task-Id"];
    REQUIRE_FALSE(task.empty());
    // Delivered with the read itself: the next purge (every second) drops the contents.
    test::HttpReply gone;
    REQUIRE(test::eventually([&] { return (gone = sys.get("/api/v1/tasks/" + task, patient)).status == 410; }, 20s));
    CHECK(gone.code() == "task.contents_dropped");
    // Another patient still cannot see that the task exists.
    CHECK(sys.get("/api/v1/tasks/" + task, sys.bearer("patient", "P-OTHER")).status == 404);
}
