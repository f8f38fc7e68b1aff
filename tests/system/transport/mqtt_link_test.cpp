// Integration tests of the MQTT 5 contract against a real Mosquitto started by the test.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "common/metrics.h"
#include "common/trace.h"
#include "tests/support/broker.h"
#include "transport/limits.h"
#include "transport/mqtt_link.h"
#include "transport/requester.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
MqttOptions options_for(const test::Broker& b, const std::string& user, const std::string& client_id) {
    MqttOptions o;
    o.uri = b.uri();
    o.client_id = client_id;
    o.username = user;
    o.password = b.password(user);
    if (b.uri().rfind("ssl://", 0) == 0) o.ca_file = b.ca_file();
    o.backoff_min = 50ms;
    o.backoff_max = 500ms;
    return o;
}

struct Inbox {
    std::mutex mu;
    std::vector<IncomingMessage> messages;
    void add(const IncomingMessage& m) {
        std::lock_guard l(mu);
        messages.push_back(m);
    }
    size_t size() {
        std::lock_guard l(mu);
        return messages.size();
    }
    IncomingMessage at(size_t i) {
        std::lock_guard l(mu);
        return messages.at(i);
    }
};
}  // namespace

TEST_CASE("mqtt: properties travel: response topic, correlation data, traceparent - over TLS") {
    test::Broker broker({"controlplane", "H001"}, /*tls=*/true);
    REQUIRE(broker.start());
    Inbox inbox;
    MqttLink agent(options_for(broker, "H001", "agent-H001"));
    agent.subscribe(topics::request("H001"));
    agent.on_message([&](const IncomingMessage& m) { inbox.add(m); });
    agent.start();
    MqttLink cp(options_for(broker, "controlplane", "cp"));
    cp.start();
    REQUIRE(agent.wait_connected(10s));
    REQUIRE(cp.wait_connected(10s));

    auto ctx = TraceContext::start();
    OutgoingMessage out;
    out.topic = topics::request("H001");
    out.payload = "{\"x\":1}";
    out.response_topic = topics::response("H001", "cp1");
    out.correlation_data = std::string("\x01\x02\x00\xff", 4);
    out.expiry_seconds = 30;
    out.traceparent = ctx.traceparent();
    REQUIRE(cp.publish(out).ok());
    REQUIRE(test::eventually([&] { return inbox.size() == 1; }));
    auto got = inbox.at(0);
    CHECK(got.payload == "{\"x\":1}");
    CHECK(got.response_topic == out.response_topic);
    CHECK(got.correlation_data == out.correlation_data);
    CHECK(got.traceparent == ctx.traceparent());
}

TEST_CASE("mqtt: request/response matches by correlation - late and duplicate replies are dropped") {
    test::Broker broker({"controlplane", "H001"}, false);
    REQUIRE(broker.start());
    MqttLink agent(options_for(broker, "H001", "agent-H001"));
    std::atomic<int> mode{0};  // 0 = answer twice, 1 = answer late
    agent.subscribe(topics::request("H001"));
    agent.on_message([&](const IncomingMessage& m) {
        auto req = Envelope::parse(m.payload);
        REQUIRE(req.ok());
        auto out = OutgoingMessage::to(m.response_topic, req->reply({{"echo", req->body["n"]}}).to_json());
        out.correlation_data = m.correlation_data;
        std::thread([&agent, out, late = mode.load() == 1] {
            if (late) std::this_thread::sleep_for(600ms);
            (void)agent.publish(out);
            if (!late) (void)agent.publish(out);  // a QoS 1 style duplicate
        }).detach();
    });
    agent.start();
    MqttLink cp(options_for(broker, "controlplane", "cp"));
    Requester requester(cp);
    cp.subscribe(topics::all_responses("cp1"));
    cp.on_message([&](const IncomingMessage& m) { requester.deliver(m); });
    cp.start();
    REQUIRE(agent.wait_connected(10s));
    REQUIRE(cp.wait_connected(10s));

    for (int n = 0; n < 5; ++n) {
        auto reply = requester.request(topics::request("H001"), topics::response("H001", "cp1"),
                                       Envelope::make("echo", "H001", {{"n", n}}), 5s);
        REQUIRE(reply.ok());
        CHECK(reply->body["echo"] == n);
    }
    mode = 1;
    auto timed_out = requester.request(topics::request("H001"), topics::response("H001", "cp1"),
                                       Envelope::make("echo", "H001", {{"n", 99}}), 200ms);
    REQUIRE_FALSE(timed_out.ok());
    CHECK(timed_out.error().cls == ErrorClass::Timeout);
    mode = 0;
    std::this_thread::sleep_for(800ms);  // the late reply arrives now and must not be taken
    auto next = requester.request(topics::request("H001"), topics::response("H001", "cp1"),
                                  Envelope::make("echo", "H001", {{"n", 7}}), 5s);
    REQUIRE(next.ok());
    CHECK(next->body["echo"] == 7);
    CHECK(requester.in_flight() == 0);
}

TEST_CASE("mqtt: a reply is taken only from the asked hospital's response topic, in reply to the request") {
    // The attack of issue 12: with its own broker credentials, hospital H002 answers a
    // request that went to H001, knowing the correlation data (once predictable). The
    // broker lets H002 publish only in its own subtree, so the forgery comes on H002's
    // response topic; a reply on H001's topic naming another request is refused too.
    test::Broker broker({"controlplane", "H001", "H002"}, false);
    REQUIRE(broker.start());
    MqttLink attacker(options_for(broker, "H002", "agent-H002"));
    attacker.start();
    std::atomic<int> seen{0};  // replies that reached the control plane
    MqttLink agent(options_for(broker, "H001", "agent-H001"));
    agent.subscribe(topics::request("H001"));
    // Paho serves every client of a process from one thread: publish off the callback.
    agent.on_message([&](const IncomingMessage& m) {
        std::thread([&agent, &attacker, &seen, m] {
            auto req = Envelope::parse(m.payload);
            if (!req) return;
            auto forged = req->reply({{"patient", "forged by H002"}});
            forged.hospital_id = "H002";
            auto from_h002 = OutgoingMessage::to(topics::response("H002", "cp1"), forged.to_json());
            from_h002.correlation_data = m.correlation_data;
            (void)attacker.publish(from_h002);
            auto other = req->reply({{"patient", "an answer to another request"}});
            other.in_reply_to = "0123456789abcdef0123456789abcdef";
            auto wrong_id = OutgoingMessage::to(m.response_topic, other.to_json());
            wrong_id.correlation_data = m.correlation_data;
            (void)agent.publish(wrong_id);
            // The real answer comes last, once the control plane has seen both forgeries.
            for (int i = 0; i < 1000 && seen.load() < 2; ++i) std::this_thread::sleep_for(10ms);
            auto real = OutgoingMessage::to(m.response_topic, req->reply({{"patient", "real"}}).to_json());
            real.correlation_data = m.correlation_data;
            (void)agent.publish(real);
        }).detach();
    });
    agent.start();
    MqttLink cp(options_for(broker, "controlplane", "cp"));
    Requester requester(cp);
    cp.subscribe(topics::all_responses("cp1"));
    cp.on_message([&](const IncomingMessage& m) {
        requester.deliver(m);
        ++seen;
    });
    cp.start();
    REQUIRE(attacker.wait_connected(10s));
    REQUIRE(agent.wait_connected(10s));
    REQUIRE(cp.wait_connected(10s));

    auto refused_before = metrics::global()
                              .counter("hisgate_rejected_messages_total", "Messages rejected as malformed or misaddressed",
                                       {{"kind", "reply"}})
                              .value();
    auto reply = requester.request(topics::request("H001"), topics::response("H001", "cp1"),
                                   Envelope::make("report.get", "H001", {{"reportId", "R1"}}), 10s);
    REQUIRE(reply.ok());
    CHECK(reply->body["patient"] == "real");
    CHECK(metrics::global()
              .counter("hisgate_rejected_messages_total", "Messages rejected as malformed or misaddressed",
                       {{"kind", "reply"}})
              .value() == refused_before + 2);
}

TEST_CASE("mqtt: the broker ACL keeps a hospital inside its own subtree") {
    test::Broker broker({"controlplane", "H001", "H002"}, false);
    REQUIRE(broker.start());
    Inbox inbox;
    MqttLink cp(options_for(broker, "controlplane", "cp"));
    cp.subscribe(topics::all_states());
    cp.on_message([&](const IncomingMessage& m) { inbox.add(m); });
    cp.start();
    MqttLink h2(options_for(broker, "H002", "agent-H002"));
    h2.start();
    REQUIRE(cp.wait_connected(10s));
    REQUIRE(h2.wait_connected(10s));
    // MQTT 5: the broker refuses it (PUBACK "not authorized"), and nobody receives it.
    auto forged = h2.publish(OutgoingMessage::to(topics::state("H001"), "{\"forged\":true}"));
    REQUIRE_FALSE(forged.ok());
    CHECK(forged.error().code == "mqtt.publish_failed");
    REQUIRE(h2.publish(OutgoingMessage::to(topics::state("H002"), "{\"own\":true}")).ok());
    // An agent writes its answers and events; it cannot publish requests, not even to itself.
    CHECK(h2.publish(OutgoingMessage::to(topics::response("H002", "cp1"), "{}")).ok());
    CHECK(h2.publish(OutgoingMessage::to(topics::event("H002"), "{}")).ok());
    CHECK_FALSE(h2.publish(OutgoingMessage::to(topics::request("H002"), "{}")).ok());
    CHECK_FALSE(h2.publish(OutgoingMessage::to(topics::request("H001"), "{}")).ok());
    REQUIRE(test::eventually([&] { return inbox.size() >= 1; }));
    std::this_thread::sleep_for(300ms);
    REQUIRE(inbox.size() == 1);
    CHECK(inbox.at(0).topic == topics::state("H002"));
}

TEST_CASE("mqtt: the broker drops a publish over limits::kBrokerMessageBytes before any client reads it") {
    test::Broker broker({"controlplane", "H001"}, false);
    REQUIRE(broker.start());
    Inbox inbox;
    MqttLink cp(options_for(broker, "controlplane", "cp"));
    cp.subscribe(topics::all_responses("cp1"));
    cp.on_message([&](const IncomingMessage& m) { inbox.add(m); });
    cp.start();
    MqttLink h1(options_for(broker, "H001", "agent-H001"));
    h1.start();
    REQUIRE(cp.wait_connected(10s));
    REQUIRE(h1.wait_connected(10s));
    // One byte over: Mosquitto completes the QoS 1 flow with PUBACK "implementation specific
    // error" (MQTT 5), forwards it to nobody, and keeps the sender connected.
    auto over = h1.publish(OutgoingMessage::to(topics::response("H001", "cp1"), std::string(limits::kBrokerMessageBytes + 1, 'x')));
    REQUIRE_FALSE(over.ok());
    CHECK(over.error().code == "mqtt.publish_failed");
    CHECK(h1.connected());
    // Exactly at the limit passes; so does a marker after it, on the same connection.
    REQUIRE(h1.publish(OutgoingMessage::to(topics::response("H001", "cp1"), std::string(limits::kBrokerMessageBytes, 'y'))).ok());
    REQUIRE(h1.publish(OutgoingMessage::to(topics::response("H001", "cp1"), "marker")).ok());
    REQUIRE(test::eventually([&] { return inbox.size() >= 2; }, 15s));
    // Messages of one publisher arrive in order: the marker is last, and the oversize one never came.
    REQUIRE(inbox.size() == 2);
    CHECK(inbox.at(0).payload.size() == limits::kBrokerMessageBytes);
    CHECK(inbox.at(1).payload == "marker");
    // The demo's broker has the same limit.
    CHECK(test::read_file(std::string(HISGATE_SOURCE_DIR) + "/scripts/demo").find("message_size_limit " + std::to_string(limits::kBrokerMessageBytes) + "\n") !=
          std::string::npos);
}

TEST_CASE("mqtt: after a broker restart the link reconnects, resubscribes and republishes its birth") {
    test::Broker broker({"controlplane", "H001"}, false);
    REQUIRE(broker.start());
    Inbox states;
    MqttLink cp(options_for(broker, "controlplane", "cp"));
    cp.subscribe(topics::all_states());
    cp.on_message([&](const IncomingMessage& m) { states.add(m); });
    cp.start();
    auto opts = options_for(broker, "H001", "agent-H001");
    opts.birth = OutgoingMessage::to(topics::state("H001"), "{\"online\":true}", true);
    opts.will = OutgoingMessage::to(topics::state("H001"), "{\"online\":false}", true);
    MqttLink agent(opts);
    agent.start();
    REQUIRE(test::eventually([&] { return states.size() >= 1; }));
    CHECK(states.at(0).payload == "{\"online\":true}");
    // Both links have recorded their first connection (the birth can arrive before the
    // agent's link has): only then is the next one a reconnection.
    REQUIRE(agent.wait_connected(15s));
    REQUIRE(cp.wait_connected(15s));

    double before = metrics::global().counter("hisgate_mqtt_reconnects_total", "").value();
    broker.kill9();
    REQUIRE(test::eventually([&] { return !agent.connected() && !cp.connected(); }));
    REQUIRE(broker.start());
    REQUIRE(agent.wait_connected(15s));
    REQUIRE(cp.wait_connected(15s));
    // The birth is republished on the new connection; the control plane's subscription is renewed.
    REQUIRE(test::eventually([&] { return states.size() >= 2; }, 15s));
    CHECK(states.at(states.size() - 1).payload == "{\"online\":true}");
    CHECK(metrics::global().counter("hisgate_mqtt_reconnects_total", "").value() >= before + 2);
}

TEST_CASE("mqtt: a DISCONNECT from the broker ends the connection: the link says so and reconnects") {
    test::Broker broker({"controlplane", "H001"}, false);
    REQUIRE(broker.start());
    Inbox states;
    MqttLink cp(options_for(broker, "controlplane", "cp"));
    cp.subscribe(topics::all_states());
    cp.on_message([&](const IncomingMessage& m) { states.add(m); });
    cp.start();
    REQUIRE(cp.wait_connected(15s));
    auto opts = options_for(broker, "H001", "agent-H001");
    opts.birth = OutgoingMessage::to(topics::state("H001"), "{\"online\":true}", true);
    MqttLink agent(opts);
    agent.start();
    REQUIRE(test::eventually([&] { return states.size() >= 1; }));
    double before = metrics::global().counter("hisgate_mqtt_reconnects_total", "").value();

    // Another connection with the agent's client id: Mosquitto hands it the session and
    // sends the agent an MQTT 5 DISCONNECT (0x8E, session taken over), not a socket loss.
    {
        MqttLink usurper(options_for(broker, "H001", "agent-H001"));
        usurper.start();
        REQUIRE(usurper.wait_connected(15s));
        usurper.stop();
    }
    // The agent learns it was disconnected, reconnects, and publishes its birth again.
    CHECK(test::eventually([&] { return metrics::global().counter("hisgate_mqtt_reconnects_total", "").value() >= before + 1; }, 15s));
    REQUIRE(agent.wait_connected(15s));
    CHECK(test::eventually([&] { return states.size() >= 2; }, 15s));
    CHECK(agent.publish(OutgoingMessage::to(topics::state("H001"), "{\"online\":true}", true)).ok());
}

TEST_CASE("mqtt: the connection to the broker has Nagle's algorithm off") {
    test::Broker broker({"controlplane"}, false);
    REQUIRE(broker.start());
    MqttLink link(options_for(broker, "controlplane", "cp"));
    link.start();
    REQUIRE(link.wait_connected(10s));
    int checked = 0;
    for (int fd = 3; fd < 1024; ++fd) {
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 || peer.sin_family != AF_INET) continue;
        if (ntohs(peer.sin_port) != broker.port()) continue;
        int nodelay = 0;
        socklen_t optlen = sizeof nodelay;
        REQUIRE(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &optlen) == 0);
        CHECK(nodelay == 1);
        ++checked;
    }
    CHECK(checked == 1);
}
