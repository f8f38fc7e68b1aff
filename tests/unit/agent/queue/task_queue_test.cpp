// The task queue on a real SQLite file with an executor written by the test (the test
// plays the HIS side): ordering by class, drains in batches, retries and parking.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <future>
#include <set>
#include <thread>

#include "agent/request_types.h"
#include "agent/task_queue.h"
#include "tests/support/process.h"
#include "transport/envelope.h"

using namespace hisgate;
using namespace hisgate::agent;
using namespace std::chrono_literals;

namespace {
Task task_of(const std::string& id, const std::string& type) {
    Task t;
    t.id = id;
    t.type = type;
    t.cls = find_request_type(type)->cls;
    t.request = "{}";
    t.reply_topic = "hisgate/v1/hospitals/H1/response/cp1";
    return t;
}

// Records what ran, in order and at what time of the queue's clock, and answers as
// `decide` says. Runs on the queue's workers: it records, the test checks afterwards.
struct Recorder {
    explicit Recorder(Clock& clock = SystemClock::instance()) : clock(clock) {}
    Clock& clock;
    std::mutex mu;
    std::vector<std::string> ran;
    std::map<std::string, int> attempts;  // as the executor saw it last
    std::map<std::string, std::vector<Clock::SteadyTime>> ran_at;
    std::function<Outcome(const Task&)> decide = [](const Task&) { return Outcome{false, "{\"ok\": true}", "", ""}; };

    TaskQueue::Executor executor() {
        return [this](const Task& t) {
            {
                std::lock_guard lock(mu);
                ran.push_back(t.id);
                attempts[t.id] = t.attempts;
                ran_at[t.id].push_back(clock.steady_now());
            }
            return decide(t);
        };
    }
    std::vector<std::string> order() {
        std::lock_guard lock(mu);
        return ran;
    }
    int attempts_of(const std::string& id) {
        std::lock_guard lock(mu);
        return attempts.count(id) ? attempts[id] : 0;
    }
    std::vector<Clock::SteadyTime> times_of(const std::string& id) {
        std::lock_guard lock(mu);
        return ran_at[id];
    }
};

// Admits a task and waits for the store's answer; checked here, on the test's thread.
void submit(TaskQueue& q, Task t) {
    std::promise<Result<Admission>> done;
    q.submit(std::move(t), [&](const Result<Admission>& a) { done.set_value(a); });
    auto admitted = done.get_future().get();
    REQUIRE(admitted);
}
}  // namespace

TEST_CASE("task queue: real-time tasks run at once, deferred ones wait for the drain") {
    auto store = TaskStore::open(test::make_temp_dir("queue") + "/agent.db");
    REQUIRE(store);
    ManualClock clock;
    Recorder rec(clock);
    TaskQueue q(**store, {.workers = 1, .drain_interval = 30s, .deferred_batch = 100}, rec.executor(), {}, clock);
    REQUIRE(q.start());
    auto t0 = clock.steady_now();
    submit(q, task_of("report-1", "report.get"));
    submit(q, task_of("pay-1", "payment.pay"));
    REQUIRE(test::eventually([&] { return rec.order().size() == 1 && q.live_count() == 1; }));
    CHECK(rec.order() == std::vector<std::string>{"pay-1"});  // the report waits for the drain
    // A millisecond before the drain: the timer has looked and waits again; still nothing.
    REQUIRE(clock.await_waiters(1));
    clock.advance(29999ms);
    REQUIRE(clock.await_waiters(1));
    CHECK(rec.order().size() == 1);
    clock.advance(1ms);
    REQUIRE(test::eventually([&] { return rec.order().size() == 2; }));
    CHECK(rec.order()[1] == "report-1");
    CHECK(rec.times_of("pay-1").at(0) == t0);
    CHECK(rec.times_of("report-1").at(0) == t0 + 30s);
    CHECK(test::eventually([&] { return q.live_count() == 0; }));
}

TEST_CASE("task queue: a drain releases at most one batch of deferred tasks") {
    auto store = TaskStore::open(test::make_temp_dir("queue") + "/agent.db");
    REQUIRE(store);
    ManualClock clock;
    Recorder rec(clock);
    TaskQueue q(**store, {.workers = 1, .drain_interval = 1000ms, .deferred_batch = 4}, rec.executor(), {}, clock);
    REQUIRE(q.start());
    auto t0 = clock.steady_now();
    for (int i = 0; i < 10; ++i) submit(q, task_of("r" + std::to_string(i), "report.get"));
    // Three drains, each stepped once the timer waits and the last batch is served.
    for (int drain = 1; drain <= 3; ++drain) {
        REQUIRE(clock.await_waiters(1));
        clock.advance(1000ms);
        size_t left = 10 - std::min(10, 4 * drain);
        REQUIRE(test::eventually([&] { return q.live_count() == left; }));
    }
    // Released in admission order, four per drain: each ran at its own drain's time.
    REQUIRE(rec.order().size() == 10);
    for (int i = 0; i < 10; ++i) {
        std::string id = "r" + std::to_string(i);
        INFO(id);
        CHECK(rec.order()[i] == id);
        CHECK(rec.times_of(id).at(0) == t0 + std::chrono::seconds(i / 4 + 1));
    }
}

TEST_CASE("task queue: a poison task is retried with backoff, parked with its last error, and blocks nobody") {
    std::string path = test::make_temp_dir("queue") + "/agent.db";
    auto store = TaskStore::open(path);
    REQUIRE(store);
    ManualClock clock;
    Recorder rec(clock);
    rec.decide = [](const Task& t) {
        if (t.id == "poison") return Outcome{true, "{\"error\": \"his.down\"}", "his.down: the HIS is unreachable", "unavailable"};
        return Outcome{false, "{\"ok\": true}", "", ""};
    };
    std::atomic<int> answered{0};
    TaskQueue q(**store,
                {.workers = 1, .drain_interval = 1000ms, .max_attempts = 3, .backoff_min = 50ms, .backoff_max = 200ms},
                rec.executor(), [&] { ++answered; }, clock);
    REQUIRE(q.start());
    auto t0 = clock.steady_now();
    submit(q, task_of("poison", "payment.pay"));
    for (int i = 0; i < 5; ++i) submit(q, task_of("ok" + std::to_string(i), "payment.pay"));
    // With time standing still every good task is served: the poison's backoff holds up nobody.
    REQUIRE(test::eventually([&] { return q.live_count() == 1; }));
    CHECK(rec.attempts_of("poison") == 1);
    for (int i = 0; i < 5; ++i) CHECK(rec.times_of("ok" + std::to_string(i)).at(0) == t0);
    // Time steps on until the poison is parked.
    for (int steps = 0; q.live_count() > 0 && steps < 1000; ++steps) {
        REQUIRE(clock.await_waiters(1));
        clock.advance(10ms);
    }
    REQUIRE(test::eventually([&] { return q.live_count() == 0 && answered == 6; }));
    CHECK(answered == 6);  // the parked task is answered too, with its error
    auto tries = rec.times_of("poison");
    REQUIRE(tries.size() == 3);
    // Backed off: at least half of 50 ms, then half of 100 ms (full jitter over the upper half).
    CHECK(tries[1] - tries[0] >= 25ms);
    CHECK(tries[2] - tries[1] >= 50ms);
    // Parked, with the error, in the store: a duplicate request finds it and its answer.
    auto dup = (*store)->admit_sync(task_of("poison", "payment.pay"));
    REQUIRE(dup);
    CHECK(dup->state == TaskState::Parked);
    CHECK(dup->answer == "{\"error\": \"his.down\"}");
}

TEST_CASE("task queue: an attempt handed back (the HIS never saw it) costs no attempt and never parks the task") {
    std::string path = test::make_temp_dir("queue") + "/agent.db";
    auto store = TaskStore::open(path);
    REQUIRE(store);
    ManualClock clock;
    Recorder rec(clock);
    rec.decide = [&rec](const Task& t) {
        if (rec.times_of(t.id).size() == 1)  // the first time: the gate was closing
            return Outcome{true, "{\"error\": \"his.gate_closed\"}", "his.gate_closed: stopping", "unavailable", true};
        return Outcome{false, "{\"ok\": true}", "", ""};
    };
    std::atomic<int> answered{0};
    TaskQueue q(**store, {.workers = 1, .max_attempts = 1, .backoff_min = 50ms, .backoff_max = 200ms}, rec.executor(),
                [&] { ++answered; }, clock);
    REQUIRE(q.start());
    submit(q, task_of("pay-1", "payment.pay"));
    REQUIRE(test::eventually([&] { return rec.times_of("pay-1").size() == 1; }));
    // Its one attempt was handed back: it waits, unanswered, for another.
    for (int steps = 0; rec.times_of("pay-1").size() < 2 && steps < 100; ++steps) {
        REQUIRE(clock.await_waiters(1));
        clock.advance(10ms);
    }
    REQUIRE(test::eventually([&] { return q.live_count() == 0; }));
    CHECK(rec.times_of("pay-1").size() == 2);
    CHECK(rec.attempts_of("pay-1") == 1);  // the second run was attempt 1 again
    CHECK(answered == 1);
    auto dup = (*store)->admit_sync(task_of("pay-1", "payment.pay"));
    REQUIRE(dup);
    CHECK(dup->state == TaskState::Done);
    CHECK(dup->answer == "{\"ok\": true}");
}

TEST_CASE("task queue: unfinished tasks are resumed after a restart with their attempt count") {
    std::string path = test::make_temp_dir("queue") + "/agent.db";
    {
        // A queue that stops while a task is dispatched: the attempt is on disk.
        auto store = TaskStore::open(path);
        REQUIRE(store);
        auto admitted = (*store)->admit_sync(task_of("pay-1", "payment.pay"));
        REQUIRE(admitted);
        REQUIRE((*store)->wait([&](TaskStore::Done d) { (*store)->dispatched(admitted->row, 1, d); }));
    }
    auto store = TaskStore::open(path);
    REQUIRE(store);
    Recorder rec;
    TaskQueue q(**store, {.workers = 1}, rec.executor(), {});
    REQUIRE(q.start());
    REQUIRE(test::eventually([&] { return q.live_count() == 0; }));
    // The executor sees the second attempt: the HIS may hold the first one's effect.
    CHECK(rec.attempts_of("pay-1") == 2);
}

TEST_CASE("task queue: a resumed task that used all its attempts is parked with the reason, without running again") {
    std::string path = test::make_temp_dir("queue") + "/agent.db";
    auto request = Envelope::make("payment.pay", "H1", {{"orderId", "O-1"}});
    {
        // Three attempts counted, none finished: the agent died running each of them.
        auto store = TaskStore::open(path);
        REQUIRE(store);
        Task poison = task_of(request.id, "payment.pay");
        poison.request = request.to_json();
        auto admitted = (*store)->admit_sync(poison);
        REQUIRE(admitted);
        REQUIRE((*store)->wait([&](TaskStore::Done d) { (*store)->dispatched(admitted->row, 3, d); }));
        auto other = (*store)->admit_sync(task_of("pay-2", "payment.pay"));
        REQUIRE(other);
        REQUIRE((*store)->wait([&](TaskStore::Done d) { (*store)->dispatched(other->row, 2, d); }));
    }
    auto store = TaskStore::open(path);
    REQUIRE(store);
    Recorder rec;
    std::atomic<int> answered{0};
    TaskQueue q(**store, {.workers = 1, .max_attempts = 3}, rec.executor(), [&] { ++answered; });
    REQUIRE(q.start());
    REQUIRE(test::eventually([&] { return q.live_count() == 0; }));
    // The one with an attempt left runs (its third); the exhausted one never runs again.
    CHECK(rec.order() == std::vector<std::string>{"pay-2"});
    CHECK(rec.attempts_of("pay-2") == 3);
    CHECK(test::eventually([&] { return answered == 2; }));
    auto dup = (*store)->admit_sync(task_of(request.id, "payment.pay"));
    REQUIRE(dup);
    CHECK(dup->state == TaskState::Parked);
    auto answer = Envelope::parse(dup->answer);
    REQUIRE(answer);
    CHECK(answer->in_reply_to == request.id);
    CHECK(answer->type == "payment.pay.result");
    CHECK(answer->hospital_id == "H1");
    REQUIRE(answer->error);
    CHECK(answer->error->code == "agent.attempts_exhausted");
    CHECK_THAT(answer->error->message, Catch::Contains("used all its 3 attempts (queue.max_attempts)"));
    auto outbox = (*store)->outbox_after(0, 10);
    REQUIRE(outbox);
    CHECK(outbox->size() == 2);  // both answers wait for the control plane
}

TEST_CASE("task queue: figures count the backlog per business and the dwell of finished tasks") {
    auto store = TaskStore::open(test::make_temp_dir("queue") + "/agent.db");
    REQUIRE(store);
    ManualClock clock;
    Recorder rec(clock);
    TaskQueue q(**store, {.workers = 1, .drain_interval = 600s}, rec.executor(), {}, clock);
    REQUIRE(q.start());
    for (int i = 0; i < 3; ++i) submit(q, task_of("r" + std::to_string(i), "report.get"));
    submit(q, task_of("p", "payment.pay"));
    REQUIRE(test::eventually([&] { return q.figures().businesses["payment"].finished_recently == 1; }));
    REQUIRE(clock.await_waiters(1));
    clock.advance(90s);
    auto f = q.figures();
    CHECK(f.depth == 3);
    CHECK(f.businesses["report"].depth == 3);
    CHECK(f.businesses["report"].oldest_seconds == 90.0);
    CHECK(f.businesses["payment"].depth == 0);
    CHECK(f.businesses["payment"].dwell_p99_seconds == 0.0);  // answered the moment it came
    CHECK(f.oldest_seconds == 90.0);
    auto json = f.to_json();
    CHECK(json["businesses"]["report"]["depth"] == 3);

    // The drain comes 600 s after the start: the reports dwelt exactly that long.
    REQUIRE(clock.await_waiters(1));
    clock.advance(510s);
    REQUIRE(test::eventually([&] { return q.live_count() == 0; }));
    f = q.figures();
    CHECK(f.depth == 0);
    CHECK(f.businesses["report"].finished_recently == 3);
    CHECK(f.businesses["report"].dwell_p50_seconds == 600.0);
    CHECK(f.dwell_p99_seconds == 600.0);
    CHECK(f.oldest_seconds == 0.0);
}
