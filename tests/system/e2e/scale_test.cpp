// Horizontal scale (issue 13 item 4): two control-plane instances share one results store
// and hear each other's answers, so any instance serves any request, and one killed with
// SIGKILL under load loses no accepted request beyond its own callers' waits and books
// nothing twice. Real processes, the real broker; his-sim executes every repeat of an
// order (idempotent_orders false) and its own records count what it executed.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "his-sim/hospital.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
nlohmann::json scale_booking(const std::string& order, const std::string& patient) {
    std::string today = sim::utc_today();
    return {{"orderId", order},
            {"slotId", "S-DR-401-" + today},
            {"slot", {{"doctorId", "DR-401"}, {"departmentId", "D-OBS"}, {"date", today}, {"feeCents", 5000}}},
            {"patient", {{"id", patient}, {"birthDate", "1980-01-01"}, {"sex", "female"}}}};
}

std::string scale_task_of(const test::HttpReply& r) {
    if (auto it = r.headers.find("Task-Id"); it != r.headers.end()) return it->second;
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    return doc.is_object() && doc.contains("taskId") && doc["taskId"].is_string() ? doc["taskId"].get<std::string>() : "";
}
}  // namespace

TEST_CASE("scale: with two control-plane instances, killing one under load loses no accepted request and books once") {
    test::System sys({.hospitals = {"H001"},
                      .request_timeout_ms = 4000,
                      // Every call is still at the HIS when the instance is killed.
                      .sim_faults = {{"H001", R"({"latency_ms": 1500})"}},
                      .his_params = {{"H001", R"({"idempotent_orders": false})"}},
                      .controlplane_config = R"({"task_deadline_ms": 90000})",
                      .controlplanes = 2});
    REQUIRE(sys.start());
    REQUIRE(test::eventually([&] { return sys.get_at(1, "/api/v1/hospitals").body.find("H001") != std::string::npos; }, 20s));
    constexpr int kPatients = 8;
    for (int i = 0; i < kPatients; ++i) REQUIRE(sys.set_patient_facts("P-SCALE-" + std::to_string(i), true));

    // Load on both instances at once: a booking per patient and a report read each, half of
    // them through the instance that is killed while they are in flight.
    std::mutex mu;
    std::vector<std::pair<int, test::HttpReply>> bookings, reports;
    std::vector<std::thread> clients;
    for (int i = 0; i < kPatients; ++i) {
        const int via = i % 2;
        const std::string patient = "P-SCALE-" + std::to_string(i);
        clients.emplace_back([&, via, i, patient] {
            auto r = sys.post_at(via, "/api/v1/hospitals/H001/appointments", scale_booking("O-SCALE-" + std::to_string(i), patient).dump());
            std::lock_guard lock(mu);
            bookings.emplace_back(i, r);
        });
        clients.emplace_back([&, via, patient] {
            auto r = sys.get_at(via, "/api/v1/hospitals/H001/reports/R-DEMO-1");
            std::lock_guard lock(mu);
            reports.emplace_back(via, r);
        });
    }
    std::this_thread::sleep_for(300ms);
    sys.controlplane(0).kill9();
    for (auto& t : clients) t.join();

    // Every report request an instance accepted (a task id handed out) ends answered,
    // served by the survivor, whichever instance sent it.
    int accepted = 0;
    for (const auto& [via, r] : reports) {
        std::string task = scale_task_of(r);
        INFO("via cp" << via + 1 << ": " << r.status << " " << r.body);
        if (via == 1) CHECK((r.status == 200 || r.status == 202));  // the survivor answered its own callers
        if (task.empty()) continue;  // the killed instance's caller lost its connection: never accepted
        ++accepted;
        test::HttpReply polled;
        REQUIRE(test::eventually([&] {
            polled = sys.get_at(1, "/api/v1/tasks/" + task);
            return polled.status == 200 || polled.status == 410;
        }, 30s));
        INFO(polled.body);
        if (polled.status == 200) CHECK(nlohmann::json::parse(polled.body)["status"] == "answered");
    }
    CHECK(accepted >= kPatients / 2);

    // The killed instance's callers lost their connections mid-request.
    int lost = 0;
    for (const auto& [i, first] : bookings) lost += i % 2 == 0 && first.status == 0;
    CHECK(lost >= 1);

    // Each booking's caller that lost its answer sends it again, same order, through the
    // survivor: it reaches the same task, and the HIS holds each booking once.
    for (const auto& [i, first] : bookings) {
        const std::string patient = "P-SCALE-" + std::to_string(i);
        test::HttpReply r = first;
        INFO(patient << " first: " << first.status << " " << first.body);
        REQUIRE(test::eventually([&] {
            if (r.status == 200) return true;
            r = sys.post_at(1, "/api/v1/hospitals/H001/appointments", scale_booking("O-SCALE-" + std::to_string(i), patient).dump());
            return r.status == 200;
        }, 40s));
        INFO(r.body);
        CHECK(nlohmann::json::parse(r.body)["status"] == "booked");
        CHECK(sys.his_bookings_of("H001", patient) == 1);
    }
    CHECK(sys.controlplane(1).running());
}

TEST_CASE("scale: a task made through one instance is polled through the other") {
    test::System sys({.hospitals = {"H001"}, .controlplanes = 2});
    REQUIRE(sys.start());
    REQUIRE(test::eventually([&] { return sys.get_at(1, "/api/v1/hospitals").body.find("H001") != std::string::npos; }, 20s));
    auto patient = sys.bearer("patient", "P-DEMO-1");
    auto read = sys.get_at(0, "/api/v1/hospitals/H001/reports/R-DEMO-1", patient);
    REQUIRE(read.status == 200);
    auto polled = sys.get_at(1, "/api/v1/tasks/" + scale_task_of(read), patient);
    INFO(polled.body);
    CHECK(polled.status == 200);
    CHECK(nlohmann::json::parse(polled.body)["result"]["reportId"] == "R-DEMO-1");
    // Each answer was heard by both instances and kept once.
    for (int i = 0; i < 2; ++i) {
        auto page = sys.get_at(i, "/metrics").body;
        INFO("cp" << i + 1);
        CHECK(test::metric_value(page, "hisgate_controlplane_answers_total{outcome=\"new\"}") +
                  test::metric_value(page, "hisgate_controlplane_answers_total{outcome=\"duplicate\"}") >= 1);
    }
}
