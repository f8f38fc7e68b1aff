// The event intake (controlplane/events/event_intake.h) on a real SQLite file: every agent
// event read once within bounds, checked against its topic, and taken once, even when the
// broker or the agent's outbox delivers it again, to this instance or to another one
// sharing the file, or after a restart.
#include <catch2/catch.hpp>

#include "common/metrics.h"
#include "controlplane/events/event_intake.h"
#include "tests/support/process.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace hisgate::controlplane::events;
using namespace std::chrono_literals;

namespace {
double counted(const std::string& type) {
    return metrics::global()
        .counter("hisgate_controlplane_events_total",
                 "Agent events received, by type (unknown, unreadable and repeated ones too)", {{"type", type}})
        .value();
}

// One control-plane instance's intake on the shared results file.
struct Instance {
    std::unique_ptr<SeenEvents> seen;
    std::unique_ptr<EventIntake> intake;
    std::vector<std::string> taken;  // "<consumer>:<hospital>:<type>:<seq>"
    Instance(const std::string& file, Clock& clock, SeenEventsWindow window = {}) {
        auto s = open_sqlite_seen_events(file, clock, window);
        REQUIRE(s.ok());
        seen = std::move(s.value());
        intake = std::make_unique<EventIntake>(*seen);
        for (const char* type : {"probe.result", "reference.changeset"})
            intake->on(type, [this](const AgentEvent& e) {
                taken.push_back("a:" + e.hospital_id + ":" + e.envelope.type + ":" + e.envelope.body.value("seq", std::string()));
            });
        intake->on("reference.changeset", [this](const AgentEvent& e) { taken.push_back("b:" + e.envelope.body.value("seq", std::string())); });
    }
    void take(const std::string& hospital, const std::string& payload) { intake->take({topics::event(hospital), payload}); }
};

std::string changeset(const std::string& hospital, const std::string& seq) {
    return Envelope::make("reference.changeset", hospital, {{"seq", seq}}).to_json();
}
}  // namespace

TEST_CASE("event intake: each event reaches every consumer of its type once, in the order they were added") {
    std::string dir = test::make_temp_dir("hisgate-events");
    ManualClock clock;
    Instance cp(dir + "/results.db", clock);
    double taken = counted("reference.changeset");
    cp.take("H001", changeset("H001", "1"));
    cp.take("H001", Envelope::make("queue.dwell_exceeded", "H001", {{"oldest_seconds", 700}}).to_json());  // no consumer
    CHECK(cp.taken == std::vector<std::string>{"a:H001:reference.changeset:1", "b:1"});
    CHECK(counted("reference.changeset") == taken + 1);
    std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("event intake: a repeated event has no second effect, in this instance, another one, or after a restart") {
    std::string dir = test::make_temp_dir("hisgate-events");
    ManualClock clock;
    const std::string file = dir + "/results.db";
    auto one = std::make_unique<Instance>(file, clock);
    Instance two(file, clock);
    double repeated = counted("repeated");
    const auto first = changeset("H001", "1");
    one->take("H001", first);
    one->take("H001", first);  // QoS 1 again
    two.take("H001", first);   // redelivered to the other member of the shared subscription
    // The same envelope id from another hospital is another event.
    auto borrowed = Envelope::parse(first).value();
    borrowed.hospital_id = "H002";
    two.take("H002", borrowed.to_json());
    one.reset();  // a restart: the claims are in the file
    Instance again(file, clock);
    clock.advance(5h);
    again.take("H001", first);  // the agent's outbox, after a 5 h outage
    CHECK(counted("repeated") == repeated + 3);
    CHECK(two.taken == std::vector<std::string>{"a:H002:reference.changeset:1", "b:1"});
    CHECK(again.taken.empty());
    std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("event intake: past the window an event id is new again, and old claims are pruned") {
    std::string dir = test::make_temp_dir("hisgate-events");
    ManualClock clock;
    Instance cp(dir + "/results.db", clock, SeenEventsWindow{1h});
    const auto first = changeset("H001", "1");
    cp.take("H001", first);
    clock.advance(61min);
    cp.take("H001", first);
    CHECK(cp.taken.size() == 4);
    // Pruning runs every 1000 claims; what it deleted is new again, what it kept is not.
    for (int i = 0; i < 1000; ++i) REQUIRE(cp.seen->claim("H009", "e" + std::to_string(i)).ok());
    clock.advance(61min);
    for (int i = 0; i < 1000; ++i) REQUIRE(cp.seen->claim("H008", "e" + std::to_string(i)).ok());
    auto again = cp.seen->claim("H009", "e1");
    REQUIRE(again.ok());
    CHECK(*again);
    auto kept = cp.seen->claim("H008", "e1");
    REQUIRE(kept.ok());
    CHECK_FALSE(*kept);
    std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("event intake: forged, unreadable, oversized and unknown events are counted and dropped, never a crash") {
    std::string dir = test::make_temp_dir("hisgate-events");
    ManualClock clock;
    Instance cp(dir + "/results.db", clock);
    double unreadable = counted("unreadable"), unknown = counted("unknown");
    cp.take("H001", "{not json");
    cp.take("H001", "");
    cp.take("H001", changeset("H002", "1"));  // another hospital's envelope on H001's topic
    cp.take("H001", Envelope::make("reference.changeset", "H001", {{"pad", std::string(limits::kEventBytes, 'x')}}).to_json());
    cp.take("H001", std::string(100000, '['));  // nesting
    cp.intake->take({"hisgate/v1/hospitals/../event", changeset("H001", "1")});
    CHECK(counted("unreadable") == unreadable + 6);
    cp.take("H001", Envelope::make("cosmic.ray", "H001").to_json());
    cp.take("H001", Envelope::make(std::string(60, 'z'), "H001").to_json());
    CHECK(counted("unknown") == unknown + 2);
    CHECK(cp.taken.empty());
    std::system(("rm -rf " + dir).c_str());
}
