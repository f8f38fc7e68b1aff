// The forwarder against a real Mosquitto (tests/support/broker.h) and a real store: a
// backlog goes up in seq order, each row once, in batches bigger than vitals.batch_max
// but within the message bound, while the store keeps taking rows and thinning; a broker
// that goes away mid-stream: the rows are sent again from the watermark, none skipped.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>

#include "agent/vitals/vitals_forwarder.h"
#include "tests/support/broker.h"
#include "tests/support/process.h"
#include "transport/envelope.h"
#include "transport/topics.h"
#include "transport/vitals_limits.h"

using namespace hisgate;
using namespace hisgate::vitals;
using namespace std::chrono_literals;

namespace {
constexpr uint32_t kForwarderSeed = 18;

// Long names (64 bytes: the most the control plane takes) so that a batch of
// limits::kVitalsBatchRecords would be over limits::kVitalsMessageBytes.
std::vector<VitalRecord> backlog_records(std::mt19937& rng, int from, int n, int64_t& alarms) {
    std::vector<VitalRecord> out;
    for (int i = from; i < from + n; ++i) {
        VitalRecord r;
        auto bed = i % 20;
        r.device = "MON-" + std::string(56, 'x') + std::to_string(1000 + bed);
        r.bed = "BED-" + std::string(56, 'y') + std::to_string(1000 + bed);
        r.name = "heart_rate";
        r.unit = "/min";
        r.value = 40 + static_cast<double>(rng() % 100);
        r.observed_ms = r.received_ms = 1'796'460'000'000 + i;
        if (rng() % 13 == 0) {
            r.kind = VitalRecord::Kind::Alarm;
            r.name = "1002";
            r.text = "SpO2 Low";
            r.priority = 'H';
            ++alarms;
        }
        out.push_back(std::move(r));
    }
    return out;
}

MqttOptions forwarder_link_options(const test::Broker& b, const std::string& user, const std::string& client_id) {
    auto o = b.mqtt_options(user, client_id);
    o.backoff_min = 50ms;
    o.backoff_max = 500ms;
    return o;
}

// What the test's own subscriber heard on H001's vitals topic.
struct VitalsUpstream {
    std::mutex mu;
    std::vector<std::string> payloads;
    void add(const IncomingMessage& m) {
        std::lock_guard lock(mu);
        payloads.push_back(m.payload);
    }
    struct Tally {
        std::vector<int64_t> seqs;  // in the order heard
        std::map<std::string, std::vector<int64_t>> per_bed;
        int64_t thinned_reported = 0, alarms = 0;
        std::size_t largest_batch = 0, largest_bytes = 0;
        bool all_read = true;
    };
    Tally tally() {
        std::lock_guard lock(mu);
        Tally t;
        for (const auto& p : payloads) {
            auto env = Envelope::parse(p, limits::kVitalsMessageBytes);
            if (!env) {
                t.all_read = false;
                continue;
            }
            if (env->type != "vitals.batch") continue;
            t.largest_bytes = std::max(t.largest_bytes, p.size());
            const auto& recs = env->body["records"];
            t.largest_batch = std::max(t.largest_batch, recs.size());
            t.thinned_reported += env->body["thinnedSinceLast"].get<int64_t>();
            for (const auto& r : recs) {
                t.seqs.push_back(r["seq"].get<int64_t>());
                t.per_bed[r["bed"].get<std::string>()].push_back(r["seq"].get<int64_t>());
                t.alarms += r["kind"] == "alarm";
            }
        }
        return t;
    }
};

struct ForwarderRig {
    test::Broker broker{{"controlplane", "H001"}, false};
    std::string path = test::make_temp_dir("vitals-forwarder") + "/state.db";
    DropLog drops{SystemClock::instance()};
    std::unique_ptr<VitalsStore> store;
    std::unique_ptr<MqttLink> cp, agent;
    VitalsUpstream upstream;
    std::atomic<bool> stop_broker_on_first{false}, broker_stopped{false};

    explicit ForwarderRig(int64_t buffer_max) {
        REQUIRE(broker.start());
        auto s = VitalsStore::open(path, {.buffer_max = buffer_max}, SystemClock::instance(), drops);
        REQUIRE(s.ok());
        store = std::move(s.value());
        cp = std::make_unique<MqttLink>(forwarder_link_options(broker, "controlplane", "cp"));
        cp->subscribe(topics::all_vitals(), 1);
        cp->on_message([this](const IncomingMessage& m) {
            upstream.add(m);
            if (stop_broker_on_first && !broker_stopped.exchange(true)) broker.stop();
        });
        cp->start();
        REQUIRE(cp->wait_connected(10s));
        agent = std::make_unique<MqttLink>(forwarder_link_options(broker, "H001", "H001"));
        agent->start();
        REQUIRE(agent->wait_connected(10s));
    }
    std::unique_ptr<VitalsForwarder> forwarder(int batch_max) {
        return std::make_unique<VitalsForwarder>(*store, *agent, "H001", batch_max, SystemClock::instance(),
                                                 [] { return nlohmann::json{{"monitors", nlohmann::json::array()}}; });
    }
};
}  // namespace

TEST_CASE("vitals forwarder: a backlog goes up in seq order, each row once or counted thinned once, in batches within the message bound") {
    std::mt19937 rng(kForwarderSeed);
    ForwarderRig rig(8000);
    int64_t alarms = 0;
    // A backlog before the link is used: 12,000 rows, the oldest samples past 8,000 thinned.
    rig.store->ingest(backlog_records(rng, 0, 12000, alarms));
    REQUIRE(rig.store->flush().ok());
    REQUIRE(rig.store->figures().thinned_total > 0);
    auto forwarder = rig.forwarder(500);
    forwarder->start();
    forwarder->wake();
    // More rows while it forwards, so the store thins while batches are in flight.
    int sent = 12000;
    for (int round = 0; round < 24; ++round, sent += 500) {
        rig.store->ingest(backlog_records(rng, sent, 500, alarms));
        forwarder->wake();
    }
    REQUIRE(rig.store->flush().ok());
    REQUIRE(test::eventually([&] {
        forwarder->wake();
        auto now = rig.store->figures();
        return now.waiting == 0 && now.thinned_unreported == 0;
    }, 60s));
    forwarder->stop();
    REQUIRE(rig.store->flush().ok());
    auto f = rig.store->figures();
    VitalsUpstream::Tally t;
    REQUIRE(test::eventually([&] {
        t = rig.upstream.tally();
        return static_cast<int64_t>(t.seqs.size()) + f.thinned_total >= sent;
    }, 30s));
    CHECK(t.all_read);
    // Each row reached the broker once or was thinned, never both, never neither.
    std::set<int64_t> distinct(t.seqs.begin(), t.seqs.end());
    CHECK(distinct.size() == t.seqs.size());
    CHECK(static_cast<int64_t>(distinct.size()) + f.thinned_total == sent);
    CHECK(t.thinned_reported == f.thinned_total);
    CHECK(f.thinned_unreported == 0);
    // In seq order, and so in order per bed.
    CHECK(std::is_sorted(t.seqs.begin(), t.seqs.end()));
    for (const auto& [bed, seqs] : t.per_bed) CHECK(std::is_sorted(seqs.begin(), seqs.end()));
    // A backlog read bigger than vitals.batch_max, within the message bound.
    CHECK(t.largest_batch > 500);
    CHECK(t.largest_batch <= limits::kVitalsBatchRecords);
    CHECK(t.largest_bytes <= limits::kVitalsMessageBytes);
    CHECK(f.forwarded_through == *distinct.rbegin());
    CHECK(t.alarms == alarms);  // never thinned
}

TEST_CASE("vitals forwarder: the broker gone mid-stream, the rows go again from the watermark, none skipped, in order per bed") {
    std::mt19937 rng(kForwarderSeed + 1);
    ForwarderRig rig(1'000'000);
    int64_t alarms = 0;
    rig.store->ingest(backlog_records(rng, 0, 30000, alarms));
    REQUIRE(rig.store->flush().ok());
    // The broker stops as the subscriber hears the first batch: the forwarder is mid-stream.
    rig.stop_broker_on_first = true;
    auto forwarder = rig.forwarder(500);
    forwarder->start();
    forwarder->wake();
    REQUIRE(test::eventually([&] { return rig.broker_stopped.load() && !rig.agent->connected(); }, 30s));
    forwarder->stop();  // after its failure (or between batches): the watermark is all it leaves
    REQUIRE(rig.store->flush().ok());  // the acknowledgements it queued, committed
    auto through = rig.store->figures().forwarded_through;
    CHECK(through < 30000);
    REQUIRE(rig.broker.restart());
    REQUIRE(rig.cp->wait_connected(10s));  // subscribed again before anything is sent
    REQUIRE(rig.agent->wait_connected(10s));
    auto again = rig.forwarder(500);
    again->start();
    again->wake();
    REQUIRE(test::eventually([&] { again->wake(); return rig.store->figures().waiting == 0; }, 60s));
    REQUIRE(test::eventually([&] { return rig.upstream.tally().seqs.size() >= static_cast<std::size_t>(30000 - through); }, 30s));
    again->stop();
    CHECK(rig.store->figures().forwarded_through == 30000);
    auto t = rig.upstream.tally();
    CHECK(t.all_read);
    // Every row past the watermark reached the subscriber, none skipped.
    std::set<int64_t> distinct(t.seqs.begin(), t.seqs.end());
    int64_t missing = 0;
    for (int64_t seq = through + 1; seq <= 30000; ++seq) missing += !distinct.count(seq);
    CHECK(missing == 0);
    // In order per bed, but for the one step back: the resend from the watermark.
    for (const auto& [bed, seqs] : t.per_bed) {
        int steps_back = 0;
        for (std::size_t i = 1; i < seqs.size(); ++i)
            if (seqs[i] <= seqs[i - 1]) {
                ++steps_back;
                CHECK(seqs[i] > through);
            }
        CHECK(steps_back <= 1);
    }
}
