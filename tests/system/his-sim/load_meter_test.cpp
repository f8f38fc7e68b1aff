// his-sim's GET /load, as a benchmark reads it to check an agent's caps from the HIS's
// side: the real his-sim process, real HTTP requests to its REST front end held open by
// its latency fault so that they overlap.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/system.h"

using namespace hisgate;

namespace {

struct RunningSim {
    std::string dir = test::make_temp_dir("his-load");
    uint16_t port = test::free_port();
    uint16_t control = test::free_port();
    test::Process sim;

    explicit RunningSim(int latency_ms) {
        nlohmann::json params = {{"hospital", {{"id", "H001"}, {"region", "south"}}},
                                 {"his", {{"dialect", "rest-json"}, {"endpoint", "http://127.0.0.1:" + std::to_string(port)}}}};
        test::write_file(dir + "/params.json", params.dump());
        nlohmann::json config = {{"params_file", dir + "/params.json"},
                                 {"db", dir + "/his.db"},
                                 {"faults", {{"latency_ms", latency_ms}}},
                                 {"control", {{"port", control}}},
                                 {"log", {{"file", dir + "/his-sim.log"}}}};
        test::write_file(dir + "/his-sim.json", config.dump());
        sim = test::Process({test::binary("tools/his-sim/his-sim"), "--config", dir + "/his-sim.json"}, dir + "/his-sim.out");
        REQUIRE(sim.start());
        REQUIRE(test::wait_port_open(port, std::chrono::milliseconds(10000)));
        REQUIRE(test::wait_port_open(control, std::chrono::milliseconds(10000)));
    }

    nlohmann::json load() {
        auto reply = test::http_get(control, "/load");
        REQUIRE(reply.status == 200);
        return nlohmann::json::parse(reply.body);
    }
    int report() { return test::http_get(port, "/reports/R-DEMO-1").status; }
};

}  // namespace

TEST_CASE("his-sim GET /load counts requests in flight, the most at once and the most started within 60 s") {
    RunningSim his(1000);  // every answer waits 1 s, so requests sent together overlap
    auto before = his.load();
    CHECK(before["inFlight"] == 0);
    CHECK(before["maxInFlight"] == 0);
    CHECK(before["started"] == 0);
    CHECK(before["maxStartedIn60s"] == 0);

    std::vector<int> statuses(3);
    std::vector<std::thread> callers;
    for (int i = 0; i < 3; ++i) callers.emplace_back([&, i] { statuses[i] = his.report(); });
    CHECK(test::eventually([&] { return his.load()["inFlight"] == 3; }));
    for (auto& c : callers) c.join();
    for (int s : statuses) CHECK(s == 200);

    auto after = his.load();
    CHECK(after["inFlight"] == 0);
    CHECK(after["maxInFlight"] == 3);
    CHECK(after["started"] == 3);
    CHECK(after["maxStartedIn60s"] == 3);
    CHECK(after["startedInLast60s"] == 3);

    // One more, alone: counted as started, and the most at once stays what it was.
    CHECK(his.report() == 200);
    auto later = his.load();
    CHECK(later["started"] == 4);
    CHECK(later["maxInFlight"] == 3);
    CHECK(later["maxStartedIn60s"] == 4);
}

TEST_CASE("his-sim control API: an unknown path is refused naming what it serves") {
    RunningSim his(0);
    auto reply = test::http_get(his.control, "/loads");
    CHECK(reply.status == 404);
    CHECK(reply.body.find("/load (GET)") != std::string::npos);
    CHECK(test::http_get(his.control, "/faults").status == 200);
}
