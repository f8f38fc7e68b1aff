// One patient request through every process: HTTP -> control plane -> MQTT (TLS) ->
// agent -> HL7 v2/MLLP -> his-sim -> back as JSON, traced end to end.
#include <catch2/catch.hpp>

#include <regex>

#include <nlohmann/json.hpp>

#include "common/trace.h"
#include "common/version.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("e2e: the demo report crosses every process and comes back as JSON") {
    test::System sys({.hospitals = {"H001", "H002", "H003"}});
    REQUIRE(sys.start());

    auto online = sys.online_hospitals();
    CHECK(online == std::vector<std::string>{"H001", "H002", "H003"});

    for (const std::string h : {"H001", "H002", "H003"}) {
        auto reply = sys.get("/api/v1/hospitals/" + h + "/reports/R-DEMO-1");
        INFO(reply.body);
        REQUIRE(reply.status == 200);
        auto doc = nlohmann::json::parse(reply.body);
        CHECK(doc["reportId"] == "R-DEMO-1");
        CHECK(doc["patientId"] == "P-DEMO-1");
        CHECK(doc["status"] == "final");
        REQUIRE(doc["observations"].size() == 3);
        CHECK(doc["observations"][0]["name"] == "Hemoglobin");
        CHECK(doc["observations"][1]["flag"] == "H");
        REQUIRE(TraceContext::parse(reply.headers["traceparent"]));
    }
    // Each hospital also has a report of its own, which the others do not.
    CHECK(sys.get("/api/v1/hospitals/H002/reports/R-H002-2").status == 200);
    auto foreign = sys.get("/api/v1/hospitals/H001/reports/R-H002-2");
    CHECK(foreign.status == 404);
    CHECK(nlohmann::json::parse(foreign.body)["code"] == "report.not_found");
}

TEST_CASE("e2e: a caller's traceparent is continued, and hisgate trace shows every hop") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    auto caller = TraceContext::start();
    auto reply = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1", {{"traceparent", caller.traceparent()}});
    REQUIRE(reply.status == 200);
    auto returned = TraceContext::parse(reply.headers["traceparent"]);
    REQUIRE(returned);
    CHECK(returned->trace_id == caller.trace_id);

    std::string out_file = sys.dir() + "/trace.txt";
    std::string cmd = test::binary("cli/hisgate") + " trace " + caller.trace_id + " --logs " + sys.log_dir() + " > " +
                      out_file + " 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::string out = test::read_file(out_file);
    INFO(out);
    CHECK_THAT(out, Catch::Contains("controlplane:cp1"));
    CHECK_THAT(out, Catch::Contains("agent:H001"));
    CHECK_THAT(out, Catch::Contains("his-sim:H001"));
    // In time order: the API takes it, the agent asks the HIS, the HIS answers, the API replies.
    auto at = [&](const char* event) { return out.find(event); };
    REQUIRE(at("api.request") != std::string::npos);
    CHECK(at("api.request") < at("agent.task_admitted"));
    CHECK(at("agent.task_admitted") < at("his.query_sent"));
    CHECK(at("his.query_sent") < at("sim.answered"));
    CHECK(at("sim.answered") < at("his.answer_received"));
    CHECK(at("his.answer_received") < at("api.response"));
    CHECK_THAT(out, Catch::Contains("hop ms"));
}

TEST_CASE("e2e: /metrics on the control plane and the agent count what happened") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    for (int i = 0; i < 3; ++i) REQUIRE(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    REQUIRE(sys.get("/api/v1/hospitals/H001/reports/R-MISSING").status == 404);

    auto cp = sys.get("/metrics");
    REQUIRE(cp.status == 200);
    CHECK_THAT(cp.body, Catch::Contains("hisgate_http_requests_total{route=\"report\",status=\"200\"} 3"));
    CHECK_THAT(cp.body, Catch::Contains("hisgate_http_requests_total{route=\"report\",status=\"404\"} 1"));
    CHECK_THAT(cp.body, Catch::Contains("hisgate_http_request_duration_seconds_count{route=\"report\"} 4"));
    CHECK_THAT(cp.body, Catch::Contains("hisgate_controlplane_in_flight_requests 0"));
    CHECK_THAT(cp.body, Catch::Contains("hisgate_mqtt_reconnects_total"));

    auto agent = test::http_get(sys.agent_metrics_port("H001"), "/metrics");
    REQUIRE(agent.status == 200);
    CHECK_THAT(agent.body, Catch::Contains("hisgate_agent_requests_total{outcome=\"admitted\"} 4"));
    CHECK_THAT(agent.body, Catch::Contains("hisgate_agent_tasks_total{business=\"report\",outcome=\"ok\"} 3"));
    CHECK_THAT(agent.body, Catch::Contains("hisgate_agent_tasks_total{business=\"report\",outcome=\"not_found\"} 1"));
    CHECK_THAT(agent.body, Catch::Contains("hisgate_agent_task_duration_seconds_count{business=\"report\"} 4"));
    CHECK_THAT(agent.body, Catch::Contains("hisgate_agent_his_in_flight 0"));
    CHECK_THAT(agent.body, Catch::Contains("hisgate_agent_queue_dwell_p99_seconds{business=\"report\"}"));
    // Gauges the agent refreshes every second.
    CHECK(test::eventually([&] {
        auto now = test::http_get(sys.agent_metrics_port("H001"), "/metrics").body;
        return now.find("hisgate_agent_queue_depth{business=\"report\"} 0\n") != std::string::npos &&
               now.find("hisgate_agent_outbox_waiting 0\n") != std::string::npos;
    }));
    CHECK_THAT(agent.body, Catch::Contains("hisgate_mqtt_connected 1"));

    // Prometheus conventions on both pages (issue 10 item 10): the build, the process, a task
    // histogram reaching one hour, and no gauge passing for a summary with a quantile label.
    auto agent_now = test::http_get(sys.agent_metrics_port("H001"), "/metrics").body;
    CHECK_THAT(agent_now, Catch::Contains("hisgate_agent_task_duration_seconds_bucket{business=\"report\",le=\"3600\"} 4"));
    for (const auto& page : {cp.body, agent_now}) {
        std::smatch build;
        REQUIRE(std::regex_search(page, build, std::regex(R"re(hisgate_build_info\{revision="([0-9a-f]{12}|unknown)",version="([0-9.]+)"\} 1\n)re")));
        CHECK(build[2] == std::string(version()));
        for (const char* figure : {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
                                   "process_max_fds ", "process_start_time_seconds ", "process_virtual_memory_bytes "})
            CHECK_THAT(page, Catch::Contains(std::string("\n") + figure));
        CHECK_THAT(page, Catch::Contains("# TYPE process_cpu_seconds_total counter"));
        CHECK_THAT(page, !Catch::Contains("quantile="));
        std::smatch rss;
        REQUIRE(std::regex_search(page, rss, std::regex(R"re(\nprocess_resident_memory_bytes ([0-9.e+]+)\n)re")));
        CHECK(std::stod(rss[1]) > 1e6);  // a running program holds more than a megabyte
    }
}

TEST_CASE("e2e: logs carry trace ids and no PHI") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    REQUIRE(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    for (const char* file : {"/controlplane-cp1.log", "/agent-H001.log", "/his-sim-H001.log"}) {
        std::string text = test::read_file(sys.log_dir() + file);
        INFO(file);
        REQUIRE_FALSE(text.empty());
        // The seeded patient's name and phone number never reach a log.
        CHECK(text.find("DEMO^PATIENT") == std::string::npos);
        CHECK(text.find("13800000000") == std::string::npos);
        size_t lines = 0, parsed = 0;
        size_t start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            auto doc = nlohmann::json::parse(text.substr(start, end - start), nullptr, false);
            ++lines;
            if (!doc.is_discarded() && doc.contains("ts") && doc.contains("event")) ++parsed;
            start = end + 1;
        }
        CHECK(parsed == lines);
    }
}
