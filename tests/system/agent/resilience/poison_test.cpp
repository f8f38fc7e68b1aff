// A request that crashes the agent is not handed back to it for ever (issue 12 item 2).
// The agent of the test build (hisgate-agent-test-hooks) aborts as it starts running the
// chosen booking, its attempt already counted; the test restarts it each time, as a
// supervisor would. After queue.max_attempts restarts the task is parked without running,
// the patient's poll gets its error through the real control plane, and the hospital
// serves other requests.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/sqlite.h"
#include "his-sim/hospital.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
nlohmann::json booking(const std::string& order, const std::string& start, const std::string& end) {
    std::string today = sim::utc_today();
    return {{"orderId", order},
            {"slotId", "S-DR-101-" + today + "-" + start},
            {"slot", {{"doctorId", "DR-101"}, {"departmentId", "D-INT"}, {"date", today}, {"start", start},
                      {"end", end}, {"half", "AM"}, {"feeCents", 2500}}},
            {"patient", {{"id", "P-DEMO-1"}, {"birthDate", "1980-01-01"}, {"sex", "female"}, {"realNameVerified", true}}}};
}

// The environment the agent of the test build reads its fault from; cleared after the test.
struct AbortOnTask {
    explicit AbortOnTask(const char* text) { ::setenv("HISGATE_TEST_ABORT_ON_TASK", text, 1); }
    ~AbortOnTask() { ::unsetenv("HISGATE_TEST_ABORT_ON_TASK"); }
};
}  // namespace

TEST_CASE("poison: a booking that crashes the agent is parked after queue.max_attempts restarts, answered, and "
          "the hospital keeps serving") {
    constexpr int kMaxAttempts = 3;
    AbortOnTask fault("O-POISON-1");
    test::System sys({.hospitals = {"H001"},
                      .more_params = {{"H001", R"({"queue": {"max_attempts": 3}})"}},
                      .agent_program = "agent/hisgate-agent-test-hooks"});
    REQUIRE(sys.start());

    // The patient books; the agent stores the task, counts its first attempt, and dies
    // running it. The caller is told which task to poll.
    auto first = sys.post("/api/v1/hospitals/H001/appointments", booking("O-POISON-1", "08:00", "08:15").dump());
    INFO(first.body);
    REQUIRE(first.status == 504);
    auto task_id = nlohmann::json::parse(first.body).value("taskId", "");
    REQUIRE_FALSE(task_id.empty());

    // Each start resumes the task and dies on it again, until its attempts are used.
    for (int crash = 1; crash <= kMaxAttempts; ++crash) {
        INFO("crash " << crash);
        REQUIRE(sys.agent("H001").wait_exit(60s) == 128 + SIGABRT);
        REQUIRE(sys.start_agent("H001"));
    }
    // The start after the last one parks it without running it, and answers it.
    auto answered = [&] { return sys.get("/api/v1/tasks/" + task_id).status == 200; };
    REQUIRE(test::eventually(answered, 60s));
    auto poll = nlohmann::json::parse(sys.get("/api/v1/tasks/" + task_id).body);
    INFO(poll.dump());
    CHECK(poll["status"] == "answered");
    CHECK(poll["error"]["code"] == "agent.attempts_exhausted");
    CHECK_THAT(poll["error"]["message"].get<std::string>(), Catch::Contains("used all its 3 attempts (queue.max_attempts)"));
    CHECK(sys.agent("H001").running());

    // The parked task in the agent's own file: parked with the reason, three attempts, never a fourth.
    {
        auto db = sql::Db::open(sys.dir() + "/data/agent-H001.db");
        REQUIRE(db);
        auto st = db->prepare("SELECT state, attempts, last_error FROM tasks WHERE id = ?1");
        REQUIRE(st);
        st->bind(1, task_id);
        REQUIRE(st->step());
        CHECK(st->integer(0) == 3);  // TaskState::Parked
        CHECK(st->integer(1) == kMaxAttempts);
        CHECK_THAT(st->text(2), Catch::Contains("agent.attempts_exhausted"));
    }
    auto log = test::read_file(sys.log_dir() + "/agent-H001.log");
    size_t aborts = 0;
    for (size_t at = log.find("agent.test_hook_abort"); at != std::string::npos; at = log.find("agent.test_hook_abort", at + 1))
        ++aborts;
    CHECK(aborts <= static_cast<size_t>(kMaxAttempts));  // (a log line may die with its process)

    // The hospital serves other patients: another booking, a report.
    auto other = sys.post("/api/v1/hospitals/H001/appointments", booking("O-OTHER-1", "08:15", "08:30").dump());
    INFO(other.body);
    CHECK(other.status == 200);
    CHECK(sys.get("/api/v1/hospitals/H001/reports/R-DEMO-1").status == 200);
    CHECK(sys.agent("H001").running());
}
