// The offline buffer: while the broker is away, waiting samples past
// vitals.buffer_max_samples are thinned oldest-first, alarms never; the count is kept and
// reported upstream once the broker is back, with every alarm.
#include <catch2/catch.hpp>

#include <set>

#include "vitals_ward.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("vitals offline buffer: routine samples thinned oldest-first, alarms kept, the thinned counted and reported") {
    test::VitalsWard ward(nlohmann::json{{"buffer_max_samples", 100}});
    REQUIRE(ward.start());
    // Every second result is followed by an alarm, so alarms soon outnumber nothing else.
    auto& sim = ward.add_sim("ward", {{"period_ms", 100}, {"alarm_every", 2}});
    REQUIRE(test::eventually([&] { return ward.samples("MON-0001") > 0 && !ward.batches().empty(); }, 30s));

    ward.sys().broker().stop();
    // Buffer full: thinning begins.
    REQUIRE(test::eventually([&] { return ward.metric("hisgate_vitals_thinned_total") >= 200; }, 60s));
    auto alarms_sent = sim.status()["monitors"][0]["alarms"].get<int64_t>() + sim.status()["monitors"][1]["alarms"].get<int64_t>();

    auto rows = ward.rows();
    std::set<int64_t> present;
    int64_t oldest_waiting_sample = INT64_MAX;
    int64_t waiting_samples = 0, alarms = 0;
    for (const auto& r : rows) {
        present.insert(r.seq);
        if (r.kind == 1) ++alarms;
        if (r.kind == 0 && !r.forwarded) {
            ++waiting_samples;
            oldest_waiting_sample = std::min(oldest_waiting_sample, r.seq);
        }
    }
    // Bounded: waiting samples never above the buffer (alarms do not count against it... they
    // are simply never deleted).
    CHECK(waiting_samples <= 100);
    // Oldest first: every missing seq (a thinned sample) is older than every waiting sample.
    for (int64_t s = 1; s <= rows.back().seq; ++s)
        if (!present.count(s)) CHECK(s < oldest_waiting_sample);
    // No alarm thinned: the agent holds at least every alarm the monitors had sent when
    // thinning was under way (stored ones may lag the monitor by a commit).
    CHECK(test::eventually([&] { return ward.alarms("") >= alarms_sent; }, 30s));

    // The broker back: everything waiting goes up, with the thinned count.
    REQUIRE(ward.sys().broker().restart());
    REQUIRE(test::eventually([&] {
        auto rs = ward.rows();
        for (const auto& r : rs)
            if (!r.forwarded && r.seq < rs.back().seq - 200) return false;
        return ward.metric("hisgate_vitals_waiting") < 200;
    }, 60s));
    int64_t reported = 0, total = 0;
    std::set<int64_t> alarm_seqs_upstream;
    auto tally = [&] {
        reported = total = 0;
        alarm_seqs_upstream.clear();
        for (const auto& b : ward.batches()) {
            reported += b.body["thinnedSinceLast"].get<int64_t>();
            total = std::max(total, b.body["thinnedTotal"].get<int64_t>());
            for (const auto& r : b.body["records"])
                if (r["kind"] == "alarm") alarm_seqs_upstream.insert(r["seq"].get<int64_t>());
        }
        for (const auto& r : rows)
            if (r.kind == 1 && !alarm_seqs_upstream.count(r.seq)) return false;
        return reported > 0;
    };
    // The subscriber hears them a little after the broker acknowledged them to the agent.
    CHECK(test::eventually(tally, 30s));
    CHECK(reported > 0);
    CHECK(reported <= total);
    // Every alarm the agent stored before the outage ended reached upstream.
    for (const auto& r : rows)
        if (r.kind == 1) CHECK(alarm_seqs_upstream.count(r.seq) == 1);
}
