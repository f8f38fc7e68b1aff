// The version window (issue 13 item 3) with real processes: an agent advertising an old
// protocol range that still meets the control plane's is served; one advertising a range
// wholly older is marked incompatible, its requests are refused with 503, the control
// plane logs and counts it, and the agent logs the refusal naming both ranges.
#include "fleet_support.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("version window: an old-but-in-window agent is served, a too-old one is refused on both sides") {
    test::System sys({.hospitals = {"H001", "H002"},
                      .agent_config = {{"H001", R"({"test": {"advertise_protocol": {"min": 0, "max": 1}}})"},
                                       {"H002", R"({"test": {"advertise_protocol": {"min": 0, "max": 0}}})"}}});
    REQUIRE(sys.start());
    auto h1 = test::fleet_hospital(sys, "H001");
    CHECK(h1["state"] == "online");
    CHECK(h1["compatible"] == true);
    CHECK(h1["protocol"] == nlohmann::json({{"min", 0}, {"max", 1}}));
    auto h2 = test::fleet_hospital(sys, "H002");
    CHECK(h2["state"] == "incompatible");
    CHECK(h2["compatible"] == false);
    CHECK(h2["protocol"] == nlohmann::json({{"min", 0}, {"max", 0}}));
    auto listed = nlohmann::json::parse(sys.get("/api/v1/fleet?state=incompatible").body);
    REQUIRE(listed["hospitals"].size() == 1);
    CHECK(listed["hospitals"][0]["hospitalId"] == "H002");
    CHECK(listed["window"] == nlohmann::json({{"min", 1}, {"max", 1}}));

    // In the window: served as ever.
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    // Outside: refused at once, saying both ranges.
    auto refused = sys.get("/api/v1/hospitals/H002/reports/R-DEMO-1");
    CHECK(refused.status == 503);
    CHECK(refused.code() == "hospital.incompatible");
    CHECK(refused.body.find("[0,0]") != std::string::npos);
    CHECK(refused.body.find("[1,1]") != std::string::npos);
    CHECK(test::cp_metric(sys, "hisgate_controlplane_incompatible_agents_total") == 1);
    CHECK(test::cp_metric(sys, "hisgate_controlplane_refused_requests_total{reason=\"incompatible\"}") == 1);
    std::string cp_log = test::read_file(sys.log_dir() + "/controlplane-cp1.log");
    CHECK(cp_log.find("registry.agent_incompatible") != std::string::npos);

    // The agent heard it, logged it as an error with both ranges, and took it for no task.
    REQUIRE(test::eventually([&] {
        return test::read_file(sys.log_dir() + "/agent-H002.log").find("agent.refused_by_controlplane") != std::string::npos;
    }));
    std::string agent_log = test::read_file(sys.log_dir() + "/agent-H002.log");
    auto at = agent_log.find("agent.refused_by_controlplane");
    auto line_start = agent_log.rfind('\n', at);
    auto line = nlohmann::json::parse(agent_log.substr(line_start == std::string::npos ? 0 : line_start + 1,
                                                       agent_log.find('\n', at) - (line_start + 1)));
    CHECK(line["level"] == "error");
    CHECK(line["agent_protocol"] == nlohmann::json({{"min", 0}, {"max", 0}}));
    CHECK(line["controlplane_protocol"] == nlohmann::json({{"min", 1}, {"max", 1}}));
    auto agent_metrics = test::http_get(sys.agent_metrics_port("H002"), "/metrics").body;
    CHECK(test::metric_value(agent_metrics, "hisgate_agent_refusals_total") == 1);
    CHECK(test::metric_value(agent_metrics, "hisgate_agent_requests_total{outcome=\"bad_input\"}") == 0);
    CHECK(test::metric_value(agent_metrics, "hisgate_agent_requests_total{outcome=\"admitted\"}") == 0);
}

TEST_CASE("version window: a control plane's window may only narrow what it speaks") {
    const std::string dir = test::make_temp_dir("window-config");
    test::write_file(dir + "/cp.json", R"({"broker": {"uri": "tcp://127.0.0.1:1"}, "http": {"port": 0},
        "auth": {"keys_dir": ")" + dir + R"("}, "protocol": {"min": 0, "max": 7}})");
    test::Process cp({test::binary("controlplane/hisgate-controlplane"), "--config", dir + "/cp.json"}, dir + "/out");
    REQUIRE(cp.start());
    CHECK(cp.wait_exit(10000ms) == 2);
    CHECK(cp.output().find("protocol.min") != std::string::npos);
    CHECK(cp.output().find("protocol.max") != std::string::npos);
    std::system(("rm -rf " + dir).c_str());
}
