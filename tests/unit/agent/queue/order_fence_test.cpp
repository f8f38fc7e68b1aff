// The revoke fence (agent/order_fence.h) on a real task store file: a revoke is durable and
// refuses every later change for its order; it answers only once no change for the order
// can still be running at the HIS; and a version 2 state file gains the fence's table.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "agent/order_fence.h"
#include "agent/task_store.h"
#include "common/clock.h"
#include "common/sqlite.h"
#include "tests/support/process.h"
#include "transport/envelope.h"

using namespace hisgate;
using namespace hisgate::agent;
using namespace std::chrono_literals;

namespace {
std::unique_ptr<TaskStore> open_fence_store(const std::string& path) {
    auto store = TaskStore::open(path);
    REQUIRE(store);
    return std::move(store.value());
}
}  // namespace

TEST_CASE("order fence: a revoke is durable and refuses every later change for its order, and only its order") {
    std::string path = test::make_temp_dir("fence") + "/agent.db";
    ManualClock clock;
    {
        auto store = open_fence_store(path);
        OrderFence fence(*store, clock, 30s);
        CHECK_FALSE(fence.revoke("O-1"));
        CHECK_FALSE(fence.revoke("O-1"));  // again: the same answer
    }
    auto store = open_fence_store(path);
    OrderFence fence(*store, clock, 30s);
    auto refused = fence.begin_change("T-1", "O-1");
    REQUIRE(refused);
    CHECK(refused->cls == ErrorClass::Rejected);
    CHECK(refused->code == "order.revoked");
    CHECK_FALSE(fence.begin_change("T-2", "O-2"));
    fence.end_change("T-2", true);
}

TEST_CASE("order fence: a revoke waits while a change for the order is in flight or may still run at the HIS") {
    std::string path = test::make_temp_dir("fence") + "/agent.db";
    ManualClock clock;
    auto store = open_fence_store(path);
    OrderFence fence(*store, clock, 30s);

    // In flight: the revoke is fenced, but cannot answer yet.
    REQUIRE_FALSE(fence.begin_change("T-1", "O-1"));
    auto waiting = fence.revoke("O-1");
    REQUIRE(waiting);
    CHECK(waiting->cls == ErrorClass::Timeout);
    CHECK(waiting->code == "his.in_doubt");
    // The attempt ended without the HIS's answer: it may still run there until the horizon.
    fence.end_change("T-1", false);
    CHECK(fence.revoke("O-1"));
    // A retry of that change is refused now; the fence is in place.
    CHECK(fence.begin_change("T-1", "O-1"));
    clock.advance(31s);
    CHECK_FALSE(fence.revoke("O-1"));

    // The HIS answered the change: its records are final at once.
    REQUIRE_FALSE(fence.begin_change("T-2", "O-2"));
    fence.end_change("T-2", true);
    CHECK_FALSE(fence.revoke("O-2"));
}

TEST_CASE("order fence: a change that may have been at the HIS when the agent stopped holds a revoke for the horizon") {
    std::string path = test::make_temp_dir("fence") + "/agent.db";
    ManualClock clock;
    auto store = open_fence_store(path);
    Task dispatched;
    dispatched.id = "T-1";
    dispatched.type = "payment.pay";
    dispatched.request = Envelope::make("payment.pay", "H001", {{"orderId", "O-1"}, {"amountCents", 100}, {"method", "cash"}}).to_json();
    dispatched.attempts = 1;
    Task never_sent = dispatched;
    never_sent.id = "T-2";
    never_sent.request = Envelope::make("payment.pay", "H001", {{"orderId", "O-2"}, {"amountCents", 100}, {"method", "cash"}}).to_json();
    never_sent.attempts = 0;
    OrderFence fence(*store, clock, 30s);
    fence.recall({dispatched, never_sent});
    CHECK(fence.revoke("O-1"));
    CHECK_FALSE(fence.revoke("O-2"));
    clock.advance(30s);
    CHECK_FALSE(fence.revoke("O-1"));
}

TEST_CASE("order fence: racing changes never pass a revoke that answered") {
    std::string path = test::make_temp_dir("fence") + "/agent.db";
    auto store = open_fence_store(path);
    OrderFence fence(*store, SystemClock::instance(), 0ms);
    std::atomic<bool> revoked{false};
    std::atomic<int> passed_after{0}, sent{0};
    std::vector<std::thread> senders;
    for (int s = 0; s < 4; ++s)
        senders.emplace_back([&, s] {
            for (int i = 0; i < 300; ++i) {
                bool after = revoked.load();
                std::string task = "T-" + std::to_string(s) + "-" + std::to_string(i);
                if (!fence.begin_change(task, "O-RACE")) {
                    ++sent;
                    if (after) ++passed_after;
                    fence.end_change(task, true);
                }
            }
        });
    while (fence.revoke("O-RACE")) std::this_thread::yield();
    revoked = true;
    for (auto& t : senders) t.join();
    CHECK(passed_after == 0);
    INFO("changes sent before the revoke answered: " << sent.load());
}

TEST_CASE("task store: a version 2 state file gains the revoke fence's table with its tasks intact") {
    std::string path = test::make_temp_dir("fence") + "/agent.db";
    {
        auto store = open_fence_store(path);
        Task t;
        t.id = "T-OLD";
        t.type = "payment.pay";
        t.request = "{}";
        REQUIRE(store->admit_sync(t));
    }
    {
        auto db = sql::Db::open(path);
        REQUIRE(db);
        REQUIRE(db->exec("DROP TABLE revoked_orders; PRAGMA user_version = 2;"));
    }
    auto store = open_fence_store(path);
    auto unfinished = store->unfinished();
    REQUIRE(unfinished);
    REQUIRE(unfinished->size() == 1);
    CHECK(unfinished->front().id == "T-OLD");
    CHECK_FALSE(*store->is_revoked("O-1"));
    REQUIRE(store->wait([&](TaskStore::Done d) { store->revoke_order("O-1", 1, d); }));
    CHECK(*store->is_revoked("O-1"));
    auto db = sql::Db::open(path);
    auto version = db->prepare("PRAGMA user_version");
    REQUIRE(version->step());
    CHECK(version->integer(0) == 3);
}

TEST_CASE("order fence: a change parked within the horizon before a restart holds a revoke, as an unfinished one does") {
    std::string path = test::make_temp_dir("fence") + "/agent.db";
    ManualClock clock;
    {
        auto store = open_fence_store(path);
        Task t;
        t.id = "T-PARKED";
        t.type = "payment.pay";
        t.request = Envelope::make("payment.pay", "H001", {{"orderId", "O-PARKED"}, {"amountCents", 100}, {"method", "cash"}}).to_json();
        auto admitted = store->admit_sync(t);
        REQUIRE(admitted);
        REQUIRE(store->wait([&](TaskStore::Done d) { store->dispatched(admitted->row, 1, d); }));
        // Its last attempt timed out at the HIS and the attempts were used up.
        REQUIRE(store->wait([&](TaskStore::Done d) {
            store->finish(admitted->row, TaskState::Parked, "{}", "timeout: his.timeout", true, d);
        }));
    }
    auto store = open_fence_store(path);
    auto parked = store->parked_since(unix_ms_now() - 30000);
    REQUIRE(parked);
    REQUIRE(parked->size() == 1);
    CHECK(parked->front().id == "T-PARKED");
    CHECK(parked->front().attempts == 1);
    CHECK(store->parked_since(unix_ms_now() + 60000)->empty());  // parked before that: not counted
    OrderFence fence(*store, clock, 30s);
    fence.recall(*parked);
    CHECK(fence.revoke("O-PARKED"));
    clock.advance(30s);
    CHECK_FALSE(fence.revoke("O-PARKED"));
}
