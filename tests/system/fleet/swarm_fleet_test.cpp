// The fleet-scale benchmark's bounded slice (issue 13, "Benchmarks"): 200 light simulated
// agents (tools/agent-swarm) against real Mosquitto and a real control plane. Asserts only
// what must hold, never how fast: every agent comes online in the registry with its
// heartbeats, answers a request routed to it, and after the broker is killed (-9) and
// started again on the same port every agent is back with a new presence session.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/swarm_fleet.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
// How many hospitals the API lists online whose session is above `before`'s (all online
// ones when `before` is empty).
size_t online_after(test::SwarmFleet& fleet, const std::map<std::string, test::FleetEntry>& before, bool need_heartbeat) {
    auto now = fleet.fleet();
    if (!now) return 0;
    size_t n = 0;
    for (const auto& id : fleet.hospital_ids()) {
        auto it = now->find(id);
        if (it == now->end() || !it->second.online || (need_heartbeat && !it->second.has_heartbeat)) continue;
        auto was = before.find(id);
        if (was == before.end() || it->second.session > was->second.session) ++n;
    }
    return n;
}
}  // namespace

TEST_CASE("fleet: 200 light agents come online and answer, and all come back after the broker is killed and restarted") {
    test::SwarmFleet fleet({.agents = 200, .heartbeat_interval_ms = 1000});
    REQUIRE(fleet.start_broker());
    REQUIRE(fleet.start_controlplane());
    REQUIRE(fleet.start_swarm());
    const size_t all = fleet.hospital_ids().size();
    // Online, and each has sent a heartbeat the registry took.
    REQUIRE(test::eventually([&] { return online_after(fleet, {}, true) == all; }, 60s));

    // A request routed to one of them is answered (report.get: deferred, so stored-acked first).
    auto report = fleet.get("/api/v1/hospitals/S00007/reports/R-42");
    REQUIRE(report.status == 200);
    auto body = nlohmann::json::parse(report.body, nullptr, false);
    CHECK(body.value("reportId", "") == "R-42");

    auto before = fleet.fleet();
    REQUIRE(before);
    REQUIRE(before->size() == all);
    fleet.broker().kill9();
    REQUIRE(fleet.broker().start());
    REQUIRE(test::eventually([&] { return online_after(fleet, *before, false) == all; }, 90s));

    CHECK(fleet.swarm().running());
    auto status = fleet.swarm_status();
    CHECK(status["protocol_errors"] == 0);
    CHECK(status["losses"] >= static_cast<long long>(all));
    CHECK(status["requests"] >= 1);
}
