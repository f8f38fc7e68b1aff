// The fleet on the control plane's /metrics (issue 13 item 5), read from a running system:
// up, heartbeat age, queue depth, oldest task and probe availability per hospital, and up
// going to 0 when an agent is killed; and GET /api/v1/health/paths from the probe events.
#include "fleet_support.h"

using namespace hisgate;
using namespace std::chrono_literals;

TEST_CASE("fleet metrics: one scrape of the control plane shows every hospital, the health board its probed paths") {
    test::System sys({.hospitals = {"H001", "H002"},
                      .more_params = {{"H001", R"({"presence": {"heartbeat_interval": "1s"},
                                                   "probes": [{"path": "report", "operation": "get_report",
                                                               "cases": ["R-DEMO-1"], "interval": "1s"}]})"}}});
    REQUIRE(sys.start());
    auto page = [&] { return sys.get("/metrics").body; };
    auto has = [&](const std::string& series) { return page().find(series) != std::string::npos; };
    CHECK(test::cp_metric(sys, R"(hisgate_hospital_up{hospital="H001"})") == 1);
    CHECK(test::cp_metric(sys, R"(hisgate_hospital_up{hospital="H002"})") == 1);
    CHECK(test::eventually([&] { return has(R"(hisgate_hospital_heartbeat_age_seconds{hospital="H001"})"); }, 20s));
    CHECK(has(R"(hisgate_hospital_queue_depth{hospital="H001"})"));
    CHECK(has(R"(hisgate_hospital_oldest_task_seconds{hospital="H001"})"));
    CHECK(test::eventually(
        [&] { return has(R"(hisgate_hospital_probe_availability{hospital="H001",path="report",window="1h"})"); }, 20s));
    CHECK(test::cp_metric(sys, R"(hisgate_hospital_probe_availability{hospital="H001",path="report",window="1h"})") > 0);
    // The health board, from the probe.result events.
    auto board = [&] {
        auto reply = sys.get("/api/v1/health/paths?hospital=H001");
        auto doc = nlohmann::json::parse(reply.body, nullptr, false);
        return reply.status == 200 && doc.is_object() ? doc["paths"] : nlohmann::json::array();
    };
    REQUIRE(test::eventually([&] { return board().size() == 1; }, 20s));
    CHECK(board()[0]["path"] == "report");
    CHECK(board()[0]["probes"]["1h"].get<int>() >= 1);
    CHECK(sys.get("/api/v1/health/paths", sys.bearer("patient", "P1")).status == 403);
    CHECK(sys.get("/api/v1/health/paths?hospital=../x").status == 400);
    // Only hospitals of the registry.
    CHECK_FALSE(has(R"(hospital="H003")"));

    sys.agent("H002").kill9();
    CHECK(test::eventually([&] { return test::cp_metric(sys, R"(hisgate_hospital_up{hospital="H002"})") == 0; }, 20s));
    CHECK(test::cp_metric(sys, R"(hisgate_hospital_up{hospital="H001"})") == 1);
}
