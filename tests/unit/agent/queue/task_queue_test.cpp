// The task queue on a real SQLite file with an executor written by the test (the test
// plays the HIS side): ordering by class, drains in batches, retries and parking.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <future>
#include <set>
#include <thread>

#include "agent/task_queue.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::agent;
using namespace std::chrono_literals;

namespace {
Task task_of(const std::string& id, const std::string& type) {
    Task t;
    t.id = id;
    t.type = type;
    t.cls = *class_of(type);
    t.request = "{}";
    t.reply_topic = "hisgate/v1/hospitals/H1/response/cp1";
    return t;
}

// Records what ran, in order, and answers as `decide` says.
struct Recorder {
    std::mutex mu;
    std::vector<std::string> ran;
    std::map<std::string, int> attempts;
    std::function<Outcome(const Task&)> decide = [](const Task&) { return Outcome{false, "{\"ok\": true}", "", ""}; };

    TaskQueue::Executor executor() {
        return [this](const Task& t) {
            {
                std::lock_guard lock(mu);
                ran.push_back(t.id);
                attempts[t.id] = t.attempts;
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
};

void submit(TaskQueue& q, Task t) {
    std::promise<void> done;
    q.submit(std::move(t), [&](const Result<Admission>& a) {
        REQUIRE(a);
        done.set_value();
    });
    done.get_future().wait();
}
}  // namespace

TEST_CASE("task queue: real-time tasks run at once, deferred ones wait for the drain") {
    auto store = TaskStore::open(test::make_temp_dir("queue") + "/agent.db");
    REQUIRE(store);
    Recorder rec;
    TaskQueue q(**store, {.workers = 1, .drain_interval = 1500ms, .deferred_batch = 100}, rec.executor(), {});
    REQUIRE(q.start());
    submit(q, task_of("report-1", "report.get"));
    submit(q, task_of("pay-1", "payment.pay"));
    REQUIRE(test::eventually([&] { return rec.order().size() == 1; }));
    CHECK(rec.order() == std::vector<std::string>{"pay-1"});  // the report waits for the drain
    REQUIRE(test::eventually([&] { return rec.order().size() == 2; }, 5000ms));
    CHECK(rec.order()[1] == "report-1");
    CHECK(test::eventually([&] { return q.live_count() == 0; }));
}

TEST_CASE("task queue: a drain releases at most one batch of deferred tasks") {
    auto store = TaskStore::open(test::make_temp_dir("queue") + "/agent.db");
    REQUIRE(store);
    Recorder rec;
    TaskQueue q(**store, {.workers = 1, .drain_interval = 1000ms, .deferred_batch = 4}, rec.executor(), {});
    REQUIRE(q.start());
    for (int i = 0; i < 10; ++i) submit(q, task_of("r" + std::to_string(i), "report.get"));
    REQUIRE(test::eventually([&] { return rec.order().size() >= 4; }, 5000ms));
    // The next drain is a second away; the first released exactly one batch.
    std::this_thread::sleep_for(200ms);
    CHECK(rec.order().size() == 4);
    REQUIRE(test::eventually([&] { return rec.order().size() == 10; }, 10000ms));
    // Released in admission order.
    for (int i = 0; i < 10; ++i) CHECK(rec.order()[i] == "r" + std::to_string(i));
}

TEST_CASE("task queue: a poison task is retried with backoff, parked with its last error, and blocks nobody") {
    std::string path = test::make_temp_dir("queue") + "/agent.db";
    auto store = TaskStore::open(path);
    REQUIRE(store);
    Recorder rec;
    rec.decide = [](const Task& t) {
        if (t.id == "poison") return Outcome{true, "{\"error\": \"his.down\"}", "his.down: the HIS is unreachable", "unavailable"};
        return Outcome{false, "{\"ok\": true}", "", ""};
    };
    std::atomic<int> answered{0};
    TaskQueue q(**store,
                {.workers = 1, .drain_interval = 1000ms, .max_attempts = 3, .backoff_min = 50ms, .backoff_max = 200ms},
                rec.executor(), [&] { ++answered; });
    REQUIRE(q.start());
    submit(q, task_of("poison", "payment.pay"));
    for (int i = 0; i < 5; ++i) submit(q, task_of("ok" + std::to_string(i), "payment.pay"));
    REQUIRE(test::eventually([&] { return q.live_count() == 0; }, 10000ms));
    CHECK(rec.attempts_of("poison") == 3);
    CHECK(answered == 6);  // the parked task is answered too, with its error
    // Every good task ran before the poison's last attempt: it never held them up.
    auto order = rec.order();
    auto last_poison = std::find(order.rbegin(), order.rend(), "poison");
    CHECK(std::distance(order.rbegin(), last_poison) == 0);
    // Parked, with the error, in the store: a duplicate request finds it and its answer.
    auto dup = (*store)->admit_sync(task_of("poison", "payment.pay"));
    REQUIRE(dup);
    CHECK(dup->state == TaskState::Parked);
    CHECK(dup->answer == "{\"error\": \"his.down\"}");
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

TEST_CASE("task queue: figures count the backlog per business and the dwell of finished tasks") {
    auto store = TaskStore::open(test::make_temp_dir("queue") + "/agent.db");
    REQUIRE(store);
    Recorder rec;
    TaskQueue q(**store, {.workers = 1, .drain_interval = 600000ms}, rec.executor(), {});
    REQUIRE(q.start());
    for (int i = 0; i < 3; ++i) submit(q, task_of("r" + std::to_string(i), "report.get"));
    submit(q, task_of("p", "payment.pay"));
    REQUIRE(test::eventually([&] { return rec.order().size() == 1; }));
    REQUIRE(test::eventually([&] { return q.figures().businesses["payment"].finished_recently == 1; }));
    auto f = q.figures();
    CHECK(f.depth == 3);
    CHECK(f.businesses["report"].depth == 3);
    CHECK(f.businesses["report"].oldest_seconds >= 0);
    CHECK(f.businesses["payment"].depth == 0);
    auto json = f.to_json();
    CHECK(json["businesses"]["report"]["depth"] == 3);
}
