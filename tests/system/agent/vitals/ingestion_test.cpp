// Samples and alarms from both result interfaces, stored durably in order and forwarded
// upstream in order per bed; no patient identity in the agent's log.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "vitals_ward.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("vitals ingestion: both interfaces give typed samples and alarms, stored in order and forwarded per bed in order") {
    test::VitalsWard ward;
    REQUIRE(ward.start());
    // MON-0001 speaks the unsolicited interface (PM-9000), MON-0002 the real-time one
    // (PM-50, mapped to realtime by vitals.interfaces).
    ward.add_sim("ward", {{"models", {{{"model", "PM-9000"}, {"interface", "unsolicited"}},
                                      {{"model", "PM-50"}, {"interface", "realtime"}}}}});
    const std::set<std::string> kVitals = {"heart_rate", "spo2", "resp_rate", "nibp_sys", "nibp_dia", "nibp_mean", "temperature"};
    auto complete = [&](const std::string& device) {
        std::map<std::string, int> by_name;
        int alarms = 0;
        for (const auto& r : ward.rows(device)) {
            if (r.kind == 0) ++by_name[r.name];
            else ++alarms;
        }
        for (const auto& v : kVitals)
            if (by_name[v] < 5) return false;
        return alarms >= 2;
    };
    REQUIRE(test::eventually([&] { return complete("MON-0001") && complete("MON-0002"); }, 60s));

    for (const std::string device : {"MON-0001", "MON-0002"}) {
        INFO(device);
        auto rows = ward.rows(device);
        std::string bed = device == "MON-0001" ? "BED-001" : "BED-002";
        int64_t last_observed = 0;
        for (const auto& r : rows) {
            CHECK(r.bed == bed);
            // Stored in the order the monitor sent them (no fault: its clock only moves on).
            CHECK(r.observed_ms >= last_observed);
            last_observed = r.observed_ms;
            if (r.kind == 0) {
                CHECK(kVitals.count(r.name) == 1);
                if (r.name == "heart_rate") {
                    CHECK(r.unit == "/min");
                    CHECK(r.value >= 40);
                    CHECK(r.value <= 180);
                }
                if (r.name == "temperature") CHECK(r.unit == "Cel");
            } else {
                CHECK((r.priority == "H" || r.priority == "M" || r.priority == "L"));
            }
        }
    }
    // Technical alarms (lead off, sensor off) arrive too: every third alarm of the sim.
    REQUIRE(test::eventually([&] {
        for (const auto& r : ward.rows())
            if (r.kind == 1 && r.technical) return true;
        return false;
    }, 60s));

    // Forwarded upstream: every record once in seq order, each bed's in the order stored.
    REQUIRE(test::eventually([&] {
        auto rows = ward.rows();
        int64_t through = rows.empty() ? 0 : rows.back().seq;
        for (const auto& b : ward.batches())
            if (b.body["lastSeq"].get<int64_t>() >= through && through > 0) return true;
        return false;
    }, 30s));
    std::map<std::string, int64_t> last_seq_by_bed;
    int64_t last_seq = 0;
    std::set<std::string> kinds, priorities;
    for (const auto& b : ward.batches()) {
        CHECK(b.type == "vitals.batch");
        for (const auto& r : b.body["records"]) {
            auto seq = r["seq"].get<int64_t>();
            CHECK(seq > last_seq);  // no repeat, no reordering (one publisher, acknowledged)
            last_seq = seq;
            auto bed = r["bed"].get<std::string>();
            CHECK(seq > last_seq_by_bed[bed]);
            last_seq_by_bed[bed] = seq;
            kinds.insert(r["kind"].get<std::string>());
            if (r["kind"] == "alarm") priorities.insert(r["priority"].get<std::string>());
        }
    }
    CHECK(kinds == std::set<std::string>{"alarm", "sample"});
    CHECK(last_seq_by_bed.count("BED-001") == 1);
    CHECK(last_seq_by_bed.count("BED-002") == 1);
    CHECK_FALSE(priorities.empty());

    // The monitors' states upstream: both connected, with the interface their model speaks
    // and the time of their latest sample.
    REQUIRE(test::eventually([&] {
        return ward.reported_state("MON-0001") == "connected" && ward.reported_state("MON-0002") == "connected";
    }, 30s));
    for (const auto& m : ward.monitor_reports().back().body["monitors"]) {
        CHECK(m["lastSampleAt"].get<int64_t>() > 0);
        CHECK(m["interface"] == (m["device"] == "MON-0002" ? "realtime" : "unsolicited"));
    }

    // Durable: the agent stopped keeps every record it had taken, and started again it
    // finds the monitors again and goes on after them (seq continues, nothing rewritten).
    auto before = ward.rows();
    REQUIRE(ward.sys().agent("H001").stop() == 0);
    auto kept = ward.rows();
    REQUIRE(kept.size() >= before.size());
    for (std::size_t i = 0; i < before.size(); ++i) CHECK(kept[i].seq == before[i].seq);
    REQUIRE(ward.sys().start_agent("H001"));
    auto last = kept.back().seq;
    CHECK(test::eventually([&] {
        int64_t after = 0;
        for (const auto& r : ward.rows("MON-0002")) after += r.seq > last;
        return after >= 14;
    }, 60s));
    // The simulated patients' names (PID-5) never reach the agent's log.
    auto log = ward.agent_log();
    CHECK(log.find("SIMPATIENT") == std::string::npos);
    CHECK(log.find("vitals.monitor_connected") != std::string::npos);
}
