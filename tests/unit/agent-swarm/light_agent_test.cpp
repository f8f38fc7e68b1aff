// A light simulated agent says what a real agent says: the control plane's registry takes
// its birth and heartbeats for an online hospital, its will ends the session, and it
// answers requests as the request/reply contract asks.
#include <catch2/catch.hpp>

#include "agent-swarm/light_agent.h"
#include "common/digest.h"
#include "controlplane/hospital_registry.h"
#include "transport/envelope.h"
#include "transport/topics.h"

using namespace hisgate;

namespace {
IncomingMessage as_received(const OutgoingMessage& m) {
    IncomingMessage in;
    in.topic = m.topic;
    in.payload = m.payload;
    return in;
}
}  // namespace

TEST_CASE("agent-swarm light agent: the registry takes its birth and heartbeat, and a will of its old session changes nothing") {
    controlplane::HospitalRegistry registry;
    swarm::LightAgent agent("S00001", swarm::simulated_description(), 1000);
    auto first = agent.next_session();
    CHECK(agent.session() == 1001);
    REQUIRE(registry.apply_state(as_received(first.birth)));
    REQUIRE(registry.find("S00001"));
    CHECK(registry.find("S00001")->online);
    REQUIRE(registry.apply_state(as_received(agent.heartbeat())));
    CHECK(registry.record("S00001")->last_heartbeat_ms > 0);
    // A new connection: a newer session; the old one's will arriving late is set aside.
    auto second = agent.next_session();
    REQUIRE(registry.apply_state(as_received(second.birth)));
    CHECK_FALSE(registry.apply_state(as_received(first.will)));
    CHECK(registry.find("S00001")->online);
    // Its own will ends it.
    REQUIRE(registry.apply_state(as_received(second.will)));
    CHECK_FALSE(registry.find("S00001")->online);
    CHECK(registry.record("S00001")->body["capabilities"].size() >= 9);
}

TEST_CASE("agent-swarm light agent: answers a deferred request with its stored acknowledgement, then the result") {
    swarm::LightAgent agent("S00002", swarm::simulated_description(), 0);
    auto request = Envelope::make("report.get", "S00002", {{"reportId", "R-9"}});
    request.ack_stored = true;
    IncomingMessage in;
    in.topic = topics::request("S00002");
    in.payload = request.to_json();
    in.response_topic = topics::response("S00002", "cp1");
    in.correlation_data = "c-1";
    auto out = agent.answer(in);
    REQUIRE(out.size() == 2);
    auto stored = Envelope::parse(out[0].payload);
    REQUIRE(stored);
    CHECK(stored->is_stored_ack());
    auto result = Envelope::parse(out[1].payload);
    REQUIRE(result);
    CHECK(result->in_reply_to == request.id);
    CHECK(result->body["reportId"] == "R-9");
    CHECK(out[1].topic == in.response_topic);
    CHECK(out[1].correlation_data == "c-1");
}

TEST_CASE("agent-swarm light agent: refuses an unknown type or another hospital's request, and answers nowhere else") {
    swarm::LightAgent agent("S00003", swarm::simulated_description(), 0);
    IncomingMessage in;
    in.topic = topics::request("S00003");
    in.response_topic = topics::response("S00003", "cp1");
    in.payload = Envelope::make("no.such.type", "S00003").to_json();
    auto out = agent.answer(in);
    REQUIRE(out.size() == 1);
    CHECK(Envelope::parse(out[0].payload)->error->code == "request.unknown_type");
    in.payload = Envelope::make("report.get", "S00004", {{"reportId", "R"}}).to_json();
    out = agent.answer(in);
    REQUIRE(out.size() == 1);
    CHECK(Envelope::parse(out[0].payload)->error->code == "request.wrong_hospital");
    in.response_topic = topics::response("S00004", "cp1");  // not its own subtree
    CHECK(agent.answer(in).empty());
}

TEST_CASE("agent-swarm light agent: release.install restarts it at the new version and a broken one rolls back") {
    swarm::ReleaseBehaviour behaviour;
    behaviour.delay_ms = 500;
    behaviour.broken_versions = {"2.0.0"};
    behaviour.params_file = {{"hospital", {{"id", "S00005"}}}};
    swarm::LightAgent agent("S00005", swarm::simulated_description("1.0.0", behaviour.params_file), 0);
    agent.set_release_behaviour(&behaviour);
    auto version_of = [](const OutgoingMessage& birth) { return Envelope::parse(birth.payload)->body; };
    CHECK(version_of(agent.next_session().birth)["version"] == "1.0.0");
    IncomingMessage in;
    in.topic = topics::request("S00005");
    in.response_topic = topics::response("S00005", "cp1");
    in.payload = Envelope::make("release.install", "S00005", {{"version", "1.1.0"}, {"manifest_url", "http://x"}}).to_json();
    auto out = agent.answer(in, 10000);
    REQUIRE(out.size() == 1);
    CHECK(Envelope::parse(out[0].payload)->body["accepted"] == true);
    CHECK_FALSE(agent.restart_due(10499));
    CHECK(agent.restart_due(10500));
    auto after = version_of(agent.next_session().birth);
    CHECK(after["version"] == "1.1.0");
    CHECK(after["probes"]["sim.report"]["outcome"] == "ok");
    CHECK_FALSE(agent.restart_due(20000));

    // params.get: the file whose hash the birth advertises.
    in.payload = Envelope::make("params.get", "S00005").to_json();
    out = agent.answer(in, 20000);
    REQUIRE(out.size() == 1);
    CHECK(Envelope::parse(out[0].payload)->body["params"] == behaviour.params_file);
    CHECK(after["paramsHash"] == sha256_hex(behaviour.params_file.dump()));

    // A broken build: back at the new version with a failing probe, then at the old one.
    in.payload = Envelope::make("release.install", "S00005", {{"version", "2.0.0"}}).to_json();
    REQUIRE(agent.answer(in, 30000).size() == 1);
    REQUIRE(agent.restart_due(30500));
    auto broken = version_of(agent.next_session().birth);
    CHECK(broken["version"] == "2.0.0");
    CHECK(broken["probes"]["sim.report"]["outcome"] == "failed");
    CHECK_FALSE(agent.restart_due(40000));  // the rollback is timed from here
    CHECK(agent.restart_due(40500));
    auto rolled_back = version_of(agent.next_session().birth);
    CHECK(rolled_back["version"] == "1.1.0");
    CHECK(rolled_back["probes"]["sim.report"]["outcome"] == "ok");

    // "silent": no answer, no restart.
    behaviour.mode = "silent";
    CHECK(agent.answer(in, 50000).empty());
    CHECK_FALSE(agent.restart_due(90000));
}
