// Mosquitto stopped for 30 s while the agent works through a backlog: the answers it
// produces meanwhile wait in its outbox and reach the control plane once the broker is
// back, every one exactly once after the control plane's dedupe.
#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include "control_plane_client.h"
#include "tests/support/system.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
// A metric's value from a Prometheus text page; -1 if absent.
double metric(const std::string& page, const std::string& series) {
    auto at = page.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(page.substr(at + series.size() + 2));
}
}  // namespace

TEST_CASE("outbox: answers made while Mosquitto is stopped for 30 s reach the control plane exactly once") {
    // 10 HIS calls per second: the 300 reports take the whole outage to serve.
    test::System sys({.hospitals = {"H001"},
                      .request_timeout_ms = 300,
                      .his_params = {{"H001", R"({"concurrency": 2, "rate_per_minute": 600})"}}});
    REQUIRE(sys.start());

    // Requests as patients make them, through the control plane (which keeps an answer
    // only for a request it sent): most are answered 202 with the task id to poll.
    constexpr int kReports = 300;
    std::vector<std::string> ids(kReports);  // "" when answered at once (no task to poll)
    std::vector<std::thread> callers;
    for (int t = 0; t < 10; ++t)
        callers.emplace_back([&, t] {
            for (int i = t; i < kReports; i += 10) {
                auto reply = sys.get(std::string("/api/v1/hospitals/H001/reports/") + (i % 2 ? "R-DEMO-1" : "R-MISSING"));
                auto doc = nlohmann::json::parse(reply.body, nullptr, false);
                if (doc.is_object() && doc.contains("taskId")) ids[i] = doc["taskId"].get<std::string>();
            }
        });
    for (auto& c : callers) c.join();
    auto agent_metrics = [&] { return test::http_get(sys.agent_metrics_port("H001"), "/metrics").body; };
    REQUIRE(test::eventually([&] {
        return metric(agent_metrics(), "hisgate_agent_requests_total{outcome=\"admitted\"}") == kReports;
    }));

    sys.broker().stop();
    auto stopped_at = std::chrono::steady_clock::now();
    // The agent keeps serving its queue; answers pile up in its outbox.
    REQUIRE(test::eventually([&] { return metric(agent_metrics(), "hisgate_agent_outbox_waiting") > 100; }, 25s));
    std::this_thread::sleep_until(stopped_at + 30s);
    auto during = agent_metrics();
    INFO(during);
    CHECK(metric(during, "hisgate_mqtt_connected") == 0);
    REQUIRE(sys.broker().start());

    // Every answer arrives; the control plane keeps each request's answer once.
    REQUIRE(test::eventually([&] { return metric(agent_metrics(), "hisgate_agent_outbox_waiting") == 0; }, 60s));
    for (const auto& id : ids) {
        if (id.empty()) continue;
        test::HttpReply task;
        REQUIRE(test::eventually([&] { return (task = sys.get("/api/v1/tasks/" + id)).status == 200; }, 30s));
        INFO(task.body);
        auto doc = nlohmann::json::parse(task.body);
        CHECK(doc["status"] == "answered");
        CHECK((doc.contains("result") ? doc["result"]["reportId"] == "R-DEMO-1"
                                      : doc["error"]["code"] == "report.not_found"));
    }
    auto cp = sys.get("/metrics").body;
    CHECK(metric(cp, "hisgate_controlplane_answers_total{outcome=\"new\"}") == kReports);
    // Duplicates (a resend after a lost PUBACK) may happen; they are counted, never kept twice.
    double dups = metric(cp, "hisgate_controlplane_answers_total{outcome=\"duplicate\"}");
    std::printf("outbox test: %d answers kept once, %g duplicates dropped\n", kReports, dups < 0 ? 0 : dups);
}
