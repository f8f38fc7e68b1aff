// A light simulated agent says what a real agent says: the control plane's registry takes
// its birth and heartbeats for an online hospital, its will ends the session, and it
// answers requests as the request/reply contract asks.
#include <catch2/catch.hpp>

#include "agent-swarm/light_agent.h"
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
