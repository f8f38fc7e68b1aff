// What the agent tells the platform without being asked: its presence with queue figures
// every heartbeat, an alert when tasks wait too long, probe results and reference-data
// change sets, all through the outbox to the hospital's event topic.
#include <catch2/catch.hpp>

#include "common/version.h"
#include "control_plane_client.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
bool has_event(test::ControlPlaneClient& cp, const std::string& type) {
    for (const auto& e : cp.events())
        if (e.type == type) return true;
    return false;
}
}  // namespace

TEST_CASE("presence: the heartbeat carries the queue figures to the control plane's fleet view") {
    test::System sys({.hospitals = {"H001"}, .more_params = {{"H001", R"({"presence": {"heartbeat_interval": "1s"}})"}}});
    REQUIRE(sys.start());
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());
    REQUIRE(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    nlohmann::json hospital;
    REQUIRE(test::eventually([&] {
        auto doc = nlohmann::json::parse(sys.get("/api/v1/hospitals").body, nullptr, false);
        if (doc.is_discarded() || doc["hospitals"].empty()) return false;
        hospital = doc["hospitals"][0];
        return hospital.contains("queue") && hospital["queue"]["businesses"].contains("report") &&
               hospital["queue"]["businesses"]["report"]["finishedRecently"] == 1;
    }));
    INFO(hospital.dump());
    CHECK(hospital["online"] == true);
    CHECK(hospital["queue"]["depth"] == 0);
    CHECK(hospital["queue"]["businesses"]["report"]["finishedRecently"] == 1);
    CHECK(hospital["caps"]["concurrency"] == 4);
    CHECK(hospital.contains("heartbeatAt"));
    CHECK(hospital["version"] == std::string(version()));  // the one version, from project(VERSION)
    CHECK(hospital["paramsHash"].get<std::string>().size() > 8);
    // Heartbeats keep coming (retained state messages, every second).
    CHECK(test::eventually([&] { return cp.states().size() >= 3; }, 10s));
}

TEST_CASE("presence: tasks that wait past queue.dwell_alert raise an event, and probes and extraction report upstream") {
    test::System sys({.hospitals = {"H001"},
                      .request_timeout_ms = 500,
                      .his_ack_timeout_ms = 5000,
                      .sim_faults = {{"H001", R"({"latency_ms": 1500})"}},
                      .more_params = {{"H001", R"({"presence": {"heartbeat_interval": "1s"},
                                                   "queue": {"dwell_alert": "1s"},
                                                   "probes": [{"path": "report", "operation": "get_report",
                                                               "cases": ["R-DEMO-1"], "interval": "2s"}]})"}}});
    REQUIRE(sys.start());
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());
    for (int i = 0; i < 3; ++i) CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 202);
    CHECK(test::eventually([&] { return has_event(cp, "queue.dwell_exceeded"); }, 20s));
    CHECK(test::eventually([&] { return has_event(cp, "probe.result"); }, 20s));
    // The first pull of reference data is a full change set, seq 1.
    CHECK(test::eventually([&] { return has_event(cp, "reference.changeset"); }, 20s));
    for (const auto& e : cp.events()) {
        if (e.type == "reference.changeset") {
            CHECK(e.body["seq"].get<int>() >= 1);
            CHECK_FALSE(e.body["changes"].empty());
        }
        if (e.type == "probe.result") CHECK(e.body.contains("outcome"));
        if (e.type == "queue.dwell_exceeded") CHECK(e.body["thresholdSeconds"] == 1.0);
    }
}
