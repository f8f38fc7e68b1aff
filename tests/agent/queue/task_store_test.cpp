// The task store on a real SQLite file: durable admission, one task per id, answers and
// outbox rows written together, and group commit.
#include <catch2/catch.hpp>

#include <thread>

#include "agent/task_store.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::agent;

namespace {
Task task_named(const std::string& id, TaskClass cls = TaskClass::RealTime) {
    Task t;
    t.id = id;
    t.type = cls == TaskClass::RealTime ? "payment.pay" : "report.get";
    t.cls = cls;
    t.request = "{\"id\": \"" + id + "\"}";
    t.reply_topic = "hisgate/v1/hospitals/H1/response/cp1";
    t.correlation = "corr-" + id;
    t.created_ms = unix_ms_now();
    t.next_attempt_ms = t.created_ms;
    return t;
}

std::unique_ptr<TaskStore> open_store(const std::string& path, TaskStoreOptions o = {}) {
    auto store = TaskStore::open(path, o);
    REQUIRE(store);
    return std::move(store.value());
}
}  // namespace

TEST_CASE("task store: an admitted task survives reopening, a second admission of its id finds it") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    {
        auto store = open_store(path);
        auto first = store->admit_sync(task_named("T1"));
        REQUIRE(first);
        CHECK(first->fresh);
        auto again = store->admit_sync(task_named("T1"));
        REQUIRE(again);
        CHECK_FALSE(again->fresh);
        CHECK(again->state == TaskState::Queued);
    }
    auto store = open_store(path);
    auto unfinished = store->unfinished();
    REQUIRE(unfinished);
    REQUIRE(unfinished->size() == 1);
    const Task& t = unfinished->front();
    CHECK(t.id == "T1");
    CHECK(t.type == "payment.pay");
    CHECK(t.correlation == "corr-T1");
    CHECK(t.attempts == 0);
}

TEST_CASE("task store: the attempt count is stored before a dispatch, and a finished task answers its duplicate") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    auto store = open_store(path);
    REQUIRE(store->admit_sync(task_named("T1")));
    REQUIRE(store->wait([&](TaskStore::Done d) { store->dispatched("T1", 1, d); }));
    auto unfinished = store->unfinished();
    REQUIRE(unfinished->size() == 1);
    CHECK(unfinished->front().state == TaskState::Dispatched);
    CHECK(unfinished->front().attempts == 1);

    OutboxMessage answer{"hisgate/v1/hospitals/H1/response/cp1", "{\"answer\": 1}", "corr-T1", ""};
    REQUIRE(store->wait([&](TaskStore::Done d) { store->finish("T1", TaskState::Done, answer.payload, "", answer, d); }));
    CHECK(store->unfinished()->empty());
    auto dup = store->admit_sync(task_named("T1"));
    REQUIRE(dup);
    CHECK_FALSE(dup->fresh);
    CHECK(dup->state == TaskState::Done);
    CHECK(dup->answer == "{\"answer\": 1}");
    // The answer waits in the outbox, written in the same transaction as the finish.
    auto rows = store->outbox_after(0, 10);
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().message.correlation == "corr-T1");
}

TEST_CASE("task store: the outbox keeps its order and is trimmed only up to what was forwarded") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    auto store = open_store(path);
    for (int i = 0; i < 5; ++i)
        REQUIRE(store->wait([&](TaskStore::Done d) {
            store->append_outbox({"t", "m" + std::to_string(i), "", ""}, d);
        }));
    auto rows = store->outbox_after(0, 100);
    REQUIRE(rows->size() == 5);
    for (int i = 0; i < 5; ++i) CHECK((*rows)[i].message.payload == "m" + std::to_string(i));
    REQUIRE(store->wait([&](TaskStore::Done d) { store->forwarded_through((*rows)[2].seq, d); }));
    auto left = store->outbox_after(0, 100);
    REQUIRE(left->size() == 2);
    CHECK(left->front().message.payload == "m3");
    CHECK(store->outbox_size().value() == 2);
}

TEST_CASE("task store: group commit lets concurrent changes share commits, one commit each without it") {
    for (bool group : {true, false}) {
        std::string path = test::make_temp_dir("store") + "/agent.db";
        auto store = open_store(path, {.group_commit = group});
        constexpr int kThreads = 8, kEach = 50;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < kEach; ++i) REQUIRE(store->admit_sync(task_named(std::to_string(t) + "-" + std::to_string(i))));
            });
        for (auto& th : threads) th.join();
        INFO("group commit " << group << ": " << store->commits() << " commits");
        CHECK(store->unfinished()->size() == kThreads * kEach);
        if (group)
            CHECK(store->commits() < kThreads * kEach);
        else
            CHECK(store->commits() == kThreads * kEach);
    }
}

TEST_CASE("task store: a state file that cannot be created is an error naming it") {
    auto store = TaskStore::open("/nonexistent-dir/agent.db");
    REQUIRE_FALSE(store);
    CHECK(store.error().code == "queue.open_failed");
    CHECK_THAT(store.error().message, Catch::Contains("/nonexistent-dir/agent.db"));
}
