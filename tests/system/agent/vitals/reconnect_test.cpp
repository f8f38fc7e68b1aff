// The connection manager: a monitor that drops the connection, one that reboots onto a
// new port, and one that holds its connection open and sends nothing (stalled).
#include <catch2/catch.hpp>

#include "vitals_ward.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
// Samples of `device` stored after its count was `from`.
bool more_than(test::VitalsWard& ward, const std::string& device, int64_t from, int64_t by = 14) {
    return ward.samples(device) >= from + by;
}
}  // namespace

TEST_CASE("vitals reconnect: after the monitor disconnects and after it reboots onto a new port, samples flow again") {
    test::VitalsWard ward;
    REQUIRE(ward.start());
    auto& sim = ward.add_sim("ward");
    REQUIRE(test::eventually([&] { return ward.samples("MON-0001") > 0; }, 30s));

    SECTION("disconnect") {
        REQUIRE(sim.fault("MON-0001", {{"kind", "disconnect"}}));
        REQUIRE(test::eventually([&] { return sim.monitor("MON-0001")["connections"] == 2; }, 30s));
        auto after = ward.samples("MON-0001");
        CHECK(test::eventually([&] { return more_than(ward, "MON-0001", after); }, 30s));
        CHECK(ward.metric("hisgate_vitals_connection_resets_total{reason=\"closed_by_monitor\"}") >= 1);
    }
    SECTION("reboot onto a new port") {
        auto old_port = sim.monitor("MON-0001")["port"].get<int>();
        REQUIRE(sim.fault("MON-0001", {{"kind", "reboot"}, {"down_ms", 1500}}));
        REQUIRE(test::eventually([&] {
            auto m = sim.monitor("MON-0001");
            return m["port"] != 0 && m["port"] != old_port && m["connected"] == true;
        }, 30s));
        auto after = ward.samples("MON-0001");
        CHECK(test::eventually([&] { return more_than(ward, "MON-0001", after); }, 30s));
        CHECK(ward.agent_log().find("vitals.monitor_moved") != std::string::npos);
    }
    // The other monitor was never held up.
    auto other = ward.samples("MON-0002");
    CHECK(test::eventually([&] { return more_than(ward, "MON-0002", other); }, 30s));
}

TEST_CASE("vitals reconnect: a stalled connection shows stale, is given up after lost_after and connected again") {
    test::VitalsWard ward;
    REQUIRE(ward.start());
    auto& sim = ward.add_sim("ward");
    REQUIRE(test::eventually([&] { return ward.samples("MON-0001") > 0; }, 30s));
    REQUIRE(sim.fault("MON-0001", {{"kind", "stall"}}));
    // Stale first, then the stalled connection is closed and a new one made, which the
    // monitor serves (a stall lasts only for its connection).
    REQUIRE(test::eventually([&] { return ward.metric("hisgate_vitals_monitors_by_state{state=\"stale\"}") >= 1; }, 30s));
    // Upstream sees it too (stale, or already lost when the report came late).
    REQUIRE(test::eventually([&] {
        auto s = ward.reported_state("MON-0001");
        return s == "stale" || s == "lost";
    }, 30s));
    REQUIRE(test::eventually([&] { return ward.metric("hisgate_vitals_connection_resets_total{reason=\"stalled\"}") >= 1; }, 30s));
    REQUIRE(test::eventually([&] { return sim.monitor("MON-0001")["connections"] == 2; }, 30s));
    auto after = ward.samples("MON-0001");
    CHECK(test::eventually([&] { return more_than(ward, "MON-0001", after); }, 30s));
    CHECK(test::eventually([&] { return ward.metric("hisgate_vitals_monitors_by_state{state=\"connected\"}") == 2; }, 30s));
}
