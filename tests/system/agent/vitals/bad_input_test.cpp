// Bad input on one monitor's connection is dropped and counted, its connection reset when
// it must be, and the other monitor on the ward never stalls.
#include <catch2/catch.hpp>

#include <map>

#include "vitals_ward.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
std::string dropped(const std::string& reason) { return "hisgate_vitals_dropped_total{reason=\"" + reason + "\"}"; }

// After the fault: the faulty monitor is served again and the other was never held up.
void both_flow(test::VitalsWard& ward) {
    auto one = ward.samples("MON-0001"), two = ward.samples("MON-0002");
    CHECK(test::eventually([&] { return ward.samples("MON-0001") >= one + 14; }, 30s));
    CHECK(test::eventually([&] { return ward.samples("MON-0002") >= two + 14; }, 30s));
}
}  // namespace

TEST_CASE("vitals bad input: garbage bytes and a frame that is not HL7 are dropped and counted, and the connection goes on") {
    test::VitalsWard ward;
    REQUIRE(ward.start());
    auto& sim = ward.add_sim("ward");
    REQUIRE(test::eventually([&] { return ward.samples("MON-0001") > 0 && ward.samples("MON-0002") > 0; }, 30s));
    REQUIRE(sim.fault("MON-0001", {{"kind", "garbage"}, {"bytes", 5000}}));
    REQUIRE(test::eventually([&] { return ward.metric(dropped("garbage_bytes")) >= 4000; }, 30s));
    REQUIRE(test::eventually([&] { return ward.metric(dropped("not_hl7")) >= 1; }, 30s));
    both_flow(ward);
    CHECK(sim.monitor("MON-0001")["connections"] == 1);  // skipped, not reset
}

TEST_CASE("vitals bad input: a frame that never ends is cut at vitals.max_frame_bytes and its connection reset") {
    test::VitalsWard ward(nlohmann::json{{"max_frame_bytes", 4096}});
    REQUIRE(ward.start());
    auto& sim = ward.add_sim("ward");
    REQUIRE(test::eventually([&] { return ward.samples("MON-0001") > 0; }, 30s));
    REQUIRE(sim.fault("MON-0001", {{"kind", "endless_frame"}}));
    REQUIRE(test::eventually([&] { return ward.metric(dropped("oversize_frame")) >= 1; }, 30s));
    REQUIRE(test::eventually([&] { return sim.monitor("MON-0001")["connections"].get<int>() >= 2; }, 30s));
    both_flow(ward);
}

TEST_CASE("vitals bad input: an unknown code, a value that is not a number and a timestamp from the future are dropped and counted") {
    test::VitalsWard ward(nlohmann::json{{"future_tolerance", "1m"}});
    REQUIRE(ward.start());
    auto& sim = ward.add_sim("ward");
    REQUIRE(test::eventually([&] { return ward.samples("MON-0001") > 0; }, 30s));

    REQUIRE(sim.fault("MON-0001", {{"kind", "unknown_code"}}));
    REQUIRE(test::eventually([&] { return ward.metric(dropped("unknown_code")) == 1; }, 30s));
    REQUIRE(sim.fault("MON-0001", {{"kind", "non_numeric"}}));
    REQUIRE(test::eventually([&] { return ward.metric(dropped("non_numeric")) == 1; }, 30s));
    // The rest of those messages was taken: only the bad observation is dropped.
    for (const auto& r : ward.rows("MON-0001")) CHECK(r.name != "9999");

    // An hour ahead: everything the monitor sends is dropped until its clock is back.
    REQUIRE(sim.fault("MON-0001", {{"kind", "clock_skew"}, {"seconds", 3600}}));
    REQUIRE(test::eventually([&] { return ward.metric(dropped("future_timestamp")) >= 14; }, 30s));
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (const auto& r : ward.rows("MON-0001")) CHECK(r.observed_ms < now_ms + 60000);
    REQUIRE(sim.fault("MON-0001", {{"kind", "clock_skew"}, {"seconds", 0}}));
    both_flow(ward);
    CHECK(sim.monitor("MON-0001")["connections"] == 1);
}

TEST_CASE("vitals bad input: duplicated messages are dropped, out-of-order ones stored with their own time, a flood is cut") {
    test::VitalsWard ward;
    REQUIRE(ward.start());
    // One result a second: the monitors stamp whole seconds, so two results of the same
    // second swapped would not be out of order by their times.
    auto& sim = ward.add_sim("ward", {{"alarm_every", 0}, {"period_ms", 1000}});
    REQUIRE(test::eventually([&] { return ward.samples("MON-0001") > 0; }, 30s));

    REQUIRE(sim.fault("MON-0001", {{"kind", "duplicate"}}));
    REQUIRE(test::eventually([&] { return ward.metric(dropped("duplicate")) == 1; }, 30s));

    REQUIRE(sim.fault("MON-0001", {{"kind", "out_of_order"}}));
    REQUIRE(test::eventually([&] { return ward.metric("hisgate_vitals_out_of_order_total") >= 1; }, 30s));
    // Each reading stored once, the duplicate not at all and the late one too: at one
    // result a second, every heart rate has a device time of its own.
    std::map<int64_t, int> heart_rates_at;
    for (const auto& r : ward.rows("MON-0001"))
        if (r.name == "heart_rate") ++heart_rates_at[r.observed_ms];
    for (const auto& [at, n] : heart_rates_at) {
        INFO(at);
        CHECK(n == 1);
    }

    // 2,000 results at once: at most kMaxMessagesPerSecond (50) a second are taken.
    REQUIRE(sim.fault("MON-0001", {{"kind", "flood"}, {"messages", 2000}}));
    REQUIRE(test::eventually([&] { return ward.metric(dropped("flood")) >= 1000; }, 30s));
    both_flow(ward);
}
