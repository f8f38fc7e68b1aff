// Retries are safe (issue 12 item 7): a client that sends a booking again, after a 504,
// with its Idempotency-Key or only with the same order id, reaches the same task, and a HIS
// that does not honour order ids (his-sim his.idempotent_orders false: it executes every
// repeat again) books once. Real processes; his-sim's own records count what it executed.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "his-sim/hospital.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
const std::string kBook = "/api/v1/hospitals/H001/appointments";

// A whole-day obstetrics quota (30 places), so a repeat the HIS executes again is taken.
nlohmann::json booking(const std::string& order, const std::string& patient = "P-DEMO-1") {
    std::string today = sim::utc_today();
    return {{"orderId", order},
            {"slotId", "S-DR-401-" + today},
            {"slot", {{"doctorId", "DR-401"}, {"departmentId", "D-OBS"}, {"date", today}, {"feeCents", 5000}}},
            {"patient", {{"id", patient}, {"birthDate", "1980-01-01"}, {"sex", "female"}, {"realNameVerified", true}}}};
}

// How many bookings the agent admitted as new tasks (a duplicate id is not one), from its
// log by type. Not its admitted counter: that counts every request, and the control plane
// asks others meanwhile (after a restart the public partition's gap repair may ask a
// reference.snapshot), which made the restart case below count 2 under load.
int admitted_at_agent(test::System& sys) {
    int bookings = 0;
    std::istringstream log(test::read_file(sys.log_dir() + "/agent-H001.log"));
    for (std::string line; std::getline(log, line);) {
        auto entry = nlohmann::json::parse(line, nullptr, false);
        bookings += !entry.is_discarded() && entry.value("event", "") == "agent.task_admitted" &&
                    entry.value("type", "") == "appointment.book";
    }
    return bookings;
}

std::string task_of(const test::HttpReply& r) {
    auto it = r.headers.find("Task-Id");
    return it == r.headers.end() ? "" : it->second;
}

// The HIS answers after the control plane stops waiting, so a first booking is a 504.
test::SystemOptions slow_his() {
    return {.hospitals = {"H001"},
            .request_timeout_ms = 500,
            .his_ack_timeout_ms = 8000,
            .sim_faults = {{"H001", R"({"latency_ms": 2000})"}},
            .his_params = {{"H001", R"({"idempotent_orders": false})"}}};
}

bool answered(test::System& sys, const std::string& task, std::map<std::string, std::string> headers = {}) {
    return test::eventually([&] { return sys.get("/api/v1/tasks/" + task, headers).status == 200; }, 30s);
}
}  // namespace

TEST_CASE("retries: a booking sent again with its Idempotency-Key after a 504 is the same task and books once") {
    test::System sys(slow_his());
    REQUIRE(sys.start());
    const std::map<std::string, std::string> key = {{"Idempotency-Key", "book-2f6c1e"}};
    const std::string body = booking("O-KEY-1").dump();

    auto first = sys.post(kBook, body, key);
    INFO(first.body);
    REQUIRE(first.status == 504);
    std::string task = nlohmann::json::parse(first.body)["taskId"];
    // At once, while the HIS still works on the first: the same task, not a second one.
    auto again = sys.post(kBook, body, key);
    INFO(again.body);
    CHECK((again.status == 504 || again.status == 200));
    CHECK(task_of(again) == task);
    // Once it is answered: its answer, without asking the agent again.
    REQUIRE(answered(sys, task));
    auto third = sys.post(kBook, body, key);
    INFO(third.body);
    REQUIRE(third.status == 200);
    CHECK(task_of(third) == task);
    CHECK(third.headers["Idempotent-Replayed"] == "true");
    CHECK(nlohmann::json::parse(third.body)["status"] == "booked");
    CHECK(admitted_at_agent(sys) == 1);  // before: 3, one per POST
    CHECK(sys.his_bookings_of("H001", "P-DEMO-1") == 1);
    CHECK_THAT(sys.get("/metrics").body, Catch::Contains("hisgate_controlplane_retries_total{kind=\"key_replayed\"} 2"));
}

TEST_CASE("retries: the same order sent again without a key after a 504 is the same task and books once") {
    test::System sys(slow_his());
    REQUIRE(sys.start());
    auto patient = sys.bearer("patient", "P-DEMO-1");
    const std::string body = booking("O-SAME-1").dump();

    auto first = sys.post(kBook, body, patient);
    INFO(first.body);
    REQUIRE(first.status == 504);
    std::string task = nlohmann::json::parse(first.body)["taskId"];
    auto again = sys.post(kBook, body, patient);
    CHECK(task_of(again) == task);
    REQUIRE(answered(sys, task, patient));
    auto third = sys.post(kBook, body, patient);
    INFO(third.body);
    REQUIRE(third.status == 200);
    CHECK(task_of(third) == task);
    CHECK(nlohmann::json::parse(third.body)["patientId"] == "P-DEMO-1");

    // Another patient's booking with the same order id is another task: it neither reaches
    // nor shows the first patient's.
    auto other = sys.bearer("patient", "P-H001-2");
    auto theirs = sys.post(kBook, booking("O-SAME-1", "P-H001-2").dump(), other);
    INFO(theirs.body);
    std::string their_task = task_of(theirs);
    REQUIRE_FALSE(their_task.empty());
    CHECK(their_task != task);
    CHECK(sys.get("/api/v1/tasks/" + task, other).status == 404);
    REQUIRE(answered(sys, their_task, other));
    CHECK(admitted_at_agent(sys) == 2);  // before: 4
    CHECK(sys.his_bookings_of("H001", "P-DEMO-1") == 1);
    CHECK(sys.his_bookings_of("H001", "P-H001-2") == 1);
}

TEST_CASE("retries: two identical bookings racing are one task") {
    test::System sys(slow_his());
    REQUIRE(sys.start());
    const std::string body = booking("O-RACE-1").dump();
    for (auto headers : {std::map<std::string, std::string>{{"Idempotency-Key", "race-1"}},
                         std::map<std::string, std::string>{}}) {
        test::HttpReply a, b;
        std::thread t([&] { a = sys.post(kBook, body, headers); });
        b = sys.post(kBook, body, headers);
        t.join();
        INFO(a.body << " / " << b.body);
        REQUIRE_FALSE(task_of(a).empty());
        CHECK(task_of(a) == task_of(b));
        REQUIRE(answered(sys, task_of(a)));
    }
    CHECK(admitted_at_agent(sys) == 1);  // before: 4
    CHECK(sys.his_bookings_of("H001", "P-DEMO-1") == 1);
}

TEST_CASE("retries: an Idempotency-Key sent again with another body is refused 422") {
    test::System sys({.hospitals = {"H001"}, .his_params = {{"H001", R"({"idempotent_orders": false})"}}});
    REQUIRE(sys.start());
    const std::map<std::string, std::string> key = {{"Idempotency-Key", "book-91"}};
    auto first = sys.post(kBook, booking("O-91").dump(), key);
    INFO(first.body);
    REQUIRE(first.status == 200);
    auto other = sys.post(kBook, booking("O-92").dump(), key);
    INFO(other.body);
    CHECK(other.status == 422);
    CHECK(other.code() == "idempotency.key_reused");
    // The same order id with another body, without a key: refused as well.
    auto changed = booking("O-91");
    changed["slot"]["feeCents"] = 1;
    auto reused = sys.post(kBook, changed.dump());
    INFO(reused.body);
    CHECK(reused.status == 422);
    CHECK(reused.code() == "order.id_reused");
    CHECK(sys.his_bookings_of("H001", "P-DEMO-1") == 1);  // before: 3
    // The key belongs to its caller and its route: another caller's same key is theirs.
    auto theirs = sys.post(kBook, booking("O-93").dump(),
                           {{"Idempotency-Key", "book-91"}, {"Authorization", "Bearer " + sys.token("service", "portal")}});
    CHECK(theirs.status == 200);
}

TEST_CASE("retries: an Idempotency-Key over 255 characters or outside its alphabet is refused 400") {
    test::System sys({.hospitals = {"H001"}});
    REQUIRE(sys.start());
    for (const std::string& bad : {std::string(256, 'k'), std::string(""), std::string("a key"), std::string("k/1")}) {
        auto r = sys.post(kBook, booking("O-BAD").dump(), {{"Idempotency-Key", bad}});
        INFO(bad.size() << ": " << r.body);
        CHECK(r.status == 400);
        CHECK(r.code() == "idempotency.bad_key");
    }
    CHECK(sys.his_bookings_of("H001", "P-DEMO-1") == 0);  // before: the first was booked
    auto longest = sys.post(kBook, booking("O-LONG").dump(), {{"Idempotency-Key", std::string(255, 'k')}});
    INFO(longest.body);
    CHECK(longest.status == 200);
}

TEST_CASE("retries: an Idempotency-Key outlives a control plane restart between the two attempts") {
    test::System sys(slow_his());
    REQUIRE(sys.start());
    const std::map<std::string, std::string> key = {{"Idempotency-Key", "book-restart"}};
    const std::string body = booking("O-RESTART-1").dump();
    auto first = sys.post(kBook, body, key);
    INFO(first.body);
    REQUIRE(first.status == 504);
    std::string task = nlohmann::json::parse(first.body)["taskId"];

    REQUIRE(sys.controlplane().stop() == 0);
    REQUIRE(sys.controlplane().start());
    REQUIRE(test::wait_port_open(sys.api_port(), 10s));
    REQUIRE(test::eventually([&] { return sys.online_hospitals().size() == 1; }));
    // The answer the agent sent meanwhile waited in the broker for this instance.
    REQUIRE(answered(sys, task));
    auto again = sys.post(kBook, body, key);
    INFO(again.body);
    CHECK(again.status == 200);
    CHECK(task_of(again) == task);
    CHECK(again.headers["Idempotent-Replayed"] == "true");
    CHECK(admitted_at_agent(sys) == 1);  // before: 2
    CHECK(sys.his_bookings_of("H001", "P-DEMO-1") == 1);
}
