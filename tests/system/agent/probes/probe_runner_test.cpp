// The probe runner against a real his-sim process over MLLP: ok on repeated answers,
// changed after an interface change, failed when the HIS is down, archived with rotation
// when the hospital removes the known case, and state that survives a restart.
#include <catch2/catch.hpp>

#include <ctime>
#include <mutex>

#include "adapters/registry.h"
#include "agent/probes/probe_runner.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/sqlite.h"
#include "common/utc_time.h"
#include "config-params/param_set.h"
#include "tests/support/process.h"
#include "tests/support/running_his.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace hisgate::agent::probes;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// One his-sim process on free loopback ports, with its hospital in a SQLite file the test
// can reach into (as the hospital itself would when it archives a report).
struct HisSim {
    std::string dir = test::make_temp_dir("probes-his");
    uint16_t mllp_port = test::free_port();
    uint16_t control_port = test::free_port();
    std::string params_file = dir + "/params.json";
    std::string db = dir + "/his.db";
    test::Process process;

    HisSim() {
        test::write_file(params_file, json{{"hospital", {{"id", "H001"}, {"region", "south"}}},
                                           {"his",
                                            {{"dialect", "hl7v2-mllp"},
                                             {"endpoint", "127.0.0.1:" + std::to_string(mllp_port)},
                                             {"connect_timeout", "1s"},
                                             {"answer_timeout", "2s"}}}}
                                          .dump());
        test::write_file(dir + "/his-sim.json", json{{"params_file", params_file},
                                                     {"db", db},
                                                     {"control", {{"port", control_port}}},
                                                     {"log", {{"file", dir + "/his-sim.log"}}}}
                                                    .dump());
    }
    bool start() {
        process = test::Process({test::binary("tools/his-sim/his-sim"), "--config", dir + "/his-sim.json"}, dir + "/his-sim.out");
        return process.start() && test::wait_port_open(mllp_port, 10s) && test::wait_port_open(control_port, 10s);
    }
    void stop() { process.stop(); }
    void set_faults(const std::string& faults) {
        auto reply = test::http_send(control_port, "PUT", "/faults", faults);
        REQUIRE(reply.status == 200);
    }
    // What "the hospital archived it" looks like: the report is gone from the HIS.
    void archive_report(const std::string& report_id) {
        auto his = sql::Db::open(db);
        REQUIRE(his.ok());
        for (const char* sql : {"DELETE FROM observations WHERE report_id = ?", "DELETE FROM reports WHERE report_id = ?"}) {
            auto s = his->prepare(sql);
            REQUIRE(s.ok());
            REQUIRE(s->bind(1, report_id).run().ok());
        }
    }
    std::unique_ptr<HisAdapter> adapter() {
        const auto& catalog = params::Catalog::builtin();
        REQUIRE(catalog.ok());
        auto p = params::ParamSet::load_file(catalog.value(), params_file);
        REQUIRE(p.ok());
        auto a = AdapterRegistry::builtin().create(p.value());
        REQUIRE(a.ok());
        return std::move(a.value());
    }
};

// The test's observer of what goes upstream.
class CollectingSink : public agent::EventSink {
public:
    Result<void> emit(const std::string& type, const json& body) override {
        std::lock_guard lock(mu_);
        events_.push_back(json{{"type", type}, {"body", body}});
        return {};
    }
    std::vector<json> results() {
        std::lock_guard lock(mu_);
        std::vector<json> out;
        for (const auto& e : events_) {
            CHECK(e["type"] == "probe.result");
            out.push_back(e["body"]);
        }
        return out;
    }

private:
    std::mutex mu_;
    std::vector<json> events_;
};

ProbeSpec report_probe(std::vector<std::string> cases, std::chrono::milliseconds interval = 5min) {
    return ProbeSpec{"lab_report", Operation::GetReport, std::move(cases), interval};
}

}  // namespace

TEST_CASE("probe runner: repeated answers are ok for every operation, the first one is the baseline") {
    HisSim his;
    REQUIRE(his.start());
    auto adapter = his.adapter();
    REQUIRE(adapter->pay({"T-PROBE-1", 1500, "wechat"}).ok());  // the hospital's test order
    CollectingSink sink;
    std::vector<ProbeSpec> probes = {report_probe({"R-DEMO-1"}),
                                     {"report_list", Operation::ListReports, {"P-DEMO-1"}, 5min},
                                     {"schedule", Operation::DoctorSchedule, {"DR-101"}, 5min},
                                     {"payment", Operation::PaymentStatus, {"T-PROBE-1"}, 5min}};
    auto runner = ProbeRunner::create(*adapter, probes, test::make_temp_dir("probes") + "/agent.db", sink);
    REQUIRE(runner.ok());

    auto first = runner.value()->run_once();
    auto second = runner.value()->run_once();
    REQUIRE(first.size() == 4);
    REQUIRE(second.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
        INFO(first[i].to_json().dump());
        CHECK(first[i].path == probes[i].path);
        CHECK(first[i].outcome == Outcome::Ok);
        CHECK(first[i].first_answer);
        CHECK(first[i].case_id == probes[i].cases[0]);
        CHECK(first[i].fingerprint.size() == 64);
        CHECK(second[i].outcome == Outcome::Ok);
        CHECK_FALSE(second[i].first_answer);
        CHECK(second[i].fingerprint == first[i].fingerprint);
        CHECK(*second[i].last_hour.share() == 1.0);
        CHECK(second[i].last_day.probes == 2);
    }
    // Every result went upstream, in order, as a probe.result event.
    auto events = sink.results();
    REQUIRE(events.size() == 8);
    CHECK(events[4]["path"] == "lab_report");
    CHECK(events[4]["outcome"] == "ok");
    CHECK(events[4]["first_answer"] == false);
    CHECK(events[4]["availability"]["1h"]["share"] == 1.0);
    CHECK(events[7]["operation"] == "payment_status");

    auto metrics = metrics::global().render();
    CHECK_THAT(metrics, Catch::Contains("hisgate_agent_probe_availability{path=\"schedule\",window=\"1h\"} 1"));
    CHECK_THAT(metrics, Catch::Contains("hisgate_agent_probe_availability{path=\"payment\",window=\"24h\"} 1"));

    auto unknown = runner.value()->check("billing");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().code == "probe.unknown_path");
    auto one = runner.value()->check("schedule");
    REQUIRE(one.ok());
    CHECK(one->outcome == Outcome::Ok);
}

TEST_CASE("probe runner: a field moved by the HIS is seen as changed by the next probe") {
    HisSim his;
    REQUIRE(his.start());
    auto adapter = his.adapter();
    CollectingSink sink;
    ManualClock clock;
    auto runner = ProbeRunner::create(*adapter, {report_probe({"R-DEMO-1"}, 5min)},
                                      test::make_temp_dir("probes") + "/agent.db", sink, clock);
    REQUIRE(runner.ok());
    runner.value()->start();
    // Each interval is stepped once the runner waits for it, so each step is one probe.
    auto next_probe = [&](size_t n) {
        REQUIRE(clock.await_waiters(1));
        clock.advance(5min);
        REQUIRE(test::eventually([&] { return sink.results().size() == n; }));
    };
    REQUIRE(test::eventually([&] { return sink.results().size() == 1; }));  // the first probe runs at once
    next_probe(2);
    // The vendor's upgrade moves the report title from OBR-4 to OBR-5-2.
    his.set_faults(R"({"moved_fields": {"report.title": "OBR-5-2"}})");
    next_probe(3);
    next_probe(4);
    REQUIRE(clock.await_waiters(1));
    runner.value()->stop();

    auto results = sink.results();
    REQUIRE(results.size() == 4);  // no probe without its interval passing
    CHECK(results[0]["outcome"] == "ok");
    CHECK(results[0]["first_answer"] == true);
    CHECK(results[1]["outcome"] == "ok");
    CHECK(results[1]["at"] == iso_utc(clock.wall_now() - 10min));
    auto changed = results[2];  // the first probe after the move reports it
    INFO(changed.dump());
    CHECK(changed["outcome"] == "changed");
    CHECK(changed["diff"]["disappeared"] == json::array({"/title"}));
    CHECK(changed["diff"]["appeared"] == json::array());
    CHECK(changed["availability"]["1h"]["changed"] == 1);
    // Counted as available, but flagged.
    CHECK(changed["availability"]["1h"]["share"] == 1.0);
    CHECK(changed.dump().find("Complete blood count") == std::string::npos);  // field names, never values
    // The moved answer is now the last good one: the next probe is ok again.
    CHECK(results[3]["outcome"] == "ok");
    CHECK_THAT(metrics::global().render(),
               Catch::Contains("hisgate_agent_probe_changed{path=\"lab_report\",window=\"1h\"} 1"));
}

TEST_CASE("probe runner: a stopped HIS is failed with its error class and code, and availability falls") {
    HisSim his;
    REQUIRE(his.start());
    auto adapter = his.adapter();
    CollectingSink sink;
    ManualClock clock;
    auto runner = ProbeRunner::create(*adapter, {report_probe({"R-DEMO-1"})}, test::make_temp_dir("probes") + "/agent.db",
                                      sink, clock);
    REQUIRE(runner.ok());
    CHECK(runner.value()->run_once().at(0).outcome == Outcome::Ok);

    his.stop();
    clock.advance(10min);
    auto down = runner.value()->run_once().at(0);
    INFO(down.to_json().dump());
    CHECK(down.outcome == Outcome::Failed);
    REQUIRE(down.error);
    CHECK(down.error->cls == ErrorClass::Unavailable);
    // The adapter's open connection is found closed first; then no connection opens.
    CHECK((down.error->code == "mllp.connection_lost" || down.error->code == "mllp.connect_failed"));
    CHECK(*down.last_hour.share() == 0.5);
    clock.advance(1min);
    auto still_down = runner.value()->run_once().at(0);
    CHECK(still_down.outcome == Outcome::Failed);
    CHECK(still_down.error->code == "mllp.connect_failed");
    CHECK(sink.results().back()["error"]["class"] == "unavailable");
    CHECK(sink.results().back()["error"]["code"] == "mllp.connect_failed");
    CHECK(*still_down.last_hour.share() == Approx(1.0 / 3.0));
    // The heartbeat's summary for the fleet registry: the last outcome and availability per path.
    auto summary = runner.value()->summary();
    CHECK(summary["lab_report"]["outcome"] == "failed");
    CHECK(summary["lab_report"]["availability1h"].get<double>() == Approx(1.0 / 3.0));
    CHECK_THAT(metrics::global().render(),
               Catch::Contains("hisgate_agent_probe_availability{path=\"lab_report\",window=\"1h\"} 0.333"));

    // Back up 80 minutes later: the outage has left the last hour, not the last day.
    REQUIRE(his.start());
    clock.advance(80min);
    auto back = runner.value()->run_once().at(0);
    CHECK(back.outcome == Outcome::Ok);
    CHECK_FALSE(back.first_answer);
    CHECK(back.last_hour.probes == 1);
    CHECK(*back.last_hour.share() == 1.0);
    CHECK(back.last_day.probes == 4);
    CHECK(*back.last_day.share() == 0.5);
    CHECK(runner.value()->summary()["lab_report"]["outcome"] == "ok");
    CHECK(runner.value()->summary()["lab_report"]["availability24h"] == 0.5);
    auto event = sink.results().back();
    CHECK(event["availability"]["1h"]["share"] == 1.0);
    CHECK(event["availability"]["24h"]["probes"] == 4);
}

TEST_CASE("probe runner: an archived case rotates to the next candidate, and says so when none is left") {
    HisSim his;
    REQUIRE(his.start());
    auto adapter = his.adapter();
    CollectingSink sink;
    auto runner = ProbeRunner::create(*adapter, {report_probe({"R-DEMO-1", "R-H001-2"})},
                                      test::make_temp_dir("probes") + "/agent.db", sink);
    REQUIRE(runner.ok());
    auto& r = *runner.value();
    CHECK(r.run_once().at(0).outcome == Outcome::Ok);

    his.archive_report("R-DEMO-1");
    auto archived = r.run_once().at(0);
    INFO(archived.to_json().dump());
    CHECK(archived.outcome == Outcome::Archived);
    CHECK(archived.case_id == "R-DEMO-1");
    CHECK(archived.next_case == "R-H001-2");
    REQUIRE(archived.error);
    CHECK(archived.error->cls == ErrorClass::NotFound);
    CHECK(*archived.last_hour.share() == 1.0);  // the path answered
    CHECK(sink.results().back()["next_case"] == "R-H001-2");

    auto rotated = r.run_once().at(0);
    CHECK(rotated.outcome == Outcome::Ok);
    CHECK(rotated.case_id == "R-H001-2");
    CHECK(rotated.first_answer);

    his.archive_report("R-H001-2");
    auto last = r.run_once().at(0);
    CHECK(last.outcome == Outcome::Archived);
    CHECK_FALSE(last.next_case);
    CHECK(sink.results().back()["next_case"] == nullptr);

    auto none = r.run_once().at(0);
    CHECK(none.outcome == Outcome::Failed);
    CHECK(none.case_id.empty());  // the HIS was not asked
    REQUIRE(none.error);
    CHECK(none.error->code == "probe.no_case");
    CHECK_THAT(none.error->message, Catch::Contains("add fresh cases to the probes parameter"));
}

TEST_CASE("probe runner: the current case, last good answer and history survive a restart of the runner") {
    HisSim his;
    REQUIRE(his.start());
    auto adapter = his.adapter();
    std::string state = test::make_temp_dir("probes") + "/agent.db";
    CollectingSink sink;
    std::string fingerprint;
    {
        auto runner = ProbeRunner::create(*adapter, {report_probe({"R-DEMO-1", "R-H001-2"})}, state, sink);
        REQUIRE(runner.ok());
        runner.value()->start();
        REQUIRE(test::eventually([&] { return sink.results().size() == 1; }));
        runner.value()->stop();
        his.archive_report("R-DEMO-1");
        CHECK(runner.value()->run_once().at(0).outcome == Outcome::Archived);
        auto rotated = runner.value()->run_once().at(0);
        CHECK(rotated.case_id == "R-H001-2");
        fingerprint = rotated.fingerprint;
    }
    auto again = ProbeRunner::create(*adapter, {report_probe({"R-DEMO-1", "R-H001-2"})}, state, sink);
    REQUIRE(again.ok());
    auto after = again.value()->run_once().at(0);
    CHECK(after.case_id == "R-H001-2");  // not back to the archived first candidate
    CHECK(after.outcome == Outcome::Ok);
    CHECK_FALSE(after.first_answer);     // compared with the answer kept before the restart
    CHECK(after.fingerprint == fingerprint);
    CHECK(after.last_day.probes == 4);

    his.set_faults(R"({"moved_fields": {"report.title": "OBR-5-2"}})");
    auto changed = again.value()->run_once().at(0);
    CHECK(changed.outcome == Outcome::Changed);
    CHECK(changed.diff.disappeared == std::vector<std::string>{"/title"});
}

TEST_CASE("probe runner: a state file that cannot be opened is an error at creation") {
    HisSim his;  // not started: nothing is asked
    auto adapter = his.adapter();
    CollectingSink sink;
    auto runner = ProbeRunner::create(*adapter, {report_probe({"R-DEMO-1"})}, "/nonexistent-dir/agent.db", sink);
    REQUIRE_FALSE(runner.ok());
    CHECK(runner.error().code == "sqlite.open_failed");
}

TEST_CASE("probe runner: a 404 that is not the HIS saying \"no such case\" fails the probe and archives nothing") {
    // A HIS web application being redeployed: its web server answers 404 to everything,
    // with no vendor code. (his-sim's control port is such a server.) The path is down.
    for (const char* dialect : {"rest-json", "soap-xml"}) {
        DYNAMIC_SECTION(dialect) {
            test::RunningHis his(nlohmann::json{{"dialect", dialect}});
            std::string redeploying = "http://127.0.0.1:" + std::to_string(his.control_port) +
                                      (std::string(dialect) == "soap-xml" ? "/his/soap" : "");
            auto down = his.adapter_with({{"endpoint", redeploying}});
            CollectingSink sink;
            std::string state = test::make_temp_dir("probes") + "/agent.db";
            {
                auto runner = ProbeRunner::create(*down, {report_probe({"R-DEMO-1", "R-H001-2"})}, state, sink);
                REQUIRE(runner.ok());
                for (int i = 0; i < 3; ++i) {
                    auto r = runner.value()->run_once().at(0);
                    INFO(r.to_json().dump());
                    CHECK(r.outcome == Outcome::Failed);
                    CHECK(r.case_id == "R-DEMO-1");
                    REQUIRE(r.error);
                    CHECK(r.error->cls == ErrorClass::Unavailable);
                    CHECK(*r.last_hour.share() == 0.0);
                }
            }
            // Redeployed: the same case answers again, none was archived.
            auto runner = ProbeRunner::create(*his.adapter, {report_probe({"R-DEMO-1", "R-H001-2"})}, state, sink);
            REQUIRE(runner.ok());
            auto back = runner.value()->run_once().at(0);
            CHECK(back.outcome == Outcome::Ok);
            CHECK(back.case_id == "R-DEMO-1");
        }
    }
}
