// Remote diagnostics (issue 13 item 7): an operator reads a trace's lines from the agent's
// own log and runs its doctor, over MQTT only (the agent accepts no connection in).
#include <catch2/catch.hpp>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("diagnostics: a trace's lines come from the control plane and from the agent over MQTT") {
    test::System sys({.hospitals = {"H001", "H002"}});
    REQUIRE(sys.start());
    auto read = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    REQUIRE(read.status == 200);
    const std::string trace = read.headers["traceparent"].substr(3, 32);

    // Without hospitals named: those the trace went to, as the control plane's lines say.
    auto got = sys.get("/api/v1/traces/" + trace);
    INFO(got.body);
    REQUIRE(got.status == 200);
    auto doc = nlohmann::json::parse(got.body);
    std::set<std::string> processes;
    for (const auto& l : doc["lines"]) processes.insert(l.value("proc", ""));
    CHECK(processes.count("controlplane:cp1"));
    CHECK(processes.count("agent:H001"));
    CHECK_FALSE(processes.count("agent:H002"));  // not asked: the trace never went there
    for (const auto& l : doc["lines"]) CHECK(l.contains("trace_id") | l.contains("hl7_control_id"));
    // In time order.
    std::string last;
    for (const auto& l : doc["lines"]) {
        CHECK(l.value("ts", "") >= last);
        last = l.value("ts", "");
    }
    // The agent's lines of the task itself are there: it admitted and answered it.
    CHECK(got.body.find("agent.task_admitted") != std::string::npos);
    // No PHI crosses: the seeded patient's name and phone number are in his-sim's records,
    // never in a log line.
    CHECK(got.body.find("DEMO^PATIENT") == std::string::npos);
    CHECK(got.body.find("13800000000") == std::string::npos);

    // A hospital named that cannot answer is a source with its error, not a failure.
    sys.agent("H002").kill9();
    REQUIRE(test::eventually([&] { return sys.online_hospitals().size() == 1; }, 20s));
    auto partial = sys.get("/api/v1/traces/" + trace + "?hospitals=H001,H002");
    INFO(partial.body);
    REQUIRE(partial.status == 200);
    bool h002_error = false;
    const auto partial_doc = nlohmann::json::parse(partial.body);
    for (const auto& s : partial_doc["sources"])
        if (s["process"] == "agent:H002") h002_error = s.contains("error") && s["error"]["code"] == "hospital.offline";
    CHECK(h002_error);

    // Bad input: a malformed id, an unknown query parameter, a bad hospital id; patients may not.
    CHECK(sys.get("/api/v1/traces/not-a-trace").code() == "trace.bad_id");
    CHECK(sys.get("/api/v1/traces/" + trace + "?hospital=H001").code() == "query.unknown");
    CHECK(sys.get("/api/v1/traces/" + trace + "?hospitals=H0%2F1").code() == "hospital.bad_id");
    std::string seventeen = "H001";
    for (int i = 2; i <= 17; ++i) seventeen += ",H" + std::to_string(100 + i);
    auto too_many = sys.get("/api/v1/traces/" + trace + "?hospitals=" + seventeen);
    CHECK(too_many.status == 400);
    CHECK(too_many.code() == "trace.too_many_hospitals");
    CHECK(sys.get("/api/v1/traces/" + trace, sys.bearer("patient", "P-DEMO-1")).status == 403);
}

TEST_CASE("diagnostics: the agent's doctor runs remotely, read-only, and prints its table") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    auto ran = sys.post("/api/v1/hospitals/H001/doctor", "");
    INFO(ran.body);
    REQUIRE(ran.status == 200);
    auto doc = nlohmann::json::parse(ran.body);
    CHECK(doc["exitStatus"].is_number_integer());
    REQUIRE(doc["checks"].is_array());
    std::map<std::string, std::string> status;
    for (const auto& c : doc["checks"]) status[c.value("check", "")] = c.value("status", "");
    CHECK(status["params_file"] == "OK");
    // The agent runs: the doctor does not log in with its credentials, it reads the agent's
    // own connection (docs/doctor.md), and the agent stays connected.
    CHECK(status["broker.credentials"] == "OK");
    CHECK(doc["table"].get<std::string>().find("params_file") != std::string::npos);
    CHECK(sys.online_hospitals() == std::vector<std::string>{"H001"});
    CHECK(sys.post("/api/v1/hospitals/H001/doctor", "", sys.bearer("viewer", "v1")).status == 403);
    CHECK(sys.post("/api/v1/hospitals/H404/doctor", "").code() == "hospital.unknown");
}
