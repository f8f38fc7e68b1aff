// Tenants stay apart on MQTT (issue 12 item 3): with its own broker credentials, one
// hospital can neither answer for another nor take over another's MQTT session. Real
// processes, the real broker with the production ACL.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/system.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
MqttOptions as_hospital(test::Broker& b, const std::string& user, const std::string& client_id) {
    MqttOptions o = b.mqtt_options(user, client_id);
    o.backoff_min = 50ms;
    o.backoff_max = 500ms;
    return o;
}

// The control plane's count of agent answers with this outcome (new, duplicate, refused).
int answers(test::System& sys, const std::string& outcome) {
    return static_cast<int>(test::metric_value(sys.get("/metrics").body, "hisgate_controlplane_answers_total{outcome=\"" + outcome + "\"}"));
}
}  // namespace

TEST_CASE("tenants: a hospital's credentials cannot answer another hospital's request") {
    test::System sys({.hospitals = {"H001", "H002"},
                      .request_timeout_ms = 1500,
                      .more_params = {{"H001", R"({"queue": {"retry_backoff_min": "200ms", "retry_backoff_max": "1s"}})"}}});
    REQUIRE(sys.start());
    // H002's credentials in an intruder's hands (its agent is stopped so they are free).
    sys.agent("H002").stop();
    // H001's HIS is down: its report request stays pending with a task id.
    sys.sim("H001").kill9();
    auto pending = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    INFO(pending.body);
    REQUIRE(pending.status == 202);
    std::string task = nlohmann::json::parse(pending.body)["taskId"].get<std::string>();

    MqttLink intruder(as_hospital(sys.broker(), "H002", "intruder"));
    intruder.start();
    REQUIRE(intruder.wait_connected(10s));
    Envelope forged = Envelope::make("report.get.result", "H001",
                                     {{"reportId", "R-DEMO-1"}, {"title", "FORGED by H002"}, {"items", nlohmann::json::array()}});
    forged.in_reply_to = task;
    // The ACL lets H002 publish only inside its own subtree: its response topic to cp1.
    REQUIRE(intruder.publish(OutgoingMessage::to(topics::response("H002", "cp1"), forged.to_json())).ok());
    REQUIRE(test::eventually([&] { return answers(sys, "refused") + answers(sys, "new") >= 1; }, 10s));
    CHECK(answers(sys, "refused") == 1);
    CHECK(sys.get("/api/v1/tasks/" + task).status == 202);

    // The real answer, once H001's HIS is back, is the one kept.
    REQUIRE(sys.start_sim("H001"));
    test::HttpReply answered;
    REQUIRE(test::eventually([&] { return (answered = sys.get("/api/v1/tasks/" + task)).status == 200; }, 30s));
    INFO(answered.body);
    auto result = nlohmann::json::parse(answered.body);
    CHECK(result["result"]["reportId"] == "R-DEMO-1");
    CHECK(result["result"].value("title", "") != "FORGED by H002");
    CHECK(sys.controlplane().running());
}

TEST_CASE("tenants: a hospital's credentials cannot take over another's MQTT client id") {
    test::System sys({.hospitals = {"H001"}, .broker_users = {"H002"}});
    REQUIRE(sys.start());
    auto reconnects = [&](uint16_t port) {
        auto page = test::http_get(port, "/metrics", sys.bearer("service", "prometheus")).body;
        auto at = page.find("\nhisgate_mqtt_reconnects_total ");
        return at == std::string::npos ? -1 : std::stoi(page.substr(at + 31));
    };
    int agent_before = reconnects(sys.agent_metrics_port("H001"));
    int cp_before = reconnects(sys.api_port());
    REQUIRE(agent_before >= 0);
    REQUIRE(cp_before >= 0);
    // With H002's password, connect asking for the client ids of H001's agent and of the
    // control plane. The broker names the session after the user instead, so neither is
    // disconnected (before, each was thrown off and the two fought over the id).
    for (std::string id : {"agent-H001", "controlplane-cp1", "H001", "controlplane"}) {
        INFO(id);
        MqttLink intruder(as_hospital(sys.broker(), "H002", id));
        intruder.start();
        REQUIRE(intruder.wait_connected(10s));
        // H001 is served all along (its agent must be connected to answer).
        CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
        intruder.stop();
    }
    CHECK(reconnects(sys.agent_metrics_port("H001")) == agent_before);
    CHECK(reconnects(sys.api_port()) == cp_before);
    CHECK(test::read_file(sys.broker().dir() + "/mosquitto.log").find("already connected") == std::string::npos);
}
