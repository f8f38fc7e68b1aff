// When a part fails, the patient gets a clear error in bounded time, and the system
// heals by itself once the part is back.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
std::string code_of(const test::HttpReply& r) {
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    return doc.is_object() ? doc.value("code", "") : "";
}
}  // namespace

TEST_CASE("e2e: his-sim down gives 502 with a code - back up, the next request works") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    REQUIRE(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    sys.sim("H001").kill9();
    auto down = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    INFO(down.body);
    CHECK(down.status == 502);
    CHECK(code_of(down).rfind("mllp.", 0) == 0);
    auto doc = nlohmann::json::parse(down.body);
    CHECK(doc.contains("message"));
    CHECK(doc["traceId"].get<std::string>().size() == 32);
    REQUIRE(sys.start_sim("H001"));
    CHECK(test::eventually([&] { return sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200; }));
    CHECK(sys.agent("H001").running());
    CHECK(sys.controlplane().running());
}

TEST_CASE("e2e: a silent his-sim gives 504 within the configured timeout") {
    test::System sys({.hospitals = {"H001"}, .his_ack_timeout_ms = 800, .sim_faults = {{"H001", R"({"silent": true})"}}});
    REQUIRE(sys.start());
    auto started = std::chrono::steady_clock::now();
    auto reply = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    auto took = std::chrono::steady_clock::now() - started;
    INFO(reply.body);
    CHECK(reply.status == 504);
    CHECK(code_of(reply) == "mllp.ack_timeout");
    // Bounded by the configured timeouts, not a hang (a generous bound: this is not a speed test).
    CHECK(took < 30s);
    CHECK(sys.agent("H001").running());
}

TEST_CASE("e2e: an agent that dies is marked offline by its last will - 502, then back online") {
    test::System sys({.hospitals = {"H001", "H002"}});
    REQUIRE(sys.start());
    sys.agent("H001").kill9();
    REQUIRE(test::eventually([&] { return sys.online_hospitals() == std::vector<std::string>{"H002"}; }, 30s));
    auto offline = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    CHECK(offline.status == 502);
    CHECK(code_of(offline) == "hospital.offline");
    CHECK(sys.get("/api/v1/hospitals/H002/reports/R-DEMO-1").status == 200);
    REQUIRE(sys.start_agent("H001"));
    REQUIRE(test::eventually([&] { return sys.online_hospitals().size() == 2; }, 20s));
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
}

TEST_CASE("e2e: the broker restarted under a running system - everything reconnects by itself") {
    test::System sys({.hospitals = {"H001", "H002"}});
    REQUIRE(sys.start());
    REQUIRE(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    sys.broker().kill9();
    auto during = sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1");
    CHECK(during.status >= 500);  // an error with a code, not a hang or a crash
    CHECK_FALSE(code_of(during).empty());
    REQUIRE(sys.broker().start());
    CHECK(test::eventually(
        [&] {
            return sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200 &&
                   sys.get("/api/v1/hospitals/H002/reports/R-DEMO-1").status == 200;
        },
        30s));
    CHECK(sys.online_hospitals().size() == 2);
    for (const char* h : {"H001", "H002"}) {
        CHECK(sys.agent(h).running());
        CHECK(sys.sim(h).running());
    }
    CHECK(sys.controlplane().running());
}
