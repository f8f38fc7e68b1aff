// Bad input on every topic and endpoint gets a clear error; no process crashes or exits.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "his-sim/hospital.h"
#include "tests/support/system.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
MqttOptions as_user(test::Broker& b, const std::string& user) {
    MqttOptions o;
    o.uri = b.uri();
    o.client_id = "probe-" + user;
    o.username = user;
    o.password = b.password(user);
    o.ca_file = b.ca_file();
    return o;
}

struct Replies {
    std::mutex mu;
    std::map<std::string, std::string> by_correlation;
    std::string get(const std::string& c) {
        std::lock_guard l(mu);
        auto it = by_correlation.find(c);
        return it == by_correlation.end() ? "" : it->second;
    }
};

// `probe` plays a control plane instance: its replies from H001 are collected in `replies`.
void listen_for_replies(MqttLink& probe, Replies& replies) {
    probe.subscribe(topics::response("H001", "probe"));
    probe.on_message([&](const IncomingMessage& m) {
        std::lock_guard l(replies.mu);
        replies.by_correlation[m.correlation_data] = m.payload;
    });
    probe.start();
    REQUIRE(probe.wait_connected(10s));
}

std::string code_of(const std::string& body) {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (!doc.is_object()) return "";
    if (doc.contains("error")) return doc["error"].value("code", "");
    return doc.value("code", "");
}
}  // namespace

TEST_CASE("e2e: malformed requests on an agent's topic are answered with errors, and it keeps serving") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    Replies replies;
    MqttLink probe(as_user(sys.broker(), "controlplane-test"));
    listen_for_replies(probe, replies);

    struct Case {
        std::string payload, expected_code;
    };
    auto wrong_hospital = Envelope::make("report.get", "H002", {{"reportId", "R-DEMO-1"}}).to_json();
    auto unknown_type = Envelope::make("surgery.schedule", "H001").to_json();
    auto missing_body = Envelope::make("report.get", "H001").to_json();
    Case cases[] = {
        {"{this is not json", "envelope.invalid"},
        {R"({"schema": 99, "id": "x", "type": "report.get", "hospital_id": "H001"})", "envelope.unsupported_schema"},
        {R"({"schema": 1, "type": "report.get", "hospital_id": "H001"})", "envelope.invalid"},
        {wrong_hospital, "request.wrong_hospital"},
        {unknown_type, "request.unknown_type"},
        {missing_body, "request.invalid"},
        // The remote diagnostics' request (controlplane/remote_diagnostics.h) with a trace id
        // that is not a string, or a body that is no object at all.
        {Envelope::make("logs.get", "H001", {{"traceId", 7}}).to_json(), "request.invalid"},
        {Envelope::make("logs.get", "H001", {{"traceId", {{"$ne", ""}}}}).to_json(), "request.invalid"},
        {Envelope::make("logs.get", "H001", nlohmann::json::array({"x"})).to_json(), "envelope.invalid"},
    };
    int n = 0;
    for (const auto& c : cases) {
        INFO(c.payload);
        auto msg = OutgoingMessage::to(topics::request("H001"), c.payload);
        msg.response_topic = topics::response("H001", "probe");
        msg.correlation_data = "case-" + std::to_string(n++);
        REQUIRE(probe.publish(msg).ok());
        REQUIRE(test::eventually([&] { return !replies.get(msg.correlation_data).empty(); }));
        CHECK(code_of(replies.get(msg.correlation_data)) == c.expected_code);
    }
    CHECK(sys.agent("H001").running());
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
}

TEST_CASE("e2e: a request naming a wildcard or foreign response topic is refused, and answers to others keep flowing") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    Replies replies;
    MqttLink probe(as_user(sys.broker(), "controlplane-test"));
    listen_for_replies(probe, replies);
    int n = 0;
    for (const std::string& bad : {topics::response("H001", "#"), topics::response("H001", "+"),
                                  topics::response("H001", "probe/+"), topics::response("H002", "probe"),
                                  topics::response("H001", std::string(300, 'p'))}) {
        INFO(bad.substr(0, 80));
        auto msg = OutgoingMessage::to(topics::request("H001"),
                                       Envelope::make("report.get", "H001", {{"reportId", "R-DEMO-1"}}).to_json());
        msg.response_topic = bad;
        msg.correlation_data = "bad-" + std::to_string(n);
        REQUIRE(probe.publish(msg).ok());
        // The next request with a good topic is answered: the agent was not disconnected
        // and nothing is stuck at the head of its outbox.
        auto good = OutgoingMessage::to(topics::request("H001"),
                                        Envelope::make("report.get", "H001", {{"reportId", "R-DEMO-1"}}).to_json());
        good.response_topic = topics::response("H001", "probe");
        good.correlation_data = "good-" + std::to_string(n++);
        REQUIRE(probe.publish(good).ok());
        REQUIRE(test::eventually([&] { return !replies.get(good.correlation_data).empty(); }, 20s));
        CHECK(code_of(replies.get(good.correlation_data)).empty());
    }
    CHECK(sys.agent("H001").running());
    auto log = test::read_file(sys.log_dir() + "/agent-H001.log");
    CHECK(log.find("agent.bad_response_topic") != std::string::npos);
    CHECK(log.find("mqtt.connection_lost") == std::string::npos);
}

TEST_CASE("e2e: a duplicated request (QoS 1 redelivery) is answered twice from one HIS call") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    Replies replies;
    std::atomic<int> answers{0};
    MqttLink probe(as_user(sys.broker(), "controlplane-test"));
    probe.subscribe(topics::response("H001", "probe"));
    probe.on_message([&](const IncomingMessage& m) {
        std::lock_guard l(replies.mu);
        replies.by_correlation[m.correlation_data + "#" + std::to_string(answers++)] = m.payload;
    });
    probe.start();
    REQUIRE(probe.wait_connected(10s));
    auto msg = OutgoingMessage::to(topics::request("H001"),
                                   Envelope::make("report.get", "H001", {{"reportId", "R-DEMO-1"}}).to_json());
    msg.response_topic = topics::response("H001", "probe");
    msg.correlation_data = "dup";
    REQUIRE(probe.publish(msg).ok());
    REQUIRE(test::eventually([&] { return answers == 1; }));
    REQUIRE(probe.publish(msg).ok());
    REQUIRE(test::eventually([&] { return answers == 2; }));
    CHECK(replies.get("dup#0") == replies.get("dup#1"));
    CHECK(code_of(replies.get("dup#0")).empty());

    CHECK(sys.his_count("H001", "SELECT count(*) FROM queries WHERE kind = 'report' AND key = ?1", {"R-DEMO-1"}) == 1);
}

TEST_CASE("e2e: forged or unreadable state messages change nothing") {
    // H003: a hospital's credentials with no agent of theirs running (one connection per user).
    test::System sys({.hospitals = {"H001", "H002"}, .broker_users = {"H003"}});
    REQUIRE(sys.start());
    MqttLink h3(as_user(sys.broker(), "H003"));
    h3.start();
    REQUIRE(h3.wait_connected(10s));
    // Another hospital's topic: the broker refuses it outright.
    auto other = h3.publish(OutgoingMessage::to(topics::state("H002"),
                                                Envelope::make("state", "H002", {{"online", false}}).to_json(), true));
    CHECK_FALSE(other.ok());
    // Its own topic, but naming another hospital, or unreadable: the control plane rejects it.
    REQUIRE(h3.publish(OutgoingMessage::to(topics::state("H003"),
                                           Envelope::make("state", "H002", {{"online", false}}).to_json()))
                .ok());
    REQUIRE(h3.publish(OutgoingMessage::to(topics::state("H003"), "]]garbage[[")).ok());
    REQUIRE(h3.publish(OutgoingMessage::to(topics::state("H003"),
                                           R"({"schema": 7, "id": "a", "type": "state", "hospital_id": "H003"})"))
                .ok());
    REQUIRE(test::eventually([&] {
        return sys.get("/metrics").body.find("hisgate_rejected_messages_total{kind=\"state\"} 3") != std::string::npos;
    }));
    CHECK(sys.online_hospitals() == std::vector<std::string>{"H001", "H002"});
    CHECK(sys.controlplane().running());
    CHECK(sys.get("/api/v1/hospitals/H002/reports/R-DEMO-1").status == 200);
}

TEST_CASE("e2e: bad HTTP requests get JSON errors with code, message and traceId") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    struct Case {
        std::string path;
        int status;
        std::string code;
    };
    Case cases[] = {
        {"/api/v1/hospitals/H999/reports/R-DEMO-1", 404, "hospital.unknown"},
        {"/api/v1/hospitals/H%2B1/reports/R-DEMO-1", 404, "hospital.unknown"},
        {"/api/v1/hospitals/H001/reports/R-NOPE", 404, "report.not_found"},
        {"/api/v1/hospitals/H001/reports/bad'id", 400, "report.bad_id"},
        {"/api/v1/nothing", 404, "http.not_found"},
    };
    for (const auto& c : cases) {
        INFO(c.path);
        auto reply = sys.get(c.path);
        CHECK(reply.status == c.status);
        auto doc = nlohmann::json::parse(reply.body, nullptr, false);
        REQUIRE(doc.is_object());
        CHECK(doc["code"] == c.code);
        CHECK_FALSE(doc["message"].get<std::string>().empty());
        CHECK(doc["traceId"].get<std::string>().size() == 32);
    }
    CHECK(sys.controlplane().running());
}

// Issue 12, attacks: each of these crashed a process of the running demo. Now each is
// refused with a clear error before any work is done on it, and the hospital keeps serving.

TEST_CASE("e2e attack: a booking over HTTP with a 40,000-character patient id is refused, and the agent keeps serving") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    std::string today = sim::utc_today();
    nlohmann::json body = {
        {"orderId", "O-LONG-1"},
        {"slotId", "S-DR-101-" + today + "-08:00"},
        {"slot", {{"doctorId", "DR-101"}, {"departmentId", "D-INT"}, {"date", today}, {"start", "08:00"},
                  {"end", "08:15"}, {"half", "AM"}, {"feeCents", 2500}}},
        {"patient", {{"id", std::string(40000, 'P')}, {"birthDate", "1980-01-01"}, {"sex", "female"},
                     {"realNameVerified", true}}}};
    auto reply = sys.post("/api/v1/hospitals/H001/appointments", body.dump());
    INFO(reply.body.substr(0, 300));
    CHECK(reply.status == 400);
    CHECK(code_of(reply.body) == "http.field_too_long");
    CHECK_THAT(reply.body, Catch::Contains("body.patient.id is at most 64 bytes, found 40000"));
    CHECK(sys.agent("H001").running());
    CHECK(sys.controlplane().running());
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
}

TEST_CASE("e2e attack: a 100 KB report id over MQTT is refused by the agent, which keeps serving") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    Replies replies;
    MqttLink probe(as_user(sys.broker(), "controlplane-test"));
    listen_for_replies(probe, replies);
    auto msg = OutgoingMessage::to(topics::request("H001"),
                                   Envelope::make("report.get", "H001", {{"reportId", std::string(100 * 1024, 'R')}}).to_json());
    msg.response_topic = topics::response("H001", "probe");
    msg.correlation_data = "long-report-id";
    REQUIRE(probe.publish(msg).ok());
    REQUIRE(test::eventually([&] { return !replies.get("long-report-id").empty(); }, 20s));
    // 100 KB is over the request cap (64 KiB) before the id's own cap (64 bytes) is reached.
    CHECK(code_of(replies.get("long-report-id")) == "envelope.too_large");

    auto within = OutgoingMessage::to(topics::request("H001"),
                                      Envelope::make("report.get", "H001", {{"reportId", std::string(60 * 1024, 'R')}}).to_json());
    within.response_topic = msg.response_topic;
    within.correlation_data = "long-report-id-2";
    REQUIRE(probe.publish(within).ok());
    REQUIRE(test::eventually([&] { return !replies.get("long-report-id-2").empty(); }, 20s));
    CHECK(code_of(replies.get("long-report-id-2")) == "request.too_long");
    CHECK_THAT(replies.get("long-report-id-2"), Catch::Contains("body.reportId is at most 64 bytes, found 61440"));

    CHECK(sys.agent("H001").running());
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
}

TEST_CASE("e2e attack: a request nested 500,000 levels deep over MQTT is refused before it is read, and the agent keeps serving") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    Replies replies;
    MqttLink probe(as_user(sys.broker(), "controlplane-test"));
    listen_for_replies(probe, replies);
    auto nested = [](size_t levels) {
        return R"({"schema": 1, "id": "deep-)" + std::to_string(levels) +
               R"(", "type": "report.get", "hospital_id": "H001", "body": {"reportId": "R-DEMO-1", "x": )" +
               std::string(levels, '[') + std::string(levels, ']') + "}}";
    };
    struct Case {
        size_t levels;
        const char* code;
    };
    // 500,000 levels is a megabyte: over the request cap. 30,000 fit in it: over the depth cap.
    for (auto [levels, code] : {Case{500000, "envelope.too_large"}, Case{30000, "envelope.too_deep"}}) {
        INFO(levels << " levels");
        auto msg = OutgoingMessage::to(topics::request("H001"), nested(levels));
        msg.response_topic = topics::response("H001", "probe");
        msg.correlation_data = "deep-" + std::to_string(levels);
        REQUIRE(probe.publish(msg).ok());
        REQUIRE(test::eventually([&] { return !replies.get(msg.correlation_data).empty(); }, 20s));
        CHECK(code_of(replies.get(msg.correlation_data)) == code);
        CHECK(sys.agent("H001").running());
    }
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
}

TEST_CASE("e2e attack: a hospital's nested retained state message is refused by the control plane, which serves every hospital") {
    // H003: a hospital's credentials with no agent of theirs running (one connection per user).
    test::System sys({.hospitals = {"H001", "H002"}, .broker_users = {"H003"}});
    REQUIRE(sys.start());
    MqttLink h3(as_user(sys.broker(), "H003"));
    h3.start();
    REQUIRE(h3.wait_connected(10s));
    auto nested = [](size_t levels) {
        return R"({"schema": 1, "id": "s", "type": "state", "hospital_id": "H003", "body": {"online": true, "x": )" +
               std::string(levels, '[') + std::string(levels, ']') + "}}";
    };
    // With the hospital's own credentials, on its own state topic, retained: every control
    // plane (and every restart of one) reads it.
    REQUIRE(h3.publish(OutgoingMessage::to(topics::state("H003"), nested(500000), true)).ok());
    REQUIRE(h3.publish(OutgoingMessage::to(topics::state("H003"), nested(30000), true)).ok());
    REQUIRE(test::eventually([&] {
        return sys.get("/metrics").body.find("hisgate_rejected_messages_total{kind=\"state\"} 2") != std::string::npos;
    }));
    CHECK(sys.controlplane().running());
    auto log = test::read_file(sys.log_dir() + "/controlplane-cp1.log");
    CHECK(log.find("envelope.too_large") != std::string::npos);
    CHECK(log.find("envelope.too_deep") != std::string::npos);
    CHECK(sys.get("/api/v1/hospitals/H002/reports/R-DEMO-1").status == 200);
    CHECK(sys.online_hospitals() == std::vector<std::string>{"H001", "H002"});
}
